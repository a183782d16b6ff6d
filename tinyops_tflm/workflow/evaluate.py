"""Top-1/top-5 accuracy of a model on an image folder (``tinyops evaluate``).

A ``.tflite`` must be full-int8; it runs on this project's engine, which is
bit-exact with tflite-micro, so its accuracy is the board's.  A ``.keras``
model runs in TensorFlow (float).  The preprocessing is the one recorded in
the model's sidecar (``m.tflite.json``, written by ``tinyops quantize`` /
``train``), else the defaults at the model's input resolution.

Labels: with class names in the sidecar, a folder's class is found by name
(so a folder may hold a subset of the classes); without, the sorted folder
order is the class index (ImageNet's ``n0...`` synset folders sort into the
standard index order).

The driver lists the folder, reads files and keeps the results; the images
are decoded, preprocessed and run in chunks by a backend
(:mod:`tinyops_tflm.workflow.eval_backends`).  Results are cached per image
(:mod:`tinyops_tflm.workflow.eval_cache`), so an interrupted evaluation resumes.
Unreadable images are skipped and counted.  ``check_tflm=N`` re-runs N
images (spread over the set) in the pinned tflite-micro interpreter and
requires byte-equal outputs, and equal top-5 to the backend's results.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import DataFolderError, ModelError, PreprocessingError, TflmMismatchError, UnreadableImageError
from .eval_cache import ResultCache, cache_name, default_cache_dir
from .imagedata import ImageFolder, Preprocessing, list_image_folder, read_sidecar

__all__ = ["EvalResult", "evaluate", "load_model_for_eval", "prepare_input", "ModelInfo"]

DEFAULT_CHUNK = 16
# Images one process evaluates in about the time a new worker process takes
# to start (TensorFlow import), on the 2-core development machine.
_IMAGES_PER_WORKER_START = 256
_MAX_LISTED_UNREADABLE = 20


@dataclass
class ModelInfo:
    path: Path
    kind: str  # "int8" (.tflite on the engine) or "float" (.keras in TF)
    data: bytes
    prep: Preprocessing
    classes: list[str] | None
    num_outputs: int
    prep_recorded: bool  # from the sidecar (else defaults)


@dataclass
class EvalResult:
    top1: float  # percent
    top5: float  # percent
    images: int  # images evaluated (readable)
    unreadable: int
    unreadable_files: list[str]
    model: str
    kind: str
    backend: str
    workers: int | None
    seconds: float
    from_cache: int
    tflm_checked: int = 0
    tflm_equal: int = 0
    preprocessing: dict = field(default_factory=dict)
    first_result_seconds: float | None = None  # start-up: until the first chunk's results
    steady_images_per_second: float | None = None  # after the first chunk (measured)

    @property
    def images_per_second(self) -> float:
        return (self.images + self.unreadable - self.from_cache) / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["images_per_second"] = round(self.images_per_second, 3)
        return d

    def summary(self) -> str:
        par = (
            f"{self.workers} local worker{'s' if self.workers != 1 else ''}"
            if self.backend == "local"
            else f"Ray ({self.workers or 'cluster'} CPUs)"
        )
        s = (
            f"{self.kind} model {self.model}: top-1 {self.top1:.2f} %, top-5 {self.top5:.2f} % "
            f"over {self.images} images"
        )
        if self.unreadable:
            s += f" ({self.unreadable} unreadable skipped: {', '.join(self.unreadable_files[:3])}"
            s += ", ...)" if self.unreadable > 3 else ")"
        s += (
            f"\n  {par}, {self.seconds:.1f} s measured ({self.images_per_second:.1f} images/s"
            f"{f'; {self.from_cache} from the cache' if self.from_cache else ''})"
        )
        if self.tflm_checked:
            s += f"\n  tflite-micro: {self.tflm_equal}/{self.tflm_checked} images give byte-equal int8 outputs"
        return s


def _tf_quiet():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load_model_for_eval(path: str | os.PathLike, resolution: int | None = None) -> ModelInfo:
    """Read ``path`` (.tflite int8 or .keras), its sidecar, and check that its
    input matches the preprocessing (:class:`PreprocessingError` if not)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as err:
        raise ModelError(f"cannot read model {str(p)!r}: {err.strerror or err}") from None
    prep, classes, _ = read_sidecar(p)
    recorded = prep is not None
    if len(data) > 8 and data[4:8] == b"TFL3":
        from ..frontend.reader import read_model

        graph = read_model(data)
        if len(graph.inputs) != 1 or len(graph.outputs) != 1:
            raise ModelError(
                f"{p.name}: evaluate needs one input and one output (has {len(graph.inputs)} and {len(graph.outputs)})"
            )
        t_in, t_out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
        if t_in.dtype != np.int8 or t_out.dtype != np.int8 or t_in.quant is None:
            raise ModelError(
                f"{p.name}: evaluate runs full-int8 models (int8 input and output); "
                f"this one has {t_in.dtype.name} input, {t_out.dtype.name} output "
                "(use `tinyops quantize`)"
            )
        shape, n_out, kind = list(t_in.shape), int(np.prod(t_out.shape)), "int8"
        if shape[:1] != [1]:
            raise PreprocessingError(f"{p.name}: input shape {shape} must have batch 1")
    elif data[:4] == b"PK\x03\x04":
        _tf_quiet()
        from .train import load_keras_model

        m = load_keras_model(p)
        shape, n_out, kind = list(m.input_shape), int(m.output_shape[-1]), "float"
    else:
        raise ModelError(f"{str(p)!r} is neither a .tflite flatbuffer nor a .keras archive")
    if prep is None:
        res = resolution if resolution is not None else (shape[1] if len(shape) == 4 else None)
        if res is None or not isinstance(res, (int, np.integer)):
            raise PreprocessingError(f"{p.name}: input shape {shape} has no fixed resolution")
        prep = Preprocessing(resolution=int(res))
    elif resolution is not None and resolution != prep.resolution:
        raise PreprocessingError(
            f"--resolution {resolution} differs from the resolution {prep.resolution} recorded for {p.name}"
        )
    prep.check_input_shape(shape, f"model {p.name}")
    if classes is not None and len(classes) != n_out:
        raise PreprocessingError(
            f"{p.name}: its sidecar names {len(classes)} classes but the model has {n_out} outputs"
        )
    return ModelInfo(p, kind, data, prep, classes, n_out, recorded)


