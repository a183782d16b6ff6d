"""CMSIS-NN kernel costs on Cortex-M4 / Cortex-M7, measured in QEMU, fitted per kernel class.

    python benchmarks/refkernel_costs.py measure --cmsis-nn PATH [--cmsis-core PATH]
                                                [--cores cortex-m4 cortex-m7] [--opt -O3]
    python benchmarks/refkernel_costs.py fit
    python benchmarks/refkernel_costs.py selftest

`measure` builds, out of tree (in --build-dir, default a temporary folder),
one bare-metal semihosted program per core from the user's CMSIS-NN checkout
(never downloaded, never copied into this repository) and our own driver
(benchmarks/refkernels/: bench_main.c + cmsis_calls.c), runs it under QEMU
(mps2-an386 = Cortex-M4F, mps2-an500 = Cortex-M7) and records, per kernel
call, the guest count between the two marker calls that bracket it: cycles
of the project's QEMU cycle model (`tinyops cycles`) when it is available,
else executed instructions (the project's TCG plugin). The shapes
(SHAPES below) are layers of MobileNetV2/V3, MCUNet, ProxylessNAS and
MNASNet at 80-224 px, each at a few sizes; all tensors live in the data RAM
at 0x20000000 (the boards' internal SRAM). The calls are the ones TFLM's
CMSIS-NN port makes for int8 models: the conv / depthwise wrappers (whose
choice of kernel is recorded through link-time trampolines), the fully
connected, elementwise add / mul and average pool kernels. CMSIS-NN at HEAD
needs only its own headers; versions up to 2022 need CMSIS-Core's
cmsis_compiler.h (--cmsis-core: a CMSIS_5 or CMSIS_6 checkout).
Rows go to benchmarks/data/refkernel_measurements.csv (committed).

`fit` fits, per core and kernel class, non-negative coefficients of

    count = a * MACs + b * output elements + c * input elements + d per call

(relative least squares: each row weighted by 1 / count, so small layers
count as much as large ones), prints each shape's fit error and writes
tinyops_tflm/data/refkernel_costs.json. MACs, output and input elements are
counted as tinyops_tflm.frontend.metrics.op_macs / tinyops_tflm.planning.latency.op_features do
(ADD / MUL: MACs = output elements; input elements = non-constant inputs).

`selftest` builds and runs the driver with a stub kernel layer of our own
(benchmarks/refkernels/stub_calls.c), no CMSIS-NN, and fits it: what the test
suite runs.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = HERE / "refkernels"
MEASUREMENTS = HERE / "data" / "refkernel_measurements.csv"
TABLE = ROOT / "tinyops_tflm" / "data" / "refkernel_costs.json"

CLASSES = (
    "conv_1x1",
    "conv_kxk",
    "conv_stem",
    "depthwise_3x3",
    "depthwise_large",
    "fully_connected",
    "add",
    "mul",
    "average_pool_2d",
)
FEATURES = ("macs", "out_elems", "in_elems", "calls", "odd_pixel_weights")
# Features fitted per class where some are proportional to others (the split
# between them would be arbitrary): elementwise ops have MACs = outputs =
# inputs / 2; 3x3 depthwise and the 3x3 RGB stems have MACs = 9 (27) x
# outputs, so their per-output cost is folded into the per-MAC one; pools
# have no per-input term beside their window taps (MACs).
# The GEMMs behind 1x1 conv and FC take output pixels two at a time; an odd
# pixel count sends one pixel down a slower leftover loop over every weight:
# odd_pixel_weights = weight elements when the call's pixel count is odd
# (tinyops_tflm.planning.latency.op_features computes the same).
CLASS_FEATURES = {
    "conv_1x1": ("macs", "out_elems", "in_elems", "calls", "odd_pixel_weights"),
    "fully_connected": ("macs", "out_elems", "in_elems", "calls", "odd_pixel_weights"),
    "default": ("macs", "out_elems", "in_elems", "calls"),
    "add": ("out_elems", "calls"),
    "mul": ("out_elems", "calls"),
    "depthwise_3x3": ("macs", "in_elems", "calls"),
    "conv_stem": ("macs", "in_elems", "calls"),
    "average_pool_2d": ("macs", "out_elems", "calls"),
}

# The kernels whose use the trampolines record (bit i of the mask = KERNELS[i]).
KERNELS = (
    "arm_convolve_1x1_s8_fast",
    "arm_convolve_1x1_s8",
    "arm_convolve_1_x_n_s8",
    "arm_convolve_s8",
    "arm_depthwise_conv_3x3_s8",
    "arm_depthwise_conv_s8_opt",
    "arm_depthwise_conv_s8",
    "arm_fully_connected_s8",
    "arm_elementwise_add_s8",
    "arm_elementwise_mul_s8",
    "arm_avgpool_s8",
    "stub_fc_s8",
    "stub_add_s8",
)
# CMSIS-NN source folders the s8 kernels above need.
LIB_DIRS = (
    "ConvolutionFunctions",
    "FullyConnectedFunctions",
    "BasicMathFunctions",
    "PoolingFunctions",
    "NNSupportFunctions",
)


@dataclass(frozen=True)
class Core:
    name: str
    machine: str  # QEMU machine
    board: str  # the project's board with this core (tinyops cycles --board)
    flags: tuple[str, ...]
    data: tuple[int, int]  # (origin, length): arena, quantization arrays, .data
    stack: tuple[int, int]  # (origin, length)


# Flags as the ports (ports/*/toolchain.cmake: the STM32F746's FPU is single
# precision). Memory as the boards' internal SRAM (and the ports' QEMU variants,
# ports/README.md): F469 SRAM1-3 at 0x20000000, zero wait; F746 SRAM1+2 at
# 0x20010000 (behind the D-cache) with the stack in DTCM, as TFLM's arena and
# stack would be on the board. Code at 0 = the internal flash.
CORES = {
    "cortex-m4": Core(
        "cortex-m4",
        "mps2-an386",
        "stm32f469",
        ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
        (0x2000_0000, 304 << 10),
        (0x2004_C000, 16 << 10),
    ),
    "cortex-m7": Core(
        "cortex-m7",
        "mps2-an500",
        "stm32f746",
        ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"),
        (0x2001_0000, 256 << 10),
        (0x2000_0000, 16 << 10),
    ),
}

KIND = {"conv": 0, "dw": 1, "fc": 2, "add": 3, "mul": 4, "avgpool": 5}
# Largest working set (tensors + scratch) of one shape: fits the data region
# of both cores (F746 SRAM1+2: 256 KB) beside the quantization arrays.
WORKSET_LIMIT = 232 * 1024


class HarnessError(RuntimeError):
    """The harness could not build, run or parse a measurement."""


# -- shapes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    cls: str
    kind: str
    ih: int
    iw: int
    ic: int
    oc: int
    kh: int = 1
    kw: int = 1
    stride: int = 1

    @property
    def oh(self) -> int:
        if self.kind in ("fc", "add", "mul"):
            return self.ih
        if self.kind == "avgpool":  # VALID window (global pool when kh = ih)
            return (self.ih - self.kh) // self.stride + 1
        return -(-self.ih // self.stride)  # TF 'SAME'

    @property
    def ow(self) -> int:
        if self.kind in ("fc", "add", "mul"):
            return self.iw
        if self.kind == "avgpool":
            return (self.iw - self.kw) // self.stride + 1
        return -(-self.iw // self.stride)

    def _pad(self, size: int, out: int, k: int) -> int:
        # TFLM's padding for 'SAME': the smaller half goes before.
        if self.kind not in ("conv", "dw"):
            return 0
        return max((out - 1) * self.stride + k - size, 0) // 2

    @property
    def ph(self) -> int:
        return self._pad(self.ih, self.oh, self.kh)

    @property
    def pw(self) -> int:
        return self._pad(self.iw, self.ow, self.kw)

    @property
    def out_elems(self) -> int:
        if self.kind == "fc":
            return self.oc
        return self.oh * self.ow * self.oc

    @property
    def in_elems(self) -> int:
        n = self.ih * self.iw * self.ic if self.kind != "fc" else self.ic
        return 2 * n if self.kind in ("add", "mul") else n

    @property
    def macs(self) -> int:
        if self.kind == "conv":
            return self.out_elems * self.kh * self.kw * self.ic
        if self.kind in ("dw", "avgpool"):
            return self.out_elems * self.kh * self.kw
        if self.kind == "fc":
            return self.ic * self.oc
        return self.out_elems  # add / mul, as metrics.op_macs

    def workset(self) -> int:
        """Bytes of tensors + an upper bound of the scratch the kernels ask for."""
        a = lambda n: (n + 31) // 32 * 32  # noqa: E731 - the driver's alignment
        n_in = self.ih * self.iw * self.ic if self.kind != "fc" else self.ic
        if self.kind == "conv":
            w, scratch = self.oc * self.kh * self.kw * self.ic, 4 * self.kh * self.kw * self.ic
        elif self.kind == "dw":
            w, scratch = self.kh * self.kw * self.ic, 2 * (self.kh * self.kw + 1) * self.ic + 64
        elif self.kind == "fc":
            w, scratch = self.ic * self.oc, 0
        elif self.kind == "avgpool":
            w, scratch = 0, 4 * self.ic * max(self.ow, 1)
        else:
            w, scratch = 0, 0
        bias = 4 * self.oc if self.kind in ("conv", "dw", "fc") else 0
        in2 = n_in if self.kind in ("add", "mul") else 0
        return a(n_in) + a(in2) + a(w) + a(bias) + a(self.out_elems) + a(scratch)

    def label(self) -> str:
        if self.kind == "fc":
            return f"fc {self.ic}->{self.oc}"
        if self.kind in ("add", "mul"):
            return f"{self.kind} {self.ih}x{self.iw}x{self.ic}"
        k = f"{self.kh}x{self.kw}"
        return f"{self.kind} {k} s{self.stride} {self.ih}x{self.iw}x{self.ic}->{self.oc}"


def _fitting_sizes(make, sizes, keep: int = 3) -> list[Shape]:
    """The `keep` largest square sizes whose working set fits, spread out."""
    fits = [make(s) for s in sizes if make(s).workset() <= WORKSET_LIMIT]
    if len(fits) <= keep:
        return fits
    step = (len(fits) - 1) / (keep - 1)
    return [fits[round(i * step)] for i in range(keep)]


def shapes() -> list[Shape]:
    """Layers of MobileNetV2/V3, MCUNet, ProxylessNAS and MNASNet at 80-224 px."""
    out: list[Shape] = []
    sizes = (56, 40, 28, 20, 14, 10, 7, 5, 3)
    # Pointwise expand / project pairs of the inverted-residual blocks.
    pw = [
        (8, 16),
        (16, 8),
        (16, 48),
        (16, 96),
        (24, 72),
        (24, 144),
        (32, 16),
        (32, 192),
        (40, 120),
        (40, 240),
        (48, 144),
        (48, 24),
        (64, 384),
        (72, 40),
        (80, 480),
        (96, 576),
        (112, 672),
        (144, 24),
        (160, 960),
        (192, 32),
        (240, 40),
        (240, 80),
        (384, 64),
        (480, 80),
        (480, 112),
        (576, 96),
        (672, 112),
        (960, 160),
        (160, 640),
    ]
    for ic, oc in pw:
        out += _fitting_sizes(lambda s, ic=ic, oc=oc: Shape("conv_1x1", "conv", s, s, ic, oc), sizes)
    # Strided 1x1 (arm_convolve_1x1_s8): rare in these families.
    out += [Shape("conv_1x1", "conv", 28, 28, 32, 64, stride=2), Shape("conv_1x1", "conv", 14, 14, 96, 160, stride=2)]
    # Full 3x3 convolutions past the stem (MCUNet / ProxylessNAS / MbV2 heads).
    for ic, oc, s in [(8, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (24, 48, 2), (32, 64, 1), (64, 64, 1)]:
        out += _fitting_sizes(lambda n, ic=ic, oc=oc, s=s: Shape("conv_kxk", "conv", n, n, ic, oc, 3, 3, s), sizes[:-1])
    # Stems: 3x3 s2 on RGB, a band of rows of an 80-224 px image.
    for iw in (80, 128, 160, 224):
        for oc in (8, 16, 24, 32, 40):
            for ih in (8, 32):
                if (iw, ih) == (80, 8) or (oc in (8, 40) and ih == 32):
                    continue
                s = Shape("conv_stem", "conv", ih, iw, 3, oc, 3, 3, 2)
                if s.workset() <= WORKSET_LIMIT:
                    out.append(s)
    # Depthwise 3x3, strides 1 / 2.
    for c in (16, 32, 48, 64, 96, 144, 192, 240, 288, 384, 480, 576, 672, 960):
        for st in (1, 2):
            out += _fitting_sizes(
                lambda n, c=c, st=st: Shape("depthwise_3x3", "dw", n, n, c, c, 3, 3, st),
                sizes[:-1],
                keep=2 if st == 2 else 3,
            )
    # Depthwise 5x5 / 7x7 (MbV3, MCUNet, ProxylessNAS, MNASNet).
    for k in (5, 7):
        for c in (24, 40, 72, 96, 120, 144, 240, 480, 576, 672, 960):
            for st in (1, 2):
                if st == 2 and c in (40, 120, 480, 960):
                    continue
                out += _fitting_sizes(
                    lambda n, c=c, st=st, k=k: Shape("depthwise_large", "dw", n, n, c, c, k, k, st), sizes[:-1], keep=2
                )
    # Classifiers (weights limited to the SRAM working set: the slope is per MAC).
    for ic, oc in [
        (64, 64),
        (128, 1000),
        (256, 512),
        (576, 256),
        (960, 160),
        (1024, 128),
        (1280, 100),
        (1280, 16),
        (1280, 1),
    ]:
        out.append(Shape("fully_connected", "fc", 1, 1, ic, oc))
    # Residual adds and same-shape multiplies.
    for kind, cls in (("add", "add"), ("mul", "mul")):
        for h, c in [(56, 24), (28, 32), (28, 40), (14, 80), (14, 112), (7, 160), (7, 960), (40, 16), (5, 8), (1, 1)]:
            out.append(Shape(cls, kind, h, h, c, c))
    # Global average pools (the head) and one windowed pool.
    for h, c in [(7, 960), (5, 960), (4, 576), (7, 1280), (3, 1280), (10, 320), (2, 1280), (6, 480), (7, 32)]:
        out.append(Shape("average_pool_2d", "avgpool", h, h, c, c, h, h, 1))
    out.append(Shape("average_pool_2d", "avgpool", 14, 14, 64, 64, 2, 2, 2))
    for s in out:
        if s.workset() > WORKSET_LIMIT:
            raise HarnessError(f"{s.label()}: working set {s.workset()} B > {WORKSET_LIMIT} B")
    return out


def selftest_shapes() -> list[Shape]:
    """Tiny shapes of the stub kernel layer (fully connected + add)."""
    return [Shape("fully_connected", "fc", 1, 1, d, u) for d, u in [(16, 4), (32, 8), (64, 8), (64, 16)]] + [
        Shape("add", "add", 1, 1, n, n) for n in (16, 64, 256)
    ]


# -- build --------------------------------------------------------------------------


@dataclass
class Toolchain:
    gcc: str
    ar: str
    nm: str
    version: str


def toolchain() -> Toolchain:
    found = {t: shutil.which(f"arm-none-eabi-{t}") for t in ("gcc", "ar", "nm")}
    missing = [f"arm-none-eabi-{k}" for k, v in found.items() if v is None]
    if missing or shutil.which("qemu-system-arm") is None:
        missing += [] if shutil.which("qemu-system-arm") else ["qemu-system-arm"]
        raise HarnessError(
            f"needs {', '.join(missing)} on PATH (Debian: apt-get install "
            "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"
        )
    ver = subprocess.run([found["gcc"], "--version"], capture_output=True, text=True).stdout
    return Toolchain(found["gcc"], found["ar"], found["nm"], ver.splitlines()[0].strip())


def _run(cmd: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if p.returncode != 0:
        tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-30:])
        raise HarnessError(f"{what} failed (exit {p.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return p


def _compile_jobs(cmds: list[list[str]], jobs: int) -> list[tuple[list[str], str]]:
    """Runs compile commands, `jobs` at a time; returns the failed ones with their errors."""
    failed = []
    pending = list(cmds)
    running: list[tuple[list[str], subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < jobs:
            c = pending.pop(0)
            running.append((c, subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        c, p = running.pop(0)
        out, _ = p.communicate()
        if p.returncode != 0:
            failed.append((c, out))
    return failed


def include_dirs(cmsis_nn: Path, cmsis_core: Path | None, cmsis_dsp: Path | None) -> list[str]:
    """-I options: CMSIS-NN's headers, and for versions up to 2022 CMSIS-Core's
    cmsis_compiler.h and CMSIS-DSP's arm_math_types.h."""
    inc = [f"-I{cmsis_nn / 'Include'}"]
    for opt, root, header, subs in (
        ("--cmsis-core", cmsis_core, "cmsis_compiler.h", ("CMSIS/Core/Include", "Core/Include", "Include")),
        ("--cmsis-dsp", cmsis_dsp, "arm_math_types.h", ("Include", "CMSIS/DSP/Include")),
    ):
        if root is None:
            continue
        for sub in subs:
            if (root / sub / header).is_file():
                inc.append(f"-I{root / sub}")
                break
        else:
            raise HarnessError(f"{opt} {root}: no {header} under {', '.join(subs)}")
    return inc


