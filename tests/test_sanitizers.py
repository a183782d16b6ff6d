"""No memory errors and no undefined behaviour in the engine: its kernel, plan
loader, partition and reader tests run on an AddressSanitizer +
UndefinedBehaviorSanitizer build of ``_core``.

The instrumented extension is built once per source state (CMake option
TINYOPS_SANITIZE, -fno-sanitize-recover: the first report ends the process)
into ~/.cache/tinyops_tflm/sanitizers (``$TINYOPS_SANITIZER_CACHE``). The tests
run in a child pytest with the ASan runtime preloaded (an uninstrumented
Python must load it first) and TINYOPS_CORE pointing at the build. Only that
process runs instrumented: it drops the preload before starting children
(the tflite-micro oracle, compilers, CLI runs), which use the installed engine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SANITIZE = "address,undefined"

# What runs instrumented: the plan loader, the reader, partitioned runs and
# the kernels' oracle cases (about two minutes on two cores, build included).
SUBSET = [
    "tests/test_plan_loader.py",
    "tests/test_reader.py",
    "tests/test_reader_errors.py",
    "tests/test_reader_robustness.py",
    "tests/test_reader_unsupported.py",
    "tests/test_partition.py::test_random_op_tilings_bit_exact",
    "tests/test_partition.py::test_partitioned_models_bit_exact[demo_tiny-stm32f746]",
    "tests/test_partition.py::test_partitioned_models_bit_exact[demo_tiny-stm32f469]",
    "tests/test_partition.py::test_stats_report_traffic_per_region",
    "tests/test_partition.py::test_async_dma_really_defers_copies",
    "tests/test_kernels_data.py::test_matches_tflm",
    "tests/test_kernels_elementwise.py::test_matches_tflm",
    "tests/test_kernels_conv.py::test_conv2d_random_vs_oracle",
    "tests/test_kernels_conv.py::test_depthwise_random_vs_oracle",
    "tests/test_kernels_fc.py::test_fully_connected_random_vs_oracle",
]
# Mutated models and plans (benchmarks/fuzz_long.py) on the instrumented engine.
FUZZ_CASES = 1500

# Loads the instrumented engine, then scopes the preload to this process.
_CHILD = textwrap.dedent("""
    import os, sys
    import pytest
    from tinyops_tflm.runtime import engine
    engine.core()
    os.environ.pop("LD_PRELOAD", None)
    os.environ.pop("TINYOPS_CORE", None)
    sys.exit(pytest.main(sys.argv[1:]))
""")

_REPORTS = ("AddressSanitizer", "runtime error:", "UndefinedBehaviorSanitizer", "LeakSanitizer")


def sanitizer_report(text: str) -> str | None:
    """The first sanitizer report in a process's output, with some context."""
    for marker in _REPORTS:
        at = text.find(marker)
        if at >= 0:
            return text[max(0, at - 500) : at + 3000]
    return None