def _labels(data: ImageFolder, info: ModelInfo) -> list[int]:
    if info.classes is not None:
        index = {c: i for i, c in enumerate(info.classes)}
        unknown = [c for c in data.classes if c not in index]
        if unknown:
            raise DataFolderError(
                f"data folder {str(data.root)!r}: class folder(s) "
                + ", ".join(repr(c) for c in unknown[:5])
                + f" are not classes of {info.path.name}"
            )
        return [index[data.classes[label]] for _, label in data.files]
    if len(data.classes) > info.num_outputs:
        raise DataFolderError(
            f"data folder {str(data.root)!r} has {len(data.classes)} classes but "
            f"{info.path.name} has {info.num_outputs} outputs"
        )
    return [label for _, label in data.files]


def _read(path: str) -> tuple[str, bytes | None, str | None]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        return path, None, f"cannot read: {err.strerror or err}"
    if not data:
        return path, None, "empty file"
    return path, data, None


def _chunks(paths: list[str], size: int) -> Iterator[list]:
    for i in range(0, len(paths), size):
        yield [_read(p) for p in paths[i : i + size]]


def evaluate(
    model: str | os.PathLike,
    data: str | os.PathLike,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    cache_dir: str | os.PathLike | None | bool = None,
    check_tflm: int = 0,
    chunk: int = DEFAULT_CHUNK,
    progress: bool = True,
    resolution: int | None = None,
) -> EvalResult:
    """Top-1/top-5 (percent) of ``model`` on the image folder ``data``.

    ``backend``: "local" (``workers`` processes, default one per 256 images
    up to the CPU count; 1 runs in this process) or "ray" (``address`` of a cluster, else a local Ray).
    ``cache_dir``: None for the default cache, False for none.  A progress
    bar is drawn on a terminal only (``progress=False``: never)."""
    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r} (local or ray)")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be positive, got {workers}")
    if chunk < 1 or check_tflm < 0:
        raise ValueError("chunk must be positive and check_tflm non-negative")
    info = load_model_for_eval(model, resolution)
    folder = list_image_folder(data)
    labels = _labels(folder, info)
    if check_tflm and info.kind != "int8":
        raise ValueError("--check-tflm compares int8 outputs; it needs a .tflite model")
    prep = info.prep.to_dict()
    key = hashlib.sha256(info.data).hexdigest()
    if cache_dir is False:
        cache = ResultCache(None)
    else:
        d = Path(cache_dir) if cache_dir not in (None, True) else default_cache_dir()
        cache = ResultCache(d / cache_name(info.data, prep, info.kind))

    paths = [os.path.abspath(p) for p, _ in folder.files]
    stats: dict[str, os.stat_result | None] = {}
    for p in paths:
        try:
            stats[p] = os.stat(p)
        except OSError:
            stats[p] = None
    pending = [p for p in paths if cache.lookup(p, stats[p]) is None]
    from_cache = len(paths) - len(pending)

    if workers is not None:
        n_workers = workers
    else:  # a worker process costs a TensorFlow start (seconds): worth it for large sets only
        n_workers = max(1, min(os.cpu_count() or 1, len(pending) // _IMAGES_PER_WORKER_START))
    from ..cli import progress as bars

    t_first = None
    t0 = time.perf_counter()
    # bars on a terminal only (see tinyops_tflm.cli.progress); progress=False: never
    with contextlib.ExitStack() as stack:
        if progress is False:
            stack.enter_context(bars.disabled())
        bar = stack.enter_context(bars.bar(len(pending), "evaluate", unit="img"))
        stack.callback(cache.close)
        if pending:
            from . import eval_backends as eb

            chunks = _chunks(pending, chunk)
            if backend == "ray":
                stream = eb.run_ray(chunks, workers, address, key, info.kind, info.data, prep)
            elif n_workers == 1:
                stream = eb.run_inprocess(chunks, key, info.kind, info.data, prep)
            else:
                stream = eb.run_local(chunks, n_workers, key, info.kind, info.data, prep)
            done = first = 0
            for results in stream:
                if t_first is None:
                    t_first, first = time.perf_counter() - t0, len(results)
                done += len(results)
                cache.add(results, stats)
                bar.update(len(results))
    seconds = time.perf_counter() - t0

    top1 = top5 = seen = 0
    unreadable: list[str] = []
    for p, label in zip(paths, labels):
        e = cache.entries[p]
        if "top5" not in e:
            unreadable.append(p)
            continue
        seen += 1
        top1 += e["top5"][0] == label
        top5 += label in e["top5"][:5]
    if not seen:
        raise DataFolderError(
            f"data folder {str(folder.root)!r}: none of its {len(paths)} images "
            f"is readable (first: {cache.entries[paths[0]].get('error')})"
        )
    result = EvalResult(
        top1=100.0 * top1 / seen,
        top5=100.0 * top5 / seen,
        images=seen,
        unreadable=len(unreadable),
        unreadable_files=unreadable[:_MAX_LISTED_UNREADABLE],
        model=info.path.name,
        kind=info.kind,
        backend=backend,
        workers=(workers if backend == "ray" else n_workers),
        seconds=seconds,
        from_cache=from_cache,
        preprocessing=prep,
        first_result_seconds=t_first,
    )
    if t_first is not None and done > first and seconds > t_first:
        result.steady_images_per_second = (done - first) / (seconds - t_first)
    if check_tflm:
        readable = [p for p in paths if "top5" in cache.entries[p]]
        result.tflm_checked, result.tflm_equal = _check_tflm(info, readable, check_tflm, cache)
    return result


def _check_tflm(info: ModelInfo, readable: list[str], n: int, cache: ResultCache) -> tuple[int, int]:
    """Engine vs tflite-micro on ``n`` images spread over ``readable``."""
    from ..validation.oracle import OracleError, run_tflm_batch
    from .eval_runner import Runner, quantize_input, topk
    from .imagedata import load_eval_image

    picks = sorted({int(round(i)) for i in np.linspace(0, len(readable) - 1, min(n, len(readable)))})
    runner = Runner("int8", info.data, info.prep.to_dict(), worker=False)
    inputs, engine_out = [], []
    for i in picks:
        with open(readable[i], "rb") as f:
            x = load_eval_image(f.read(), info.prep)
        inputs.append([quantize_input(x, runner.scale, runner.zero_point)[None]])
        engine_out.append(runner.int8_output(x))
    tflm = run_tflm_batch([info.data] * len(picks), inputs)
    for i, e_out, t_out in zip(picks, engine_out, tflm):
        path = readable[i]
        if isinstance(t_out, OracleError):
            raise t_out
        t = np.asarray(t_out[0])
        if t.tobytes() != e_out.tobytes():
            diff = int(np.count_nonzero(t.reshape(-1) != e_out.reshape(-1)))
            raise TflmMismatchError(
                f"{path}: the engine's int8 output differs from tflite-micro's in {diff} of {t.size} bytes"
            )
        if topk(e_out) != cache.entries[path]["top5"]:
            raise TflmMismatchError(
                f"{path}: the evaluation's top-5 {cache.entries[path]['top5']} differs from a re-run's {topk(e_out)}"
            )
    return len(picks), len(picks)


def prepare_input(model_path: str | os.PathLike, image_path: str | os.PathLike) -> np.ndarray:
    """The int8 input (batch 1) of the .tflite ``model_path`` for an image
    file, with the model's recorded preprocessing (what export/emulate run)."""
    from .eval_runner import quantize_input
    from .imagedata import load_eval_image

    info = load_model_for_eval(model_path)
    if info.kind != "int8":
        raise ModelError(f"{info.path.name}: an int8 .tflite is needed")
    from ..frontend.reader import read_model

    graph = read_model(info.data)
    q = graph.tensors[graph.inputs[0]].quant
    try:
        with open(image_path, "rb") as f:
            x = load_eval_image(f.read(), info.prep)
    except OSError as err:
        raise UnreadableImageError(f"cannot read image {str(image_path)!r}: {err.strerror or err}") from None
    return quantize_input(x, float(q.scales[0]), int(q.zero_points[0]))[None]