def build_library(
    cmsis_nn: Path, inc: list[str], core: Core, opt: str, out: Path, tc: Toolchain, jobs: int = 2
) -> tuple[Path, list[str]]:
    """CMSIS-NN's s8 sources compiled for `core` into a static library in
    `out`; returns it and the sources that did not compile (legacy q7/u8
    files of old versions may not; a kernel the harness needs is then
    reported missing at link time)."""
    objdir = out / "obj"
    objdir.mkdir(parents=True, exist_ok=True)
    cmds, objs = [], []
    for d in LIB_DIRS:
        folder = cmsis_nn / "Source" / d
        if not folder.is_dir():
            raise HarnessError(f"--cmsis-nn {cmsis_nn}: no Source/{d} (not a CMSIS-NN checkout?)")
        for src in sorted(folder.glob("*.c")):
            if re.search(r"_f(16|32)\.c$", src.name):
                continue  # float kernels: not used by int8 models
            obj = objdir / f"{d}__{src.stem}.o"
            objs.append(obj)
            cmds.append(
                [
                    tc.gcc,
                    *core.flags,
                    opt,
                    "-c",
                    "-ffunction-sections",
                    "-fdata-sections",
                    *inc,
                    str(src),
                    "-o",
                    str(obj),
                ]
            )
    failed = _compile_jobs(cmds, jobs)
    bad = {c[-1] for c, _ in failed}
    lib = out / "libcmsisnn.a"
    lib.unlink(missing_ok=True)
    _run([tc.ar, "rcs", lib, *[o for o in objs if str(o) not in bad]], "archiving CMSIS-NN")
    return lib, [Path(c[-3]).name for c, _ in failed]


