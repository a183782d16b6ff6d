"""Image-folder datasets, the image preprocessing, and the model sidecar.

One preprocessing definition serves training (random-resized-crop + flip),
and evaluation, quantization calibration and export (resize + centre crop),
so the int8 model sees exactly the pixels the float model was trained and
evaluated on.  It is recorded next to every model this tool writes, in a
sidecar JSON (``model.keras.json``, ``model.tflite.json``), together with the
class names; evaluate/export read it back.

Dataset layout: ``DIR/<class name>/<image>``, one sub-folder per class
(classes sorted by name, as torchvision's ImageFolder and Keras'
image_dataset_from_directory do), images in any format TensorFlow decodes
(JPEG, PNG, BMP, GIF, WebP).  Listing needs no TensorFlow; decoding does.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFolderError, EmptyClassError, PreprocessingError, UnreadableImageError

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageFolder",
    "list_image_folder",
    "Preprocessing",
    "sidecar_path",
    "read_sidecar",
    "write_sidecar",
    "decode_image",
    "eval_image",
    "load_eval_image",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


# ----------------------------------------------------------------------------
# Listing
# ----------------------------------------------------------------------------


@dataclass
class ImageFolder:
    """A listed image-folder dataset: sorted class names and (path, label) pairs."""

    root: Path
    classes: list[str]
    files: list[tuple[str, int]] = field(repr=False)

    def __len__(self) -> int:
        return len(self.files)


def list_image_folder(root: str | os.PathLike) -> ImageFolder:
    """List ``root``: one sub-folder per class, each with at least one image
    file (by extension; hidden files ignored).  Raises
    :class:`~tinyops_tflm.errors.DataFolderError` when ``root`` is missing or
    holds no class folders, and :class:`~tinyops_tflm.errors.EmptyClassError`
    naming every class folder without images."""
    root = Path(root)
    if not root.exists():
        raise DataFolderError(f"data folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise DataFolderError(f"data folder {str(root)!r} is not a directory")
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as err:
        raise DataFolderError(f"cannot list data folder {str(root)!r}: {err.strerror or err}") from None
    class_dirs = [e for e in entries if e.is_dir() and not e.name.startswith(".")]
    if not class_dirs:
        loose = [e.name for e in entries if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)]
        hint = (
            f" (it holds {len(loose)} images directly; put them in one sub-folder per class)"
            if loose
            else " (it is empty)"
            if not entries
            else ""
        )
        raise DataFolderError(f"data folder {str(root)!r} has no class sub-folders{hint}")
    classes, files, empty = [], [], []
    for label, d in enumerate(class_dirs):
        classes.append(d.name)
        images = []
        for dirpath, dirnames, filenames in os.walk(d.path, followlinks=True):
            dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
            images.extend(
                os.path.join(dirpath, n)
                for n in sorted(filenames)
                if not n.startswith(".") and n.lower().endswith(IMAGE_EXTENSIONS)
            )
        if not images:
            empty.append(d.name)
        files.extend((p, label) for p in images)
    if empty:
        raise EmptyClassError(
            f"data folder {str(root)!r}: class folder(s) without images: "
            + ", ".join(repr(n) for n in empty)
            + f" (image extensions: {' '.join(IMAGE_EXTENSIONS)})"
        )
    return ImageFolder(root, classes, files)


# ----------------------------------------------------------------------------
# Preprocessing
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preprocessing:
    """How pixels become the model's float input.

    Evaluation: decode to RGB uint8; resize (bilinear, antialiased) so the
    shorter side is ``ceil(resolution / crop_fraction)``; centre-crop
    ``resolution`` x ``resolution``; ``(pixel - mean) / std``.  Training:
    a random crop of ``min_scale``..100 % of the area, aspect 3/4..4/3,
    resized to ``resolution``, random horizontal flip, same normalisation.
    The defaults map pixels to [-1, 1] (the zoo's int8 input convention) and
    crop 87.5 % (the usual ImageNet evaluation)."""

    resolution: int
    crop_fraction: float = 0.875
    mean: tuple[float, float, float] = (127.5, 127.5, 127.5)
    std: tuple[float, float, float] = (127.5, 127.5, 127.5)
    min_scale: float = 0.08

    def __post_init__(self):
        if int(self.resolution) < 1:
            raise PreprocessingError(f"resolution must be positive, got {self.resolution}")
        if not 0.0 < float(self.crop_fraction) <= 1.0:
            raise PreprocessingError(f"crop_fraction must be in (0, 1], got {self.crop_fraction}")
        if not 0.0 < float(self.min_scale) <= 1.0:
            raise PreprocessingError(f"min_scale must be in (0, 1], got {self.min_scale}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise PreprocessingError(f"mean/std need 3 values, std positive: {self.mean}, {self.std}")

    @property
    def resize_to(self) -> int:
        """Shorter side before the centre crop."""
        return int(math.ceil(self.resolution / self.crop_fraction - 1e-9))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        try:
            return cls(
                resolution=int(d["resolution"]),
                crop_fraction=float(d.get("crop_fraction", 0.875)),
                mean=tuple(float(v) for v in d.get("mean", (127.5,) * 3)),
                std=tuple(float(v) for v in d.get("std", (127.5,) * 3)),
                min_scale=float(d.get("min_scale", 0.08)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise PreprocessingError(f"malformed preprocessing record {d!r}: {err}") from None

    def check_input_shape(self, shape, what: str = "model") -> None:
        """Raise :class:`PreprocessingError` unless ``shape`` is
        ``[batch, resolution, resolution, 3]``."""
        dims = [None if d is None or int(d) < 0 else int(d) for d in shape]
        want = [self.resolution, self.resolution, 3]
        if len(dims) != 4 or dims[1:] != want:
            raise PreprocessingError(
                f"{what} input shape {list(shape)} does not match the preprocessing: expected "
                f"[batch, {self.resolution}, {self.resolution}, 3] (resolution {self.resolution}, RGB)"
            )


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def decode_image(data):
    """TF op: encoded bytes -> uint8 [H, W, 3] (grey expanded, alpha dropped;
    JPEG with the accurate integer IDCT, like PIL)."""
    import tensorflow as tf  # (no _tf(): this runs inside tf.data/autograph)

    return tf.cond(
        tf.io.is_jpeg(data),
        lambda: tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.ensure_shape(
            tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8), [None, None, 3]
        ),
    )


def _normalize(tf, x, prep: Preprocessing):
    mean = tf.constant(prep.mean, tf.float32)
    std = tf.constant(prep.std, tf.float32)
    return (x - mean) / std


def eval_image(image, prep: Preprocessing):
    """TF op: uint8 [H, W, 3] -> float32 [R, R, 3], evaluation preprocessing."""
    import tensorflow as tf  # (no _tf(): this runs inside tf.data/autograph)

    shape = tf.shape(image)
    h = tf.cast(shape[0], tf.float32)
    w = tf.cast(shape[1], tf.float32)
    scale = float(prep.resize_to) / tf.minimum(h, w)
    r = prep.resolution
    # never below the crop: rounding of the longer side must not lose pixels
    new_h = tf.maximum(tf.cast(tf.round(h * scale), tf.int32), r)
    new_w = tf.maximum(tf.cast(tf.round(w * scale), tf.int32), r)
    x = tf.image.resize(tf.cast(image, tf.float32), tf.stack([new_h, new_w]), method="bilinear", antialias=True)
    x = tf.image.crop_to_bounding_box(x, (new_h - r) // 2, (new_w - r) // 2, r, r)
    return _normalize(tf, x, prep)


def train_image(image, prep: Preprocessing):
    """TF op: uint8 [H, W, 3] -> float32 [R, R, 3], random-resized-crop
    (area ``min_scale``..1, aspect 3/4..4/3) + random horizontal flip."""
    import tensorflow as tf  # (no _tf(): this runs inside tf.data/autograph)

    begin, size, _ = tf.image.sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
        min_object_covered=0.0,
        aspect_ratio_range=(3 / 4, 4 / 3),
        area_range=(prep.min_scale, 1.0),
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    crop = tf.slice(image, begin, size)
    r = prep.resolution
    x = tf.image.resize(tf.cast(crop, tf.float32), [r, r], method="bilinear", antialias=True)
    x = tf.image.random_flip_left_right(x)
    return _normalize(tf, x, prep)


_EVAL_FNS: dict[Preprocessing, object] = {}


def load_eval_image(data: bytes, prep: Preprocessing) -> np.ndarray:
    """Encoded image bytes -> float32 [R, R, 3] (evaluation preprocessing);
    :class:`UnreadableImageError` if TensorFlow cannot decode them."""
    tf = _tf()
    fn = _EVAL_FNS.get(prep)
    if fn is None:
        fn = tf.function(lambda b: eval_image(decode_image(b), prep), input_signature=[tf.TensorSpec([], tf.string)])
        _EVAL_FNS[prep] = fn
    try:
        return fn(tf.constant(data)).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as err:
        msg = str(getattr(err, "message", err)).strip().splitlines()
        raise UnreadableImageError(f"cannot decode image: {msg[0] if msg else type(err).__name__}") from None


# ----------------------------------------------------------------------------
# Sidecar
# ----------------------------------------------------------------------------

SIDECAR_FORMAT = "tinyops-model-info"


def sidecar_path(model_path: str | os.PathLike) -> Path:
    """``model.tflite`` -> ``model.tflite.json``."""
    p = Path(model_path)
    return p.with_name(p.name + ".json")


def write_sidecar(model_path: str | os.PathLike, prep: Preprocessing, classes: list[str] | None, **extra) -> Path:
    out = sidecar_path(model_path)
    record = {
        "format": SIDECAR_FORMAT,
        "version": 1,
        "preprocessing": prep.to_dict(),
        "classes": list(classes) if classes is not None else None,
        **extra,
    }
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return out


def read_sidecar(model_path: str | os.PathLike) -> tuple[Preprocessing | None, list[str] | None, dict]:
    """(preprocessing, classes, whole record) from the sidecar of
    ``model_path``; (None, None, {}) when there is none."""
    p = sidecar_path(model_path)
    if not p.is_file():
        return None, None, {}
    try:
        record = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PreprocessingError(f"cannot read model sidecar {str(p)!r}: {err}") from None
    if not isinstance(record, dict) or record.get("format") != SIDECAR_FORMAT:
        raise PreprocessingError(
            f"{str(p)!r} is not a tinyops model sidecar "
            f"(format {record.get('format') if isinstance(record, dict) else None!r})"
        )
    prep = record.get("preprocessing")
    classes = record.get("classes")
    if classes is not None and (not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)):
        raise PreprocessingError(f"{str(p)!r}: 'classes' must be a list of names")
    return (Preprocessing.from_dict(prep) if prep is not None else None), classes, record
