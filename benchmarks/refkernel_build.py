"""Building the refkernel_costs.py program, out of tree: CMSIS-NN's s8
sources compiled into a library for one core, the driver
(benchmarks/refkernels/) with the shapes as a generated header, link-time
trampolines that record which kernel each call reached, and a linker script
placing data and stack in the core's internal SRAM."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from refkernel_shapes import KIND, HarnessError, Shape

SRC = Path(__file__).resolve().parent / "refkernels"

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