def defined_symbols(tc: Toolchain, objects: list[Path]) -> set[str]:
    out = _run([tc.nm, "-g", "--defined-only", *objects], "listing symbols").stdout
    return {ln.split()[-1] for ln in out.splitlines() if len(ln.split()) == 3}


def trampolines(kernels: list[str]) -> str:
    """Thumb-2 link-time wrappers (-Wl,--wrap=K): set bit i of g_bench_kernels,
    then tail-call the real kernel with r0-r3 and the stack untouched."""
    lines = ["  .syntax unified", "  .thumb", "  .text"]
    for i, k in enumerate(KERNELS):
        if k not in kernels:
            continue
        lines += [
            f"  .global __wrap_{k}",
            f"  .type __wrap_{k}, %function",
            "  .thumb_func",
            f"__wrap_{k}:",
            "  push {r0, r1}",
            "  ldr r0, =g_bench_kernels",
            "  ldr r1, [r0]",
            f"  orr r1, r1, #{1 << i}",
            "  str r1, [r0]",
            "  pop {r0, r1}",
            f"  b.w __real_{k}",
            "  .ltorg",
        ]
    return "\n".join(lines) + "\n"


def shapes_header(shape_list: list[Shape]) -> str:
    arena = max(s.workset() for s in shape_list) + 1024
    max_ch = max(max(s.ic, s.oc) for s in shape_list)
    rows = []
    for s in shape_list:
        rows.append(
            f"  {{{KIND[s.kind]}, {s.kh}, {s.kw}, {s.stride}, {s.stride}, {s.ph}, {s.pw}, 0, "
            f"{s.ih}, {s.iw}, {s.ic}, {s.oh}, {s.ow}, {s.oc}}}, /* {s.label()} */"
        )
    return (
        '/* generated by benchmarks/refkernel_costs.py */\n#include "bench.h"\n'
        f"#define BENCH_NUM_SHAPES {len(shape_list)}u\n#define BENCH_ARENA_BYTES {arena}u\n"
        f"#define BENCH_MAX_CH {max_ch}u\n"
        "static const bench_shape g_shapes[BENCH_NUM_SHAPES] = {\n" + "\n".join(rows) + "\n};\n"
    )


