"""The golden oracle: the pinned PyPI ``tflite-micro`` interpreter, run out of process.

TFLM aborts the whole process on some models (e.g. int8 SOFTMAX whose
``beta * input_scale`` is below 2**-26 trips a CHECK in
``QuantizeMultiplierGreaterThanOne``), so every run happens in a child Python
process; an abort there becomes an :class:`OracleError` here.

Data goes to the child through a private temporary directory (model file and
``.npz`` archives), never through argv.  The child is started as
``python -c <bootstrap> <this file> <dir>``, which runs this file as a script
without importing the ``tinyops_tflm`` package (so a broken or heavy package
``__init__`` cannot affect the oracle); ``python -m tinyops_tflm.validation.oracle <dir>``
works as well.

This module imports neither TensorFlow nor any other ``tinyops_tflm`` module
(but the dependency-free ``errors``, and not in the child).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from typing import Sequence

import numpy as np

if __package__:
    # Imported from the package. The child process runs this file as a bare
    # script (no package), and never raises OracleError.
    from ..errors import OracleError

__all__ = ["OracleError", "PINNED_TFLM_VERSION", "oracle_version", "run_tflm"]

#: The tflite-micro wheel whose interpreter defines the golden numerics.
PINNED_TFLM_VERSION = "0.dev20261023182759"

_MIN_ARENA = 4 << 20
_MAX_ARENA = 2 << 30
_STDERR_TAIL_LINES = 20

# Child exit codes (besides 0 = success and negative = killed by a signal).
_EXIT_BAD_INPUT = 2
_EXIT_TFLM_ERROR = 3

_BOOTSTRAP = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
_CAPTURE_FILE = "construct_stderr.txt"


def oracle_version() -> str:
    """The installed tflite-micro version string (``tflite_micro.__version__``)."""
    import tflite_micro  # light: no TensorFlow

    return str(tflite_micro.__version__)


def _default_arena(model_len: int) -> int:
    return max(_MIN_ARENA, 4 * model_len)


def _tail(text: str, n: int = _STDERR_TAIL_LINES) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join(lines[-n:])


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def run_tflm(
    model: bytes,
    inputs: Sequence[Sequence[np.ndarray]],
    arena_size: int | None = None,
    timeout: float = 600,
) -> list[list[np.ndarray]]:
    """Run ``model`` in the tflite-micro interpreter, once per input set.

    ``inputs[k]`` is the list of arrays for the model's inputs (in input
    order; a bare array is accepted for single-input models).  One
    interpreter is built and reused for all sets.  Returns ``outputs[k]``, the
    list of output arrays of set ``k``.

    ``arena_size``: tensor arena bytes; if None, starts at
    ``max(4 MiB, 4*len(model))`` and grows while allocation fails.

    Raises ``ValueError`` for inputs of the wrong count/dtype/shape and
    :class:`OracleError` when TFLM rejects the model, aborts (signal) or
    exceeds ``timeout`` seconds.
    """
    model = bytes(model)
    sets: list[list[np.ndarray]] = []
    for k, s in enumerate(inputs):
        if isinstance(s, np.ndarray):
            s = [s]
        sets.append([np.ascontiguousarray(np.asarray(a)) for a in s])
    if arena_size is not None and int(arena_size) <= 0:
        raise ValueError(f"arena_size must be positive, got {arena_size}")

    with tempfile.TemporaryDirectory(prefix="tinyops_oracle_") as tmp:
        with open(os.path.join(tmp, "model.tflite"), "wb") as f:
            f.write(model)
        arrays = {f"s{k}_i{j}": a for k, s in enumerate(sets) for j, a in enumerate(s)}
        np.savez(os.path.join(tmp, "inputs.npz"), **arrays)
        request = {
            "num_sets": len(sets),
            "num_inputs": [len(s) for s in sets],
            "arena_size": None if arena_size is None else int(arena_size),
        }
        with open(os.path.join(tmp, "request.json"), "w") as f:
            json.dump(request, f)

        cmd = [sys.executable, "-c", _BOOTSTRAP, os.path.abspath(__file__), tmp]
        try:
            proc = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired as e:
            err = e.stderr.decode("utf-8", "replace") if e.stderr else ""
            raise OracleError(
                f"tflite-micro interpreter timed out after {timeout} s"
                + (f"; last stderr lines:\n{_tail(err)}" if err.strip() else "")
            ) from None

        stderr = proc.stderr.decode("utf-8", "replace")
        rc = proc.returncode
        capture = os.path.join(tmp, _CAPTURE_FILE)
        if rc < 0 and os.path.exists(capture):
            # died while fd 2 was redirected (interpreter construction)
            with open(capture, "rb") as f:
                stderr += f.read().decode("utf-8", "replace")
        if rc < 0:
            tail = _tail(stderr)
            raise OracleError(
                f"tflite-micro interpreter aborted ({_signal_name(-rc)}) while running the model "
                "(TFLM aborts on failed CHECKs, e.g. int8 SOFTMAX with beta*input_scale < 2**-26)"
                + (f"; last stderr lines:\n{tail}" if tail else "; it wrote nothing to stderr")
            )
        result_path = os.path.join(tmp, "result.json")
        result = {}
        if os.path.exists(result_path):
            with open(result_path) as f:
                result = json.load(f)
        if rc == _EXIT_BAD_INPUT:
            raise ValueError(result.get("message", "invalid oracle inputs"))
        if rc != 0 or result.get("status") != "ok":
            msg = result.get("message") or f"oracle child exited with status {rc}"
            tail = _tail(stderr)
            raise OracleError(f"tflite-micro interpreter failed: {msg}" + (f"; stderr:\n{tail}" if tail else ""))

        outs: list[list[np.ndarray]] = []
        with np.load(os.path.join(tmp, "outputs.npz")) as z:
            n_out = int(result["num_outputs"])
            for k in range(len(sets)):
                outs.append([np.array(z[f"s{k}_o{j}"]) for j in range(n_out)])
        return outs


_BATCH_CHILD = r"""
import json, os, sys
import numpy as np
from tflite_micro import runtime
d, start = sys.argv[1], int(sys.argv[2])
req = json.load(open(os.path.join(d, "request.json")))
for k in range(start, len(req["cases"])):
    with open(os.path.join(d, "progress"), "w") as f:
        f.write(str(k))
    model_index, n_in, n_out = req["cases"][k]
    model = open(os.path.join(d, f"m{model_index}.tflite"), "rb").read()
    try:
        z = np.load(os.path.join(d, f"c{k}.npz"))
        it = runtime.Interpreter.from_bytes(model, arena_size=max(req["arena"], 8 * len(model)))
        for j in range(n_in):
            it.set_input(z[f"i{j}"], j)
        it.invoke()
        outs = {f"o{j}": np.array(it.get_output(j), copy=True) for j in range(n_out)}
        np.savez(os.path.join(d, f"c{k}.out.npz"), **outs)
    except Exception as e:
        open(os.path.join(d, f"c{k}.err"), "w").write(f"{type(e).__name__}: {e}")
