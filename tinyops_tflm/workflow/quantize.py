"""Full-integer post-training quantization of a Keras model (``tinyops quantize``).

Same converter settings as the zoo
(:mod:`tinyops_tflm.frontend.tflite_convert`: int8 input and output,
TFLITE_BUILTINS_INT8 only, BN folded), but calibrated on real images with
the model's evaluation preprocessing, and converted from a batch-1 copy of
the model so every shape in the int8 graph is static (a dynamic batch would
turn reshapes into SHAPE/STRIDED_SLICE/PACK chains).  The preprocessing and
class names go into the output's sidecar (``m.tflite.json``), from where
evaluate and export apply them.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import DataFolderError, ModelError, UnreadableImageError
from .imagedata import list_image_folder, load_eval_image, write_sidecar
from .train import load_keras_model, model_preprocessing

__all__ = ["QuantizeResult", "quantize", "convert_int8"]


@dataclass
class QuantizeResult:
    out: Path
    size: int
    calibration_images: int
    unreadable: int


def convert_int8(model, samples: list[np.ndarray]) -> bytes:
    """Full-int8 ``.tflite`` bytes of Keras ``model`` at batch 1, calibrated
    on ``samples`` (float32 [R, R, 3] each)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from ..frontend.netbuild import with_batch_size
    from ..frontend.tflite_convert import to_int8_tflite

    model1 = with_batch_size(model, 1)

    def representative_dataset():
        for s in samples:
            yield [np.asarray(s, np.float32)[None]]

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return to_int8_tflite(tf, model1, representative_dataset)


def quantize(
    model_path: str | os.PathLike,
    calibration: str | os.PathLike,
    out: str | os.PathLike,
    num_samples: int = 500,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> QuantizeResult:
    """Quantize ``model_path`` (.keras) with ``num_samples`` images drawn
    (seeded, uniformly) from the image folder ``calibration``; write ``out``
    and its sidecar.  Unreadable images are skipped and counted."""
    if num_samples < 1:
        raise ValueError(f"--num-samples must be positive, got {num_samples}")
    model_path, out = Path(model_path), Path(out)
    data = list_image_folder(calibration)
    model = load_keras_model(model_path)
    prep, classes = model_preprocessing(model, model_path)
    order = np.random.default_rng(seed).permutation(len(data.files))
    samples, unreadable = [], 0
    for i in order:
        if len(samples) >= num_samples:
            break
        path = data.files[i][0]
        try:
            with open(path, "rb") as f:
                samples.append(load_eval_image(f.read(), prep))
        except (OSError, UnreadableImageError) as err:
            unreadable += 1
            log(f"skipping unreadable calibration image {path}: {err}")
    if not samples:
        raise DataFolderError(f"calibration folder {str(calibration)!r}: no readable image")
    tflite = convert_int8(model, samples)
    _check_engine_runs(tflite, model_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(tflite)
    os.replace(tmp, out)
    write_sidecar(
        out,
        prep,
        classes,
        source=str(model_path.resolve()),
        calibration={
            "data": str(Path(calibration).resolve()),
            "images": len(samples),
            "unreadable": unreadable,
            "seed": seed,
        },
    )
    log(
        f"wrote {out} ({len(tflite)} bytes, int8, calibrated on {len(samples)} images"
        + (f", {unreadable} unreadable skipped" if unreadable else "")
        + ")"
    )
    return QuantizeResult(out, len(tflite), len(samples), unreadable)


def _check_engine_runs(tflite: bytes, model_path: Path) -> None:
    """The engine must accept the converted graph (all ops supported)."""
    from ..runtime.interpreter import Interpreter

    try:
        Interpreter.from_bytes(tflite)
    except ModelError as err:
        raise ModelError(f"the int8 conversion of {model_path.name} is not a model the engine accepts: {err}") from None