def linker_script(core: Core) -> str:
    """Code at 0 (QEMU code RAM = the board's flash); data and stack in the
    core's internal SRAM regions (Core.data / Core.stack)."""
    (d0, dn), (s0, sn) = core.data, core.stack
    return f"""/* generated by benchmarks/refkernel_costs.py for {core.name} */
MEMORY {{
  FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 1M
  RAM (rwx)  : ORIGIN = {d0:#x}, LENGTH = {dn}
  STACK (rw) : ORIGIN = {s0:#x}, LENGTH = {sn}
}}
ENTRY(bench_reset)
SECTIONS {{
  .text : {{ KEEP(*(.vectors)) *(.text*) *(.rodata*) . = ALIGN(4); }} > FLASH
  .ARM.exidx : {{ *(.ARM.exidx*) }} > FLASH
  __data_load = LOADADDR(.data);
  .data : {{ __data_start = .; *(.data*) . = ALIGN(4); __data_end = .; }} > RAM AT > FLASH
  .bss (NOLOAD) : {{ __bss_start = .; *(.bss*) *(COMMON) . = ALIGN(4); __bss_end = .; }} > RAM
  .stack (NOLOAD) : {{ . = ALIGN(8); . += {sn}; __stack_top = .; }} > STACK
}}
"""