"""


def run_tflm_batch(
    models: Sequence[bytes],
    inputs: Sequence[Sequence[np.ndarray]],
    arena_size: int = 8 << 20,
    timeout: float = 900,
) -> list[list[np.ndarray] | OracleError]:
    """Run many (model, input set) cases through tflite-micro in one child process.

    ``models[k]`` runs on ``inputs[k]`` (identical model bytes are written
    once). Each entry of the result is that case's outputs, or an
    :class:`OracleError` when TFLM rejected the model or died on it (the
    child is restarted after a crash, so one abort costs one case).
    """
    if len(models) != len(inputs):
        raise ValueError(f"{len(models)} models but {len(inputs)} input sets")
    with tempfile.TemporaryDirectory(prefix="tinyops_oracle_batch_") as tmp:
        index: dict[bytes, int] = {}
        cases = []
        for k, (m, xs) in enumerate(zip(models, inputs)):
            m = bytes(m)
            if m not in index:
                index[m] = len(index)
                with open(os.path.join(tmp, f"m{index[m]}.tflite"), "wb") as f:
                    f.write(m)
            xs = [xs] if isinstance(xs, np.ndarray) else list(xs)
            np.savez(os.path.join(tmp, f"c{k}.npz"), **{f"i{j}": np.asarray(x) for j, x in enumerate(xs)})
            try:
                n_out = _model_io_counts(m)[1]
            except Exception:  # malformed flatbuffer: let TFLM say what it makes of it
                n_out = 0
            cases.append([index[m], len(xs), n_out])
        with open(os.path.join(tmp, "request.json"), "w") as f:
            json.dump({"cases": cases, "arena": int(arena_size)}, f)
        start = 0
        while start < len(cases):
            proc = subprocess.run(
                [sys.executable, "-c", _BATCH_CHILD, tmp, str(start)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                cwd=tmp,
            )
            if proc.returncode == 0:
                break
            progress = os.path.join(tmp, "progress")
            crashed = int(open(progress).read()) if os.path.exists(progress) else start
            why = (
                f"tflite-micro interpreter died ({_signal_name(-proc.returncode)})"
                if proc.returncode < 0
                else f"oracle child exited with status {proc.returncode}"
            )
            with open(os.path.join(tmp, f"c{crashed}.err"), "w") as f:
                f.write(
                    why + (f"; stderr: {_tail(proc.stderr.decode('utf-8', 'replace'))}" if proc.stderr.strip() else "")
                )
            start = crashed + 1
        results: list[list[np.ndarray] | OracleError] = []
        for k in range(len(cases)):
            out = os.path.join(tmp, f"c{k}.out.npz")
            if os.path.exists(out):
                with np.load(out) as z:
                    results.append([np.array(z[f"o{j}"]) for j in range(cases[k][2])])
            else:
                err = os.path.join(tmp, f"c{k}.err")
                text = open(err).read() if os.path.exists(err) else "no result"
                results.append(OracleError(f"case {k}: {text}"))
        return results


# ----------------------------------------------------------------------------
# Child side
# ----------------------------------------------------------------------------


def _model_io_counts(model: bytes) -> tuple[int, int]:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = schema.Model.GetRootAs(model, 0)
    if m.SubgraphsLength() < 1:
        raise ValueError("model has no subgraph")
    sg = m.Subgraphs(0)
    return sg.InputsLength(), sg.OutputsLength()


_ALLOC_FAILURE_MARKERS = ("Failed to allocate", "Failed to resize buffer", "missing:", "Arena size is too small")


def _make_interpreter(runtime, model: bytes, arena_size: int | None, capture_path: str):
    """Build the interpreter, growing the arena while allocation fails.

    TFLM reports allocation failures only on stderr (the Python error just says
    'TFLM failed to allocate tensors'), so fd 2 is captured around each try and
    replayed to the real stderr afterwards.
    """
    arena = arena_size if arena_size is not None else _default_arena(len(model))
    while True:
        saved = os.dup(2)
        with open(capture_path, "w+b") as cap:
            os.dup2(cap.fileno(), 2)
            try:
                it = runtime.Interpreter.from_bytes(model, custom_op_registerers=[], arena_size=arena)
                err = None
            except RuntimeError as e:
                it, err = None, e
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
            cap.seek(0)
            text = cap.read().decode("utf-8", "replace")
        os.unlink(capture_path)
        if it is not None:
            if text:
                sys.stderr.write(text)
            return it, arena
        alloc = any(m in text for m in _ALLOC_FAILURE_MARKERS)
        if arena_size is None and alloc and arena < _MAX_ARENA:
            arena = min(_MAX_ARENA, arena * 4)
            continue
        sys.stderr.write(text)
        sys.stderr.flush()
        raise RuntimeError(f"{err} (arena {arena} bytes)")


def _child_main(workdir: str) -> int:
    def finish(code: int, **result) -> int:
        with open(os.path.join(workdir, "result.json"), "w") as f:
            json.dump(result, f)
        return code

    with open(os.path.join(workdir, "request.json")) as f:
        request = json.load(f)
    with open(os.path.join(workdir, "model.tflite"), "rb") as f:
        model = f.read()

    try:
        n_in, n_out = _model_io_counts(model)
    except Exception as e:  # malformed flatbuffer
        return finish(_EXIT_TFLM_ERROR, status="error", message=f"cannot read model: {e}")
    for k, cnt in enumerate(request["num_inputs"]):
        if cnt != n_in:
            return finish(
                _EXIT_BAD_INPUT,
                status="error",
                message=f"input set {k} has {cnt} arrays but the model has {n_in} inputs",
            )

    from tflite_micro import runtime

    try:
        it, arena = _make_interpreter(runtime, model, request["arena_size"], os.path.join(workdir, _CAPTURE_FILE))
    except RuntimeError as e:
        return finish(_EXIT_TFLM_ERROR, status="error", message=str(e))

    outputs: dict[str, np.ndarray] = {}
    with np.load(os.path.join(workdir, "inputs.npz")) as z:
        for k in range(request["num_sets"]):
            for j in range(n_in):
                a = z[f"s{k}_i{j}"]
                try:
                    it.set_input(a, j)
                except ValueError as e:
                    return finish(_EXIT_BAD_INPUT, status="error", message=f"input set {k}, input {j}: {e}")
            try:
                it.invoke()
            except RuntimeError as e:
                return finish(_EXIT_TFLM_ERROR, status="error", message=f"invoke failed on input set {k}: {e}")
            for j in range(n_out):
                outputs[f"s{k}_o{j}"] = np.array(it.get_output(j), copy=True)
    np.savez(os.path.join(workdir, "outputs.npz"), **outputs)
    return finish(0, status="ok", num_outputs=n_out, arena_size=arena)


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.stderr.write("usage: python -m tinyops_tflm.validation.oracle WORKDIR (internal use by run_tflm)\n")
        sys.exit(64)
    sys.exit(_child_main(sys.argv[1]))
