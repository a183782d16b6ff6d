"""Firmware ports: export, cross-compilation for both boards, emulated runs
under QEMU compared byte for byte with the host Interpreter.

Needs arm-none-eabi-gcc (+ newlib, libstdc++) and qemu-system-arm; the tests
that need them skip, saying so, when they are missing (CI installs them).
Firmware builds go to one temporary cache per test session, so the engine is
cross-compiled once per board.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support.firmware import arm_tools_missing, assert_same_as_host, host_outputs, skip_without

from tinyops_tflm.errors import BudgetError
from tinyops_tflm.firmware.export import export_model, model_symbol, source_root
from tinyops_tflm.planning.boards import get_board

BOARDS = ["stm32f469", "stm32f746"]
DEMO = Path(__file__).resolve().parent.parent / "tinyops_tflm" / "data" / "demo_tiny.tflite"
BIG = "mobilenet_v3_large_r160"


needs_tools = skip_without(arm_tools_missing(), "tests/test_firmware.py", "firmware builds and QEMU runs")


@pytest.fixture(scope="session")
def big_model() -> bytes:
    from tinyops_tflm.validation import zoo

    try:
        return zoo.cached(BIG)
    except ImportError as err:  # TensorFlow missing and no cached copy
        pytest.skip(f"{BIG} needs TensorFlow to build: {err}")


# ---------------------------------------------------------------------------
# Export (no toolchain needed)


def test_export_writes_named_aligned_sources(tmp_path):
    r = export_model(DEMO, "stm32f746", "mbv3-w1.00-r160", tmp_path)
    base, sym = model_symbol("mbv3-w1.00-r160")
    assert (base, sym) == ("mbv3-w1.00-r160_int8_1", "mbv3_w1_00_r160_int8_1")
    cc = (tmp_path / "mbv3-w1.00-r160" / f"{base}.cc").read_text()
    h = (tmp_path / "mbv3-w1.00-r160" / f"{base}.h").read_text()
    assert f"extern const tinyops_port::ModelDesc {sym}_model" in h
    assert f"{sym}_model = {{" in cc
    # Every array is 32-byte aligned and in its region's section.
    for path in (tmp_path / "mbv3-w1.00-r160").glob("*.cc"):
        for decl in re.findall(r"^(?:static|extern) .*\[\d+\].*$", path.read_text(), re.M):
            assert "aligned(32)" in decl and 'section(".' in decl, decl
    sections = {r.memory: r.section for r in r.regions}
    assert sections["sram"] == ".bss.tinyops_sram" and sections["flash"] == ".tinyops_flash"
    reg = (tmp_path / "models.cmake").read_text()
    assert f'NAME "mbv3-w1.00-r160" SYMBOL {sym}' in reg and "BOARD stm32f746" in reg
    # Re-exporting replaces the registration instead of adding a second one.
    export_model(DEMO, "stm32f746", "mbv3-w1.00-r160", tmp_path)
    assert (tmp_path / "models.cmake").read_text().count('NAME "mbv3-w1.00-r160"') == 1
    with pytest.raises(ValueError, match="model name"):
        model_symbol("bad name/with slash")


def test_export_unpartitioned_maps_by_fit(tmp_path):
    r = export_model(DEMO, "stm32f469", "demo", tmp_path, partitioned=False)
    assert [(x.kind, x.memory) for x in r.regions] == [("arena", "sram"), ("constant", "flash")]
    # An SRAM budget smaller than the arena sends it to SDRAM.
    r = export_model(DEMO, "stm32f469", "demo", tmp_path, partitioned=False, sram_budget=4096)
    assert r.regions[0].memory == "sdram"


def test_export_refuses_with_numbers(tmp_path, capsys, big_model):
    # 5.5 MB of constants: more than the flash, and more than a 1 MB QSPI.
    with pytest.raises(BudgetError, match=r"qspi: [\d,]+ bytes needed, 1,048,576 available"):
        export_model(big_model, "stm32f746", "mbv3", tmp_path, partitioned=False, qspi_capacity=1 << 20)
    # Planner refusal: an SRAM budget below an op's smallest tile.
    with pytest.raises(BudgetError, match=r"\d+ bytes"):
        export_model(DEMO, "stm32f746", "demo", tmp_path, sram_budget=256)
    from tinyops_tflm.cli.app import main

    assert (
        main(
            [
                "export",
                str(DEMO),
                "--board",
                "stm32f746",
                "--name",
                "demo",
                "--out",
                str(tmp_path),
                "--sram-budget",
                "256",
            ]
        )
        == 2
    )
    assert "bytes" in capsys.readouterr().err


def test_missing_toolchain_is_explained(monkeypatch):
    from tinyops_tflm.firmware import emulate as emu
    from tinyops_tflm.firmware import toolchain

    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    with pytest.raises(emu.ToolchainMissing, match="apt-get install .*gcc-arm-none-eabi"):
        emu.emulate(DEMO.read_bytes(), "stm32f746")


# ---------------------------------------------------------------------------
# Emulated runs


@needs_tools
@pytest.mark.parametrize("board", BOARDS)
def test_emulated_small_model_matches_host(board, fw_cache):
    from tinyops_tflm.firmware.emulate import emulate

    data = DEMO.read_bytes()
    r = emulate(data, board)
    assert_same_as_host(r, host_outputs(data, board), f"demo on {board}")
    # Per-op instruction counts from the TCG plugin.
    from tinyops_tflm.frontend.reader import read_model

    assert [o.name for o in r.ops] == [op.name for op in read_model(data).operators]
    assert all(o.instructions and o.instructions > 0 for o in r.ops)
    assert r.invoke_instructions == sum(o.instructions for o in r.ops)
    assert r.program_instructions > r.invoke_instructions
    print(r.report())


@needs_tools
@pytest.mark.parametrize("board,weights_in", [("stm32f469", "qspi"), ("stm32f746", "sdram")])
def test_emulated_external_memory_model_matches_host(board, weights_in, fw_cache, big_model):
    """Weights beyond flash either stream from QSPI or, copied there from
    QSPI at boot, from SDRAM (the default): one board each."""
    from dataclasses import replace

    from tinyops_tflm.firmware.emulate import emulate
    from tinyops_tflm.planning.boards import get_board

    b = replace(get_board(board), constants_in_sdram=weights_in == "sdram")
    r = emulate(big_model, b)
    used = {(reg.memory, reg.kind) for reg in r.export.regions if reg.nbytes}
    assert ("sdram", "arena") in used, "activations must use external memory"
    assert (weights_in, "constant") in used, f"weights beyond flash must be in {weights_in}"
    other = {"qspi": "sdram", "sdram": "qspi"}[weights_in]
    assert (other, "constant") not in used
    if weights_in == "sdram":
        assert any(reg.section == ".tinyops_sdram_qdata" for reg in r.export.regions if reg.nbytes)
    assert_same_as_host(r, host_outputs(big_model, b), f"{BIG} on {board}, weights in {weights_in}")
    # The GEMM's and depthwise's stack buffers fit the port's stack.
    assert r.stack_size and 0 < r.stack_used < r.stack_size, (r.stack_used, r.stack_size)
    assert sum(o.tiles or 0 for o in r.ops) > len(r.ops), "expected partitioned ops"
    print(r.report())


@needs_tools
def test_emulated_unpartitioned_and_cli(fw_cache, tmp_path, capsys):
    from tinyops_tflm.cli.app import main

    out = tmp_path / "out.npy"
    assert main(["emulate", str(DEMO), "--board", "stm32f469", "--unpartitioned", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "total (invoke):" in text and "CONV_2D" in text
    host = host_outputs(DEMO.read_bytes(), None)
    y = np.load(out)
    assert y.dtype == np.int8 and y.tobytes() == host[0].tobytes()


# ---------------------------------------------------------------------------
# Hardware ports


def test_flash_reserve_is_the_linkers():
    # The planner puts flash arrays after Board.flash_reserve bytes; the link
    # checks the firmware image against TINYOPS_FLASH_RESERVE. One number.
    from tinyops_tflm.firmware.ports import PORTS

    cmake = (source_root() / "ports" / "common" / "firmware.cmake").read_text()
    reserve = int(re.search(r"set\(TINYOPS_FLASH_RESERVE (\d+) ", cmake).group(1))
    for name in PORTS:
        assert get_board(name).flash_reserve == reserve, name
    ld = source_root() / "ports" / "common" / "ld"
    assert "__tinyops_flash_reserve = @TINYOPS_FLASH_RESERVE@;" in (ld / "memory.ld.in").read_text()
    assert re.search(
        r"ASSERT\(ADDR\(\.tinyops_flash\) - ORIGIN\(FLASH\) <= __tinyops_flash_reserve",
        (ld / "sections.ld").read_text(),
    )


def _port_regions(port: str) -> dict[str, tuple[int, int]]:
    text = (source_root() / "ports" / port / "port.cmake").read_text()
    regions = {}
    for r in ("FLASH", "FAST", "SRAM", "SDRAM", "QSPI"):
        origin = int(re.search(rf"TINYOPS_BOARD_{r}_ORIGIN (\S+)\)", text).group(1), 0)
        length = int(re.search(rf"TINYOPS_BOARD_{r}_LENGTH (\S+)\)", text).group(1), 0)
        regions[r] = (origin, length)
    return regions


@needs_tools
@pytest.mark.parametrize("board", BOARDS)
def test_hardware_port_cross_compiles(board, tmp_path, big_model):
    models = tmp_path / "models"
    export_model(DEMO, board, "demo_tiny", models)
    export_model(big_model, board, "mbv3-w1.00-r160", models)
    build = tmp_path / "build"
    src = source_root() / "ports" / board
    cmd = [
        "cmake",
        "-S",
        str(src),
        "-B",
        str(build),
        f"-DTINYOPS_MODELS_DIR={models}",
        "-DTINYOPS_BUILD_QEMU=OFF",
    ] + shlex.split(os.environ.get("TINYOPS_FW_CMAKE_ARGS", ""))
    if shutil.which("ninja"):
        cmd += ["-G", "Ninja"]
    subprocess.run(cmd, check=True, capture_output=True)
    proc = subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    regions = _port_regions(board)
    for elf in ("selftest", "demo_tiny_int8_1", "mbv3_w1_00_r160_int8_1"):
        path = build / f"{elf}.elf"
        assert path.is_file() and (build / f"{elf}.hex").is_file()
        size = subprocess.run(
            ["arm-none-eabi-size", "-A", str(path)], check=True, capture_output=True, text=True
        ).stdout
        used = {r: 0 for r in regions}
        for line in size.splitlines():
            parts = line.split()
            if len(parts) != 3 or not parts[1].isdigit() or parts[0].startswith((".debug", ".comment", ".ARM.attr")):
                continue
            name, nbytes, addr = parts[0], int(parts[1]), int(parts[2])
            if nbytes == 0:
                continue
            inside = [r for r, (o, n) in regions.items() if o <= addr and addr + nbytes <= o + n]
            assert inside, f"{elf}: section {name} [{addr:#x}, +{nbytes}) outside every region"
            used[inside[0]] += nbytes
        for r, (_, n) in regions.items():
            assert used[r] <= n, f"{elf}: {r} uses {used[r]} of {n} bytes"
        # Freestanding: no newlib heap, no C++ exceptions or RTTI, no iostream.
        syms = subprocess.run(["arm-none-eabi-nm", str(path)], check=True, capture_output=True, text=True).stdout
        for banned in (
            "__cxa_throw",
            "__gxx_personality_v0",
            "_ZTVN10__cxxabiv117__class_type_infoE",
            "_ZSt4cout",
            "__malloc_free_list",
            "__malloc_sbrk_start",
            "_Znwj",
        ):
            assert not re.search(rf"\s{re.escape(banned)}$", syms, re.M), f"{elf} links {banned}"
    mbv3 = subprocess.run(
        ["arm-none-eabi-size", "-A", str(build / "mbv3_w1_00_r160_int8_1.elf")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # Weights beyond flash: in SDRAM, loaded from QSPI at boot.
    assert re.search(r"^\.sdram_qdata\s+[1-9]\d+\s+\d+$", mbv3, re.M), mbv3


def test_stack_overflow_in_the_console_is_an_error():
    """A run whose painted stack was overwritten to its last word is reported,
    not trusted."""
    from tinyops_tflm.firmware.console import parse_log, stack_use
    from tinyops_tflm.firmware.emulate import EmulationError

    log = "total cycles=10 ms=0.001\nstack used=16384 size=16384\nDONE status=0\n"
    assert stack_use(log) == (16384, 16384)
    with pytest.raises(EmulationError, match="stack overflowed its 16384 bytes"):
        parse_log(log, None)
    assert stack_use("DONE status=0\n") == (None, None)