def build_program(
    core: Core,
    shape_list: list[Shape],
    build: Path,
    tc: Toolchain,
    opt: str,
    layer: list[Path],
    includes: list[str],
    libs: list[Path],
) -> Path:
    """Links driver + kernel layer (+ libraries) into build/bench.elf."""
    build.mkdir(parents=True, exist_ok=True)
    (build / "bench_shapes.h").write_text(shapes_header(shape_list))
    (build / "link.ld").write_text(linker_script(core))
    common = [
        tc.gcc,
        *core.flags,
        opt,
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-ffunction-sections",
        f"-I{SRC}",
        f"-I{build}",
        *includes,
    ]
    objs = []
    for src in [SRC / "bench_main.c", *layer]:
        obj = build / f"{src.stem}.o"
        _run([*common, "-c", src, "-o", obj], f"compiling {src.name}")
        objs.append(obj)
    present = defined_symbols(tc, [*objs, *libs])
    wrapped = [k for k in KERNELS if k in present]
    (build / "trampolines.S").write_text(trampolines(wrapped))
    _run(
        [tc.gcc, *core.flags, "-c", build / "trampolines.S", "-o", build / "trampolines.o"],
        "assembling the trampolines",
    )
    elf = build / "bench.elf"
    _run(
        [
            tc.gcc,
            *core.flags,
            "-nostartfiles",
            "--specs=nano.specs",
            f"-T{build / 'link.ld'}",
            "-Wl,--gc-sections",
            *[f"-Wl,--wrap={k}" for k in wrapped],
            *objs,
            build / "trampolines.o",
            *libs,
            "-lc",
            "-lgcc",
            "-o",
            elf,
        ],
        f"linking {elf.name}",
    )
    return elf


# -- run ------------------------------------------------------------------------------

_SHAPE_RE = re.compile(r"^shape (\d+) status=(-?\d+) kernels=([0-9a-f]+)$")


@dataclass
class Measured:
    counts: list[int]  # per shape, baseline subtracted
    kernels: list[list[str]]  # per shape, the trampolined kernels that ran
    counter: str  # "cycles" | "instructions"
    model: str  # what produced the counts
    extra: list[dict] = field(default_factory=list)  # per shape, the other counters


def _use_checkout() -> None:
    """Puts this checkout's package first on sys.path when it can run here (its
    engine built beside it, or TINYOPS_CORE); otherwise the installed package
    (the same checkout, installed) serves."""
    if os.environ.get("TINYOPS_CORE") or any((ROOT / "tinyops_tflm").glob("_core*")):
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))


def _cycle_model():
    """tinyops_tflm.firmware.cycles.run_cycles of this checkout, or None before the
    cycle model exists there."""
    _use_checkout()
    try:
        from tinyops_tflm.firmware.cycles import run_cycles
    except ImportError:
        return None
    return run_cycles


def _parse_console(log: str, n: int) -> list[int]:
    """Kernel masks per shape; raises on a missing shape or a failed call."""
    status, masks = [None] * n, [0] * n
    for line in log.splitlines():
        m = _SHAPE_RE.match(line.strip())
        if m and 0 <= int(m.group(1)) < n:
            status[int(m.group(1))], masks[int(m.group(1))] = int(m.group(2)), int(m.group(3), 16)
    if any(s is None for s in status):
        raise HarnessError("the program did not report every shape:\n" + log[-2000:])
    bad = [i for i, s in enumerate(status) if s != 0]
    if bad:
        raise HarnessError(f"kernel calls failed (non-zero status) for shapes {bad}")
    return masks


def _deltas(marks: list, n: int, key: str) -> list[int]:
    """Per shape, counter `key` between its two markers minus the baseline pair
    (marks are ints, or dicts of counters from the cycle model)."""
    if len(marks) != 2 + 2 * n:
        raise HarnessError(f"{len(marks)} marker hits, expected {2 + 2 * n}")
    val = [m[key] if isinstance(m, dict) else m for m in marks]
    base = val[1] - val[0]
    return [val[3 + 2 * i] - val[2 + 2 * i] - base for i in range(n)]


