#!/usr/bin/env python3
"""Coverage-guided fuzzing of the model reader and the plan loader (atheris).

The target is tinyops_tflm.testing.fuzz.run_input: a .tflite model is read,
planned, loaded and run; a plan case is loaded and run. A TinyOpsError naming
its field is a valid outcome; any other exception is a finding (atheris saves
the input as ``<artifact_prefix>crash-<sha1>`` and exits non-zero), and so is
a crash or a timeout. The reader's Python is instrumented for coverage; the
engine is driven as a black box.

    python tools/fuzz_target.py [libFuzzer flags] NEW_CORPUS_DIR tests/fuzz_corpus
    python tools/fuzz_target.py -max_total_time=60 -timeout=20 /tmp/corpus tests/fuzz_corpus
    python tools/fuzz_target.py crash-<sha1>          # reproduce one input

Without atheris (not installable on every Python) the same command runs a
plain mutation loop over the corpus with the same flags (-runs,
-max_total_time, -artifact_prefix, -seed) and the same exit status.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

try:
    import atheris
except ImportError:  # the fallback below
    atheris = None


def _import_target():
    if atheris is not None:
        with atheris.instrument_imports(include=["tinyops_tflm"]):
            from tinyops_tflm.errors import TinyOpsError
            from tinyops_tflm.testing import fuzz
    else:
        from tinyops_tflm.errors import TinyOpsError
        from tinyops_tflm.testing import fuzz
    return fuzz, TinyOpsError


def _flags(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    flags, paths = {}, []
    for a in argv:
        if a.startswith("-") and "=" in a:
            k, v = a[1:].split("=", 1)
            flags[k] = v
        elif not a.startswith("-"):
            paths.append(a)
    return flags, paths


def _plain_loop(argv: list[str], fuzz, TinyOpsError) -> int:
    """libFuzzer's command line, a mutation loop without coverage feedback."""
    import hashlib

    import numpy as np

    flags, paths = _flags(argv)
    seeds: list[bytes] = []
    for p in map(Path, paths):
        seeds += [f.read_bytes() for f in sorted(p.iterdir()) if f.is_file()] if p.is_dir() else [p.read_bytes()]
    if not seeds:
        print("fuzz_target: no inputs", file=sys.stderr)
        return 2
    runs = int(flags.get("runs", -1))
    deadline = time.monotonic() + float(flags.get("max_total_time", 0) or 1e18)
    prefix = flags.get("artifact_prefix", "")
    rng = np.random.default_rng(int(flags.get("seed", 0)))
    reproduce = all(Path(p).is_file() for p in paths)
    done = 0
    while (runs < 0 or done < runs) and time.monotonic() < deadline:
        if reproduce:
            if done >= len(seeds):
                break
            data = seeds[done]
        else:
            base = seeds[int(rng.integers(0, len(seeds)))]
            data, _ = fuzz.mutate(base, fuzz.MUTATIONS[int(rng.integers(0, len(fuzz.MUTATIONS)))], rng)
        try:
            fuzz.run_input(data)
        except TinyOpsError:
            pass
        except BaseException:
            path = f"{prefix}crash-{hashlib.sha1(data).hexdigest()}"
            Path(path).write_bytes(data)
            print(f"==fuzz_target== finding after {done} runs; input saved to {path}", file=sys.stderr)
            raise
        done += 1
    print(f"fuzz_target: Done {done} runs (plain mutation loop: atheris is not installed)")
    return 0


def main() -> int:
    if importlib.util.find_spec("tinyops_tflm") is None:  # not installed: the checkout's
        sys.path.insert(0, str(ROOT))
    fuzz, TinyOpsError = _import_target()
    if atheris is None:
        return _plain_loop(sys.argv[1:], fuzz, TinyOpsError)

    def one_input(data: bytes) -> None:
        try:
            fuzz.run_input(bytes(data))
        except TinyOpsError:
            pass

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    raise SystemExit(main())
