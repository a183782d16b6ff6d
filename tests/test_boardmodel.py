"""The board firmware (ports/stm32f469, ports/stm32f746 hardware builds, not the
QEMU variants) on the register-level board model (tinyops_tflm/firmware/boardmodel):
from reset to the end of an inference, outputs byte-equal to the host engine;
deliberately broken drivers caught with named errors; illegal DMA/clock
setups refused.

Needs arm-none-eabi-gcc (+ newlib, libstdc++) and CMake; the tests that build
firmware skip, saying so, when they are missing (CI installs them). Unicorn
comes with the package's [test] extras. One firmware cache per test session:
each board's engine is cross-compiled once, the mutation builds only
recompile the driver objects.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from support.firmware import arm_tools_missing, assert_board_model_exact, skip_without

from tinyops_tflm.firmware.boardmodel import (
    BoardModelError,
    CacheCoherencyError,
    ClockError,
    DmaBusError,
    DmaError,
    FlashLatencyError,
    QspiError,
    SdramError,
)

BOARDS = ["stm32f469", "stm32f746"]
DEMO = Path(__file__).resolve().parent.parent / "tinyops_tflm" / "data" / "demo_tiny.tflite"
ZOO = "mobilenet_v3_large_r160"

_MISSING = arm_tools_missing(qemu=False)
needs_tools = skip_without(
    _MISSING,
    "tests/test_boardmodel.py",
    "board-model tests (they build the board firmware)",
    "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib",
)


@pytest.fixture(scope="module")
def zoo_model() -> bytes:
    from tinyops_tflm.validation import zoo

    try:
        return zoo.cached(ZOO)
    except ImportError as err:  # TensorFlow missing and no cached copy
        pytest.skip(f"{ZOO} needs TensorFlow to build: {err}")


# ---------------------------------------------------------------------------
# Whole firmware, from reset


@needs_tools
@pytest.mark.parametrize("board", BOARDS)
def test_demo_model_from_reset_matches_host(board, fw_cache):
    from tinyops_tflm.firmware.boardmodel import emulate_board

    r = emulate_board(DEMO.read_bytes(), board)
    assert_board_model_exact(r, f"demo on {board}")
    log = r.run.console
    # The whole boot ran on the models: clocks, SDRAM test, QSPI, DMA self-test.
    assert f"tinyops-fw board={board}" in log and "dma-selftest ok" in log
    assert r.run.dma_transfers > 100 and r.run.interrupts == r.run.dma_transfers
    if board == "stm32f746":
        assert r.run.cache_maintenance_ops > 0
    print(r.report())


@needs_tools
@pytest.mark.parametrize("board,weights_in", [("stm32f469", "qspi"), ("stm32f746", "sdram")])
def test_zoo_model_external_memory_dma_tiles_matches_host(board, weights_in, fw_cache, zoo_model):
    """Weights beyond flash stream from QSPI (F469 here) or from SDRAM, copied
    there from QSPI by the startup code (the default; F746 here)."""
    from dataclasses import replace

    from tinyops_tflm.firmware.boardmodel import emulate_board
    from tinyops_tflm.planning.boards import get_board

    b = replace(get_board(board), constants_in_sdram=weights_in == "sdram")
    r = emulate_board(zoo_model, b)
    assert_board_model_exact(r, f"{ZOO} on {board}, weights in {weights_in}")
    used = {(reg.memory, reg.kind) for reg in r.export.regions if reg.nbytes}
    assert {(weights_in, "constant"), ("sdram", "arena")} <= used, used
    # Partitioned ops moved tiles with DMA2 (per-op lines of the runner).
    tiles = [int(t) for t in re.findall(r"^op \d+ \S+ cycles=\d+ tiles=(\d+)", r.run.console, re.M)]
    dma = [int(t) for t in re.findall(r" dma_bytes=(\d+)$", r.run.console, re.M)]
    assert tiles and sum(tiles) > len(tiles) and sum(dma) > 0
    print(r.report())


# ---------------------------------------------------------------------------
# Mutation tests: each deliberately broken driver is caught with a named error

MUTANTS = [
    ("stm32f746", "NO_DCACHE_CLEAN", CacheCoherencyError, "never cleaned"),
    ("stm32f746", "NO_DCACHE_INVALIDATE", CacheCoherencyError, "stale cached data"),
    ("stm32f469", "DMA_WORD_WIDTH", DmaError, "not aligned to PSIZE"),
    ("stm32f746", "DMA_WORD_WIDTH", DmaError, "not aligned to PSIZE"),
    ("stm32f469", "NO_SDRAM_AUTO_REFRESH", SdramError, "auto-refresh"),
    ("stm32f746", "QSPI_DUMMY_CYCLES", QspiError, "gives 8 dummy cycles .* wait 10"),
    ("stm32f469", "QSPI_DUMMY_CYCLES", QspiError, "gives 8 dummy cycles .* wait 10"),
    ("stm32f746", "LATENCY_AFTER_SWITCH", FlashLatencyError, "7 wait states are needed"),
    ("stm32f469", "LATENCY_AFTER_SWITCH", FlashLatencyError, "5 wait states are needed"),
]


@needs_tools
@pytest.mark.parametrize("board,mutation,error,message", MUTANTS, ids=[f"{b}-{m}" for b, m, _, _ in MUTANTS])
def test_broken_driver_is_caught(board, mutation, error, message, fw_cache):
    from tinyops_tflm.firmware.boardmodel.run import run_selftest

    with pytest.raises(error, match=message):
        run_selftest(board, mutation)


@needs_tools
@pytest.mark.parametrize("board", BOARDS)
def test_unmutated_selftest_passes(board, fw_cache):
    # The control of the mutation tests: the same firmware with intact drivers.
    from tinyops_tflm.firmware.boardmodel.run import run_selftest

    r = run_selftest(board)
    assert r.exit_code == 0 and "dma-selftest ok" in r.console and "DONE status=0" in r.console


# ---------------------------------------------------------------------------
# Register-level refusals, driven directly (a Machine built from the self-test
# firmware, registers written from Python)


@pytest.fixture(scope="module")
def selftest_elf(fw_cache):
    from tinyops_tflm.firmware.boardmodel.run import board_cache, build_board_firmware
    from tinyops_tflm.firmware.emulate import _locked

    if _MISSING:
        pytest.skip(f"needs {_MISSING}")
    elfs = {}
    for board in BOARDS:
        root = board_cache(board)
        with _locked(root / ".lock"):
            (root / "models").mkdir(parents=True, exist_ok=True)
            elfs[board] = build_board_firmware(board, root / "models", root / "build", "selftest")
    return elfs


DMA2, S0 = 0x40026400, 0x10  # stream 0 registers from DMA2 + 0x10
CR_M2M_INC_WORD = (2 << 6) | (1 << 9) | (1 << 10) | (2 << 11) | (2 << 13)


def _dma_machine(board, elf):
    from tinyops_tflm.firmware.boardmodel.machine import Machine

    m = Machine(board, elf)
    m.rcc.write32(0x30, m.rcc.r[0x30] | (1 << 22))  # DMA2EN
    return m


def _program(m, src, dst, items, cr=CR_M2M_INC_WORD, fcr=(1 << 2) | 3):
    m.dma.write32(S0 + 0x08, src)
    m.dma.write32(S0 + 0x0C, dst)
    m.dma.write32(S0 + 0x04, items)
    m.dma.write32(S0 + 0x14, fcr)
    m.dma.write32(S0 + 0x00, cr | 1)


def test_dma_copies_per_size_and_increment(selftest_elf):
    board = "stm32f469"
    m = _dma_machine(board, selftest_elf[board])
    data = bytes(range(64))
    m.uc.mem_write(0x20001000, data)
    # Byte items packed into words at the memory side: 64 bytes, completion on a flag read.
    _program(m, 0x20001000, 0x20002000, 64, cr=(2 << 6) | (1 << 9) | (1 << 10) | (0 << 11) | (2 << 13))
    assert bytes(m.uc.mem_read(0x20002000, 64)) == bytes(64), "landed before time passed"
    lisr = m.dma.read32(0x00)
    assert lisr & (1 << 5) and bytes(m.uc.mem_read(0x20002000, 64)) == data
    assert m.dma.read32(S0 + 0x04) == 0 and not m.dma.read32(S0) & 1
    # No peripheral increment: one word repeated.
    m.dma.write32(0x08, 0x3D)
    _program(m, 0x20001004, 0x20003000, 4, cr=(2 << 6) | (1 << 10) | (2 << 11) | (2 << 13))
    m.dma.read32(0x00)
    assert bytes(m.uc.mem_read(0x20003000, 16)) == data[4:8] * 4


@pytest.mark.parametrize(
    "case,error,message",
    [
        ("ccm", DmaBusError, "ccm, which the DMA cannot reach"),
        ("circular", DmaError, "circular mode"),
        ("direct", DmaError, "direct mode"),
        ("busy", DmaError, "still busy"),
        ("flags", DmaError, "event flags"),
        ("fifo", DmaError, "forbidden FIFO/burst"),
        ("misaligned", DmaError, "not aligned"),
        ("sdram_closed", DmaBusError, "no memory answers"),
        ("write_while_enabled", DmaError, "read-only while EN = 1"),
        ("dma1", DmaError, "DMA2 only"),
    ],
)
def test_dma_refuses_illegal_setups(case, error, message, selftest_elf):
    board = "stm32f469"
    m = _dma_machine(board, selftest_elf[board])
    src, dst, cr, fcr = 0x20001000, 0x20002000, CR_M2M_INC_WORD, (1 << 2) | 3
    with pytest.raises(error, match=message):
        if case == "ccm":
            src = 0x10000100
        elif case == "circular":
            cr |= 1 << 8
        elif case == "direct":
            fcr = 3
        elif case == "fifo":
            cr |= 1 << 23  # MBURST INCR4 of words = 16 B ...
            fcr = (1 << 2) | 1  # ... with a half-full (8 B) threshold
        elif case == "misaligned":
            src += 2
        elif case == "sdram_closed":
            dst = 0xC0000000
        elif case == "dma1":
            m.dma1.write32(0x10, cr)  # DMA1 stream 0 asked for memory-to-memory
        elif case == "flags":
            _program(m, src, dst, 4)
            m.dma.read32(0x00)  # completes: TCIF0 stays set
        _program(m, src, dst, 4, cr, fcr)
        if case == "busy":
            m.dma.write32(S0, cr | 1)
        if case == "write_while_enabled":
            m.dma.write32(S0 + 0x04, 8)


def test_dcache_model_requires_clean_before_dma(selftest_elf):
    board = "stm32f746"
    m = _dma_machine(board, selftest_elf[board])
    scs = m.scs
    with pytest.raises(CacheCoherencyError, match="never invalidated"):
        scs.write(0xD14, 4, 1 << 16)  # D-cache on without invalidating it first
    for way in range(4):
        for s in range(32):
            scs.write(0xF60, 4, (way << 30) | (s << 5))
    scs.write(0xD14, 4, 1 << 16)
    a = 0x20010000  # SRAM1: cacheable
    m.uc.mem_write(a, b"\x11" * 64)  # the CPU writes (into its cache)
    with pytest.raises(CacheCoherencyError, match="never cleaned"):
        _program(m, a, 0x20000100, 16)  # DMA reads it without a clean
    m.dma.streams[0].cr = 0
    scs.write(0xF68, 4, a)  # DCCMVAC, both lines
    scs.write(0xF68, 4, a + 32)
    _program(m, a, 0x20000100, 16)  # destination in DTCM (not cached)
    m.dma.read32(0x00)
    assert bytes(m.uc.mem_read(0x20000100, 64)) == b"\x11" * 64


def _dcache_on(m):
    for way in range(4):
        for s in range(32):
            m.scs.write(0xF60, 4, (way << 30) | (s << 5))  # DCISW
    m.scs.write(0xD14, 4, 1 << 16)


def _dccisw_pass(m, lines=range(128)):
    for i in lines:
        m.scs.write(0xF74, 4, ((i % 4) << 30) | ((i // 4) << 5))


def test_dcache_model_follows_a_whole_set_way_pass(selftest_elf):
    # The DMA driver cleans + invalidates the whole cache by set/way around
    # transfers larger than the cache: only a complete pass counts.
    board = "stm32f746"
    m = _dma_machine(board, selftest_elf[board])
    _dcache_on(m)
    a, b = 0x20010000, 0x20020000  # SRAM1: cacheable
    m.uc.mem_write(a, b"\x22" * 64)
    _dccisw_pass(m, lines=range(127))  # one line short: nothing is applied
    with pytest.raises(CacheCoherencyError, match="never cleaned"):
        _program(m, a, b, 16)
    m.dma.streams[0].cr = 0
    _dccisw_pass(m, lines=[127])  # completes the pass
    _program(m, a, b, 16)
    m.dma.read32(0x00)
    # The DMA wrote b behind the cache: stale until a pass after the copy.
    m.scs.dcache._on_access(m.uc, 16, b, 4, 0, None)  # a CPU read (UC_MEM_READ)
    assert isinstance(m.error, CacheCoherencyError) and "stale cached data" in str(m.error)
    m.error = None
    _dccisw_pass(m)
    assert bytes(m.uc.mem_read(b, 64)) == b"\x22" * 64
    with pytest.raises(BoardModelError, match="clean-only or invalidate-only"):
        m.scs.write(0xF60, 4, 0)  # DCISW with the cache on


def test_clock_model_refuses(selftest_elf):
    from tinyops_tflm.firmware.boardmodel.machine import Machine

    m = Machine("stm32f469", selftest_elf["stm32f469"])
    m.rcc.write32(0x00, m.rcc.r[0] | (1 << 16))  # HSE on
    m.rcc.write32(0x04, (1 << 22) | 4 | (360 << 6))  # PLLM 4: 2 MHz in, VCO 720 MHz
    with pytest.raises(ClockError, match="VCO 720.0 MHz"):
        m.rcc.write32(0x00, m.rcc.r[0] | (1 << 24))
    m.rcc.write32(0x04, (1 << 22) | 8 | (360 << 6))  # 1 MHz in, VCO 360 MHz, P 2
    m.rcc.write32(0x00, m.rcc.r[0] | (1 << 24))
    m.flash_if.write32(0, 5)
    with pytest.raises(ClockError, match="without over-drive"):
        m.rcc.write32(0x08, (5 << 10) | (4 << 13) | 2)  # 180 MHz, no over-drive


# ---------------------------------------------------------------------------
# CLI


@needs_tools
def test_cli_board_model(fw_cache, tmp_path, capsys):
    from tinyops_tflm.cli.app import main
    from tinyops_tflm.firmware.boardmodel.run import host_outputs
    from tinyops_tflm.frontend.reader import read_model
    from tinyops_tflm.planning.boards import get_board
    from tinyops_tflm.validation.compare import make_inputs

    out = tmp_path / "y.npy"
    assert main(["emulate", str(DEMO), "--board", "stm32f746", "--board-model", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "register-level board model" in text and "byte for byte" in text
    data = DEMO.read_bytes()
    x = make_inputs(read_model(data), 1, seed=0)[0]
    host = host_outputs(data, get_board("stm32f746"), None, list(x), True)
    assert np.load(out).tobytes() == host[0].tobytes()