def run_program(elf: Path, core: Core, n: int, counter: str = "auto") -> Measured:
    """Runs the program under QEMU; per-shape counts between its markers:
    cycles of the project's cycle model when the checkout has one (or
    counter="cycles"), else executed instructions."""
    _use_checkout()
    run_cycles = _cycle_model() if counter in ("auto", "cycles") else None
    if counter == "cycles" and run_cycles is None:
        raise HarnessError("this checkout has no cycle model (tinyops_tflm.firmware.cycles)")
    if run_cycles is not None:
        try:
            r = run_cycles(elf, core.board, timeout=3600)
        except Exception as err:  # noqa: BLE001 - the project's CycleError, reported
            raise HarnessError(f"{elf.name} under the cycle model: {err}") from None
        masks = _parse_console(r.log, n)
        # Instructions and stall cycles by cause beside the cycles (no DMA here).
        keys = [k for k in r.marks[0] if k == "insns" or k.startswith("stall_")] if r.marks else []
        cols = {k: _deltas(r.marks, n, k) for k in keys}
        extra = [{k: cols[k][i] for k in keys} for i in range(n)]
        return Measured(
            _deltas(r.marks, n, "cycles"),
            [_kernel_names(m) for m in masks],
            "cycles",
            f"tinyops cycles --board {core.board} (QEMU cycle model, modelled)",
            extra,
        )
    from tinyops_tflm.firmware import emulate

    plugin = emulate.build_plugin()
    if plugin is None:
        raise HarnessError("no host C compiler to build the QEMU instruction-count plugin")
    r = emulate.run_firmware(elf, core.machine, plugin=plugin, timeout=3600)
    if r.exit_code != 0:
        raise HarnessError(f"{elf.name} exited with {r.exit_code}:\n{r.log[-3000:]}")
    masks = _parse_console(r.log, n)
    return Measured(
        _deltas(r.marks, n, "insns"),
        [_kernel_names(m) for m in masks],
        "instructions",
        "QEMU TCG plugin ports/common/qemu_plugin (executed guest instructions)",
    )


def _kernel_names(mask: int) -> list[str]:
    return [k for i, k in enumerate(KERNELS) if mask >> i & 1]


# -- fit -------------------------------------------------------------------------------


def fit_class(rows: list[dict], feats: tuple[str, ...]) -> tuple[dict[str, float], list[float]]:
    """Coefficients of `feats` (relative NNLS) and each row's error in percent."""
    a = np.array([[float(r.get(f) or 0.0) for f in feats] for r in rows])
    y = np.array([float(r["count"]) for r in rows])
    wgt = 1.0 / np.maximum(y, 1.0)
    # Columns scaled to unit norm for conditioning; unscaled afterwards.
    aw = a * wgt[:, None]
    scale = np.linalg.norm(aw, axis=0)
    scale[scale == 0] = 1.0
    from tinyops_tflm.planning.fitting import nnls

    x = nnls(aw / scale, y * wgt) / scale
    pred = a @ x
    err = list(100.0 * (pred - y) / y)
    coef = {f: 0.0 for f in FEATURES}
    coef.update({f: float(v) for f, v in zip(feats, x)})
    return coef, err


def read_rows(path: Path = MEASUREMENTS) -> list[dict]:
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["odd_pixel_weights"] = odd_pixel_weights(r)
    return rows


def odd_pixel_weights(r: dict) -> float:
    """Weight elements of a 1x1 conv / FC call with an odd output pixel count."""
    if r["class"] not in ("conv_1x1", "fully_connected"):
        return 0.0
    pixels = int(r["oh"] or 1) * int(r["ow"] or 1) if r["class"] == "conv_1x1" else 1
    return float(int(r["ic"]) * int(r["oc"])) if pixels % 2 else 0.0


def fit_table(rows: list[dict], classes=CLASSES) -> tuple[dict, dict]:
    """Per core: {class: coefficients} (+ 'default' fitted on every row), and
    per core/class the fit statistics and per-shape errors."""
    cores: dict[str, dict] = {}
    stats: dict[str, dict] = {}
    for core in sorted({r["core"] for r in rows}):
        crow = [r for r in rows if r["core"] == core]
        cores[core], stats[core] = {}, {}
        for cls in [*classes, "default"]:
            sel = crow if cls == "default" else [r for r in crow if r["class"] == cls]
            if not sel:
                continue
            coef, err = fit_class(sel, CLASS_FEATURES.get(cls, FEATURES))
            cores[core][cls] = {k: round(v, 6) for k, v in coef.items()}
            e = np.abs(err)
            stats[core][cls] = {
                "shapes": len(sel),
                "mean_abs_err_pct": round(float(e.mean()), 2),
                "max_abs_err_pct": round(float(e.max()), 2),
                "per_shape": [
                    (r["shape"], r.get("kernel", ""), int(r["count"]), round(v, 2)) for r, v in zip(sel, err)
                ],
            }
    return cores, stats


# -- commands ------------------------------------------------------------------------------


def _git_commit(path: Path) -> str:
    p = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else "unknown"


def _model_commit() -> str:
    """The last commit of this checkout that changed the cycle model (its version)."""
    p = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "log",
            "-1",
            "--format=%h",
            "--",
            "ports/common/qemu_plugin",
            "tinyops_tflm/planning/board_timing.py",
            "tinyops_tflm/firmware/cycles.py",
            "tinyops_tflm/firmware/emulate.py",
        ],
        capture_output=True,
        text=True,
    )
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else "unknown"