def _preload() -> str:
    """LD_PRELOAD for an uninstrumented Python: the ASan runtime of the compiler
    that builds the engine, and libstdc++, whose __cxa_throw ASan's interceptor
    must find at start-up (Python does not link it; without it the first C++
    exception aborts with an ASan CHECK failure)."""
    libs = []
    for name in ("libasan.so", "libstdc++.so"):
        out = subprocess.run(["g++", f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
        if not os.path.isabs(out) or not os.path.exists(out):
            pytest.skip(f"g++ has no {name}: cannot run the instrumented engine")
        libs.append(os.path.realpath(out))
    return ":".join(libs)


def _source_key() -> str:
    h = hashlib.sha256(SANITIZE.encode())
    h.update(subprocess.run(["g++", "--version"], capture_output=True).stdout)
    files = [ROOT / "CMakeLists.txt", *sorted((ROOT / "csrc").rglob("*")), *sorted((ROOT / "python").glob("*"))]
    for p in files:
        if p.is_file() and p.suffix in (".cc", ".h", ".txt", ".cmake"):
            h.update(str(p.relative_to(ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


@pytest.fixture(scope="module")
def sanitized_core() -> tuple[Path, str]:
    for tool in ("g++", "cmake", "ninja"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found: cannot build the instrumented engine")
    preload = _preload()
    cache = Path(os.environ.get("TINYOPS_SANITIZER_CACHE", Path.home() / ".cache" / "tinyops_tflm" / "sanitizers"))
    out = cache / _source_key()
    found = sorted(out.glob("_core*.so"))
    if not found:
        build = out / f"build-{os.getpid()}"
        import pybind11

        configure = [
            "cmake",
            "-S",
            str(ROOT),
            "-B",
            str(build),
            "-G",
            "Ninja",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            f"-DPython_EXECUTABLE={sys.executable}",
            "-DCMAKE_BUILD_TYPE=Release",
            "-DTINYOPS_TFLM_HOST=OFF",
            f"-DTINYOPS_SANITIZE={SANITIZE}",
        ]
        for cmd in (configure, ["cmake", "--build", str(build), "-j2"]):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        built = sorted(build.glob("_core*.so"))
        assert built, "the sanitizer build made no _core extension"
        tmp = out / f"{built[0].name}.{os.getpid()}"
        shutil.copy2(built[0], tmp)
        os.replace(tmp, out / built[0].name)  # whole, even with another session building too
        shutil.rmtree(build)
        found = sorted(out.glob("_core*.so"))
    return found[0], preload


def _env(core: Path, preload: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "LD_PRELOAD": preload,
            "TINYOPS_CORE": str(core),
            # Python itself leaks by design; what matters here is reads and writes.
            "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:print_summary=1",
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
        }
    )
    return env


def run_sanitized(
    core: Path, preload: str, pytest_args: list[str], cwd: Path, timeout: float = 900
) -> subprocess.CompletedProcess:
    """pytest on the instrumented engine. --capture=sys: a sanitizer writes its
    report to file descriptor 2 and ends the process, so pytest must not hold
    that descriptor's output back."""
    cmd = [
        sys.executable,
        "-P",
        "-c",
        _CHILD,
        "-q",
        "-x",
        "--capture=sys",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(ROOT),
        "-c",
        str(ROOT / "pyproject.toml"),
        *pytest_args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(core, preload), cwd=cwd, timeout=timeout)


def test_engine_tests_pass_under_asan_and_ubsan(sanitized_core, tmp_path):
    core, preload = sanitized_core
    proc = run_sanitized(core, preload, [str(ROOT / t) for t in SUBSET], tmp_path)
    output = proc.stdout + proc.stderr
    report = sanitizer_report(output)
    assert report is None, report
    assert proc.returncode == 0, output[-4000:]
    assert " passed" in proc.stdout.strip().splitlines()[-1], output[-2000:]


def test_mutated_models_and_plans_under_asan_and_ubsan(sanitized_core, tmp_path):
    """The fuzz run's workers on the instrumented engine: a memory error while
    loading or running an accepted corrupt plan ends a worker (a crash)."""
    core, preload = sanitized_core
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "fuzz_long.py"),
            "--cases",
            str(FUZZ_CASES),
            "--seed",
            "11",
            "--save",
            str(tmp_path / "saved"),
        ],
        capture_output=True,
        text=True,
        env=_env(core, preload),
        cwd=tmp_path,
        timeout=900,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "crashes: 0  hangs: 0" in proc.stdout, proc.stdout[-4000:]


_BUGS = textwrap.dedent("""
    #include <stdlib.h>
    int read_past_end(int n) {            /* heap-buffer-overflow */
      volatile int* p = (volatile int*)malloc(n * sizeof(int));
      int v = p[n];
      free((void*)p);
      return v;
    }
    int shift_too_far(int x, int s) { return x << s; }   /* UB for s >= 32 */
""")


@pytest.mark.parametrize(
    "call,expect",
    [("read_past_end(8)", "heap-buffer-overflow"), ("shift_too_far(1, 40)", "runtime error: shift exponent")],
)
def test_sanitized_runs_fail_on_a_planted_bug(sanitized_core, tmp_path, call, expect):
    """The same set-up fails the run when instrumented code misbehaves: a
    library built with the engine's sanitizer flags, called from a test in the
    child pytest."""
    core, preload = sanitized_core
    lib = tmp_path / "libbugs.so"
    proc = subprocess.run(
        [
            "g++",
            "-shared",
            "-fPIC",
            "-O1",
            f"-fsanitize={SANITIZE}",
            "-fno-sanitize-recover=all",
            "-x",
            "c",
            "-",
            "-o",
            str(lib),
        ],
        input=_BUGS,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    test = tmp_path / "test_planted.py"
    test.write_text(
        textwrap.dedent(f"""
        import ctypes
        def test_planted():
            ctypes.CDLL({str(lib)!r}).{call}
    """)
    )
    proc = run_sanitized(core, preload, [str(test)], tmp_path, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    report = sanitizer_report(output)
    assert report is not None and expect in report, output[-3000:]
