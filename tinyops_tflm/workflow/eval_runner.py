"""Per-image inference for evaluation: one model loaded once per process.

A runner turns encoded image bytes into the model's top-5 class indices:
decode + evaluation preprocessing (TensorFlow ops), then either

* ``int8``: quantize the float input with the model's input scale/zero point
  as TFLite's QUANTIZE op does (``round half away from zero`` of
  ``x / scale`` in float32, plus the zero point, saturated) and run the
  ``.tflite`` on this project's engine (:class:`tinyops_tflm.Interpreter`,
  bit-exact with tflite-micro): the accuracy the board will have; or
* ``float``: run the Keras model on the chunk as one batch.

Top-k is a stable sort of the logits, so equal int8 logits rank by class
index (the lower wins), deterministically in every process.

Worker processes (local or Ray) keep their runners in :data:`_RUNNERS`,
keyed by the model's hash, so each loads the model once.
"""

from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np

from ..errors import UnreadableImageError
from .imagedata import Preprocessing, load_eval_image

TOP_K = 5

_RUNNERS: dict[str, "Runner"] = {}


def topk(logits: np.ndarray, k: int = TOP_K) -> list[int]:
    """Indices of the ``k`` largest values, ties broken by lower index."""
    flat = np.asarray(logits).reshape(-1)
    order = np.argsort(-flat.astype(np.float64), kind="stable")
    return [int(i) for i in order[:k]]


def quantize_input(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float32 -> int8 like TFLite's QUANTIZE: round(x / scale) (half away
    from zero, in float32) + zero point, saturated to [-128, 127]."""
    v = np.asarray(x, np.float32) / np.float32(scale)
    r = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))
    return np.clip(r.astype(np.int64) + int(zero_point), -128, 127).astype(np.int8)


def _limit_tf_threads() -> None:
    """One TF thread per worker process: the workers are the parallelism."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF already initialised in this process
        pass


class Runner:
    """Model + preprocessing of one evaluation, loaded in this process."""

    def __init__(self, kind: str, model: bytes, prep: dict, worker: bool):
        if worker:
            _limit_tf_threads()
        self.kind = kind
        self.prep = Preprocessing.from_dict(prep)
        if kind == "int8":
            from ..runtime.interpreter import Interpreter

            self.interp = Interpreter.from_bytes(model)
            q = self.interp.get_input_details()[0]["quantization"]
            self.scale, self.zero_point = float(q[0]), int(q[1])
        elif kind == "float":
            from .train import load_keras_model

            fd, path = tempfile.mkstemp(suffix=".keras")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(model)
                self.model = load_keras_model(path)
            finally:
                os.unlink(path)
        else:
            raise ValueError(f"unknown model kind {kind!r}")

    def int8_output(self, x: np.ndarray) -> np.ndarray:
        """Engine output (int8 logits) for one preprocessed float image."""
        self.interp.set_input(quantize_input(x, self.scale, self.zero_point)[None], 0)
        self.interp.invoke()
        return np.array(self.interp.get_output(0), copy=True)

    def run(self, items: list[tuple[str, bytes | None, str | None]]) -> list[dict]:
        """``items``: (path, encoded bytes or None, read error or None).
        Returns one ``{"path", "top5"}`` or ``{"path", "error"}`` per item."""
        results: list[dict] = []
        images: list[tuple[int, np.ndarray]] = []
        for path, data, err in items:
            if err is None:
                try:
                    images.append((len(results), load_eval_image(data, self.prep)))
                except UnreadableImageError as e:
                    err = str(e)
            results.append({"path": path, "error": err} if err is not None else {"path": path})
        if self.kind == "int8":
            for i, x in images:
                results[i]["top5"] = topk(self.int8_output(x))
        elif images:
            batch = np.stack([x for _, x in images])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Keras' input-structure note
                logits = np.asarray(self.model(batch, training=False))
            for (i, _), row in zip(images, logits):
                results[i]["top5"] = topk(row)
        for r in results:
            if "top5" in r:
                r.pop("error", None)
        return results


def get_runner(key: str, kind: str, model: bytes, prep: dict, worker: bool = True) -> Runner:
    r = _RUNNERS.get(key)
    if r is None:
        _RUNNERS.clear()  # one model at a time per process
        r = _RUNNERS[key] = Runner(kind, model, prep, worker)
    return r


# -- entry points of worker processes (module-level, so they pickle) ---------

_LOCAL: dict = {}


def init_local_worker(key: str, kind: str, model: bytes, prep: dict) -> None:
    _LOCAL.update(key=key)
    get_runner(key, kind, model, prep, worker=True)


def run_local_chunk(items):
    return _RUNNERS[_LOCAL["key"]].run(items)


def run_ray_chunk(key: str, kind: str, model: bytes, prep: dict, items):
    return get_runner(key, kind, model, prep, worker=True).run(items)