def _write_rows(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, restval="")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def measure(args) -> int:
    cmsis_nn = Path(args.cmsis_nn).resolve()
    if not (cmsis_nn / "Include" / "arm_nnfunctions.h").is_file():
        raise HarnessError(f"--cmsis-nn {cmsis_nn}: no Include/arm_nnfunctions.h")
    inc = include_dirs(
        cmsis_nn,
        Path(args.cmsis_core).resolve() if args.cmsis_core else None,
        Path(args.cmsis_dsp).resolve() if args.cmsis_dsp else None,
    )
    tc = toolchain()
    commit = args.commit or _git_commit(cmsis_nn)
    project = _model_commit()
    label = args.label or f"cmsis-nn-{commit[:8]}"
    build_root = Path(args.build_dir or tempfile.mkdtemp(prefix="cmsis-nn-costs-"))
    shape_list = shapes()
    if args.limit:
        shape_list = shape_list[: args.limit]
    new = []
    for name in args.cores:
        core = CORES[name]
        build = build_root / name
        print(f"{name}: building CMSIS-NN {label} ({commit[:12]}) {args.opt} ...", flush=True)
        lib, failed = build_library(cmsis_nn, inc, core, args.opt, build, tc, args.jobs)
        if failed:
            print(
                f"  {len(failed)} sources did not compile (unused legacy kernels?): "
                + ", ".join(failed[:8])
                + (" ..." if len(failed) > 8 else "")
            )
        elf = build_program(core, shape_list, build, tc, args.opt, [SRC / "cmsis_calls.c"], inc, [lib])
        print(f"  running {len(shape_list)} kernel calls on {core.machine} ...", flush=True)
        m = run_program(elf, core, len(shape_list), args.counter)
        for s, c, ks, ex in zip(shape_list, m.counts, m.kernels, m.extra or [{}] * len(shape_list)):
            new.append(
                {
                    "variant": label,
                    "cmsis_nn_commit": commit,
                    "cmsis_nn_date": args.date or "",
                    "core": name,
                    "opt": args.opt,
                    "compiler": tc.version,
                    "counter": m.counter,
                    "cycle_model_commit": project,
                    "class": s.cls,
                    "kernel": "+".join(ks),
                    "shape": s.label(),
                    "kind": s.kind,
                    "ih": s.ih,
                    "iw": s.iw,
                    "ic": s.ic,
                    "oc": s.oc,
                    "kh": s.kh,
                    "kw": s.kw,
                    "stride": s.stride,
                    "ph": s.ph,
                    "pw": s.pw,
                    "oh": s.oh,
                    "ow": s.ow,
                    "macs": s.macs,
                    "out_elems": s.out_elems,
                    "in_elems": s.in_elems,
                    "calls": 1,
                    "count": c,
                    **ex,
                }
            )
        print(f"  {m.counter}: {sum(m.counts):,} over {len(shape_list)} calls ({m.model})", flush=True)
    # Rows of other variants / cores already in the file are kept.
    out = Path(args.out)
    done = {(r["variant"], r["core"]) for r in new}
    old = [r for r in read_rows(out) if (r["variant"], r["core"]) not in done] if out.is_file() else []
    # Grouped by variant and core (stable: shapes stay in catalogue order).
    _write_rows(out, sorted(old + new, key=lambda r: (r["variant"], r["core"])))
    print(f"wrote {len(new)} rows ({len(old)} kept) to {out}")
    return 0


def _variant_table(rows: list[dict]) -> tuple[dict, dict, dict]:
    cores, stats = fit_table(rows)
    first = rows[0]
    meta = {
        "variant": first["variant"],
        "cmsis_nn_commit": first["cmsis_nn_commit"],
        "cmsis_nn_date": first.get("cmsis_nn_date", ""),
        "compiler": first["compiler"],
        "flags": {c: " ".join([*CORES[c].flags, first["opt"]]) for c in cores},
        "counter": first["counter"],
        "cycle_model_commit": first.get("cycle_model_commit", ""),
        "counter_meaning": (
            "CPU cycles of the project's QEMU cycle model (tinyops cycles; modelled, not measured on a board)"
            if first["counter"] == "cycles"
            else "executed guest instructions (QEMU TCG plugin), not cycles"
        ),
        "memory": "tensors, scratch and stack in internal SRAM (F469 SRAM1-3; F746 SRAM1+2 behind "
        "the D-cache, stack in DTCM), code in internal flash",
        "date": datetime.date.today().isoformat(),
        "measured_by": "benchmarks/refkernel_costs.py measure (QEMU mps2-an386 / mps2-an500)",
        "measurements": "benchmarks/data/refkernel_measurements.csv",
        "fit": "per core and class, non-negative least squares on relative error (rows weighted "
        "by 1/count); 'default' = all rows",
    }
    errors = {
        c: {
            k: {"shapes": s["shapes"], "mean_abs": s["mean_abs_err_pct"], "max_abs": s["max_abs_err_pct"]}
            for k, s in st.items()
        }
        for c, st in stats.items()
    }
    return meta, cores, {"errors": errors, "stats": stats}


