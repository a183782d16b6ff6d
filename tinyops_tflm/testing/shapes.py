"""A small real image-classification dataset, drawn procedurally (no network).

Classes are shapes - ``circle``, ``square``, ``triangle``, ``cross`` - of a
random size and position near the centre, over a random background with
pixel noise.  Each class has its own hue range, overlapping its neighbours',
so colour alone does not separate the classes.  Images are written as
image-folder datasets (``root/<class>/<n>.png``) by a minimal PNG encoder
(zlib, no imaging library), or as JPEG through TensorFlow.

Used by the pipeline tests and benchmarks/evaluate_throughput.py.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

CLASSES = ("circle", "cross", "square", "triangle")


def encode_png(rgb: np.ndarray) -> bytes:
    """uint8 [H, W, 3] -> PNG bytes (8-bit RGB, no filtering)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, c = rgb.shape
    if c != 3:
        raise ValueError("encode_png needs an RGB image")
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]) * 255


def draw(rng: np.random.Generator, label: int, size: int = 40) -> np.ndarray:
    """One uint8 [size, size, 3] image of class ``label``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    r = rng.uniform(0.22, 0.34) * size
    cx, cy = size / 2 + rng.uniform(-0.08, 0.08, 2) * size
    dx, dy = xx - cx, yy - cy
    kind = CLASSES[label]
    if kind == "circle":
        mask = dx * dx + dy * dy < r * r
    elif kind == "square":
        a = rng.uniform(0, np.pi / 8)  # slightly rotated
        u, v = dx * np.cos(a) + dy * np.sin(a), -dx * np.sin(a) + dy * np.cos(a)
        mask = (np.abs(u) < 0.85 * r) & (np.abs(v) < 0.85 * r)
    elif kind == "triangle":
        mask = (dy < 0.8 * r) & (dy > -r) & (np.abs(dx) < (dy + r) * 0.6)
    else:  # cross
        t = r / 3
        mask = ((np.abs(dx) < t) & (np.abs(dy) < r)) | ((np.abs(dy) < t) & (np.abs(dx) < r))
    hue = (label / len(CLASSES) + rng.uniform(-0.2, 0.2)) % 1.0
    fg = _hsv_to_rgb(hue, rng.uniform(0.5, 1.0), rng.uniform(0.6, 1.0))
    bg = _hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.4), rng.uniform(0.1, 0.5))
    img = np.where(mask[..., None], fg, bg) + rng.normal(0, 12, (size, size, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def write_dataset(
    root: str | Path, per_class: int, seed: int, size: int = 40, fmt: str = "png", classes: int = len(CLASSES)
) -> Path:
    """Write ``per_class`` images of each of the first ``classes`` classes to
    ``root/<class>/<i>.<fmt>`` (fmt ``png`` or ``jpg``); returns ``root``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    encode = encode_png
    if fmt == "jpg":
        import tensorflow as tf

        def encode(img):
            return tf.io.encode_jpeg(img, quality=90).numpy()
    elif fmt != "png":
        raise ValueError(f"fmt must be png or jpg, got {fmt!r}")
    for label in range(classes):
        d = root / CLASSES[label]
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (d / f"{i:04d}.{fmt}").write_bytes(encode(draw(rng, label, size)))
    return root