def fit(args) -> int:
    rows = read_rows(Path(args.measurements))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    primary = args.primary or variants[0]
    if primary not in variants:
        raise HarnessError(f"--primary {primary}: not in the measurements ({', '.join(variants)})")
    out_variants = {}
    for v in variants:
        meta, cores, fitres = _variant_table([r for r in rows if r["variant"] == v])
        missing = [(c, k) for c in cores for k in CLASSES if k not in cores[c]]
        if missing:
            raise HarnessError(f"{v}: no measurements for {missing}")
        out_variants[v] = {"meta": meta, "cores": cores, "fit_error_pct": fitres["errors"]}
        print(f"\n=== {v}: CMSIS-NN {meta['cmsis_nn_commit'][:12]} {meta['cmsis_nn_date']}, {meta['compiler']}")
        for core, st in fitres["stats"].items():
            print(f"\n{core} ({meta['counter']} per call; fit error = (fit - measured) / measured)")
            print(
                f"  {'class':16s} {'shapes':>6s} {'per MAC':>8s} {'per out':>8s} {'per in':>8s} "
                f"{'per call':>9s} {'mean|err|':>9s} {'max|err|':>9s}"
            )
            for cls, s in st.items():
                c = cores[core][cls]
                print(
                    f"  {cls:16s} {s['shapes']:6d} {c['macs']:8.3f} {c['out_elems']:8.2f} "
                    f"{c['in_elems']:8.2f} {c['calls']:9.0f} {s['mean_abs_err_pct']:8.1f}% "
                    f"{s['max_abs_err_pct']:8.1f}%"
                )
            if args.verbose:
                for cls, s in st.items():
                    for label, kernel, count, err in s["per_shape"]:
                        print(f"    {cls:16s} {label:40s} {kernel:28s} {count:12,d} {err:+7.1f}%")
    table = {
        "version": 1,
        "description": "CMSIS-NN int8 kernel costs per kernel call: count = macs * MACs + "
        "out_elems * output elements + in_elems * input elements + calls, per core "
        "and kernel class (class names as tinyops_tflm.planning.latency.cost_class; MACs as "
        "tinyops_tflm.frontend.metrics.op_macs). Operands in internal SRAM: external-memory "
        "wait states are not included. 'cores' is the primary variant; 'variants' "
        "holds every measured CMSIS-NN version.",
        "primary": primary,
        "meta": out_variants[primary]["meta"],
        "cores": out_variants[primary]["cores"],
        "fit_error_pct": out_variants[primary]["fit_error_pct"],
        "variants": out_variants,
    }
    out = Path(args.out)
    out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"\nwrote {out} (primary: {primary})")
    return 0


def selftest(args) -> int:
    """Stub kernels through the whole pipeline; prints the fit and checks it."""
    tc = toolchain()
    core = CORES[args.core]
    shape_list = selftest_shapes()
    with tempfile.TemporaryDirectory(prefix="cmsis-nn-selftest-") as tmp:
        elf = build_program(
            core, shape_list, Path(tmp), tc, "-O2", [SRC / "stub_calls.c", SRC / "stub_kernels.c"], [], []
        )
        m = run_program(elf, core, len(shape_list), counter="instructions")
    rows = [
        {
            "core": core.name,
            "class": s.cls,
            "shape": s.label(),
            "kernel": "+".join(k),
            "macs": s.macs,
            "out_elems": s.out_elems,
            "in_elems": s.in_elems,
            "calls": 1,
            "count": c,
        }
        for s, c, k in zip(shape_list, m.counts, m.kernels)
    ]
    cores, stats = fit_table(rows, classes=("fully_connected", "add"))
    print(
        json.dumps(
            {
                "rows": rows,
                "coefficients": cores[core.name],
                "max_abs_err_pct": {k: v["max_abs_err_pct"] for k, v in stats[core.name].items()},
            }
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure", help="build and run the kernels under QEMU, write the CSV")
    m.add_argument("--cmsis-nn", required=True, help="a CMSIS-NN checkout (Include/, Source/)")
    m.add_argument("--cmsis-core", help="CMSIS_5 / CMSIS_6 checkout (cmsis_compiler.h; CMSIS-NN <= v4)")
    m.add_argument("--cmsis-dsp", help="CMSIS-DSP checkout (arm_math_types.h; CMSIS-NN of 2021-22)")
    m.add_argument("--commit", help="CMSIS-NN commit to record (default: git rev-parse in --cmsis-nn)")
    m.add_argument("--date", help="the commit's date, recorded (e.g. 2021-12-29)")
    m.add_argument(
        "--label",
        help="variant name (default cmsis-nn-<commit>); rows of the same "
        "variant and core in --out are replaced, others kept",
    )
    m.add_argument("--cores", nargs="+", default=list(CORES), choices=list(CORES))
    m.add_argument("--opt", default="-O3", help="optimization flag (default -O3)")
    m.add_argument("--counter", default="auto", choices=("auto", "cycles", "instructions"))
    m.add_argument("--build-dir", help="out-of-tree build folder (default: a temporary one)")
    m.add_argument("--jobs", type=int, default=2)
    m.add_argument("--limit", type=int, default=0, help="only the first N shapes (debugging)")
    m.add_argument("--out", default=str(MEASUREMENTS))
    f = sub.add_parser("fit", help="fit the CSV, write the cost table")
    f.add_argument("--measurements", default=str(MEASUREMENTS))
    f.add_argument("--out", default=str(TABLE))
    f.add_argument("--primary", help="variant whose table is 'cores' (default: the first in the CSV)")
    f.add_argument("-v", "--verbose", action="store_true", help="print every shape's error")
    s = sub.add_parser("selftest", help="stub kernels through build, QEMU and fit (no CMSIS-NN)")
    s.add_argument("--core", default="cortex-m4", choices=list(CORES))
    args = ap.parse_args(argv)
    try:
        return {"measure": measure, "fit": fit, "selftest": selftest}[args.cmd](args)
    except HarnessError as err:
        print(f"refkernel_costs: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
