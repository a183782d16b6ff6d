"""The board cycle model: timing tables (board_timing.py) and the QEMU plugin
(ports/common/qemu_plugin/tinyops_cycles.c) on tiny hand-written programs
whose cycle counts are computed here by hand from the timing parameters.

Each program runs a loop with different trip counts between
tinyops_op_marker calls (after warm-up passes); the difference of two
sections is the loop's steady-state cost times the difference of the counts,
so start-up effects (cold caches, first mispredicts) cancel and the
expectation is exact.

Needs arm-none-eabi-gcc and qemu-system-arm (CI installs them); the plugin
tests skip, saying so, without them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.firmware import skip_without, tools_missing

from tinyops_tflm.planning.board_timing import dma_transfer_cycles, get_timing

ROOT = Path(__file__).resolve().parent.parent
BOARDS = ["stm32f469", "stm32f746"]


needs_tools = skip_without(
    tools_missing(("arm-none-eabi-gcc", "qemu-system-arm", "cc")),
    "tests/test_cycle_model.py",
    "the cycle-model plugin tests (Arm toolchain, QEMU and a host C compiler)",
    "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm gcc",
)


# ---------------------------------------------------------------------------
# Timing tables (no toolchain)


def test_dma_transfer_cycles_formula():
    t = get_timing("stm32f746")
    # QSPI -> SRAM, words with bursts: the measured 29.09 MB/s at 216 MHz [MBED456]
    n = 32768
    want = t.dma.setup_cycles + n * 216e6 / 29.09e6
    assert dma_transfer_cycles("stm32f746", "qspi", "sram", n) == pytest.approx(want, rel=1e-12)
    # one setup per 65532-item chunk (INCR4 bursts), 65535 without bursts
    big = 4 * 65532 + 16
    assert dma_transfer_cycles(t, "sram", "sram", big) == pytest.approx(
        2 * t.dma.setup_cycles + big * t.dma.cycles_per_byte("sram", "sram", 4, True)
    )
    nb = 65535 * 2 + 1
    assert dma_transfer_cycles(t, "sram", "sram", nb, width=1, burst=False) == pytest.approx(
        3 * t.dma.setup_cycles + nb * t.dma.cycles_per_byte("sram", "sram", 1, False)
    )
    # byte-wide without bursts is slower than words with bursts, for every pair
    for src, dst, w, b in t.dma.rates:
        assert t.dma.cycles_per_byte(src, dst, 1, False) >= t.dma.cycles_per_byte(src, dst, 4, True)
    # QSPI reads are never faster than the measured link
    f469 = get_timing("stm32f469")
    assert f469.dma.cycles_per_byte("qspi", "sram") >= 180e6 / 24.32e6 - 1e-9
    # F469 CCM is not DMA-reachable; widths are 1, 2 or 4 bytes
    with pytest.raises(ValueError, match="ccm"):
        dma_transfer_cycles("stm32f469", "ccm", "sram", 64)
    with pytest.raises(ValueError, match="width"):
        dma_transfer_cycles("stm32f469", "sram", "sram", 64, width=3)
    # paper board variant and Board objects resolve to the F469's timing
    from tinyops_tflm.planning.boards import get_board

    assert get_timing("stm32f469-paper") is f469
    assert get_timing(get_board("stm32f746")) is t
    assert t.clock_hz == 216_000_000 and f469.clock_hz == 180_000_000


def test_config_text_carries_every_region_and_rate():
    for board in BOARDS:
        t = get_timing(board)
        text = t.config_text()
        lines = text.splitlines()
        regions = [ln for ln in lines if ln.startswith("region ")]
        assert len(regions) == len(t.regions)
        for r, ln in zip(t.regions, regions):
            assert ln.split()[1:6] == [hex(r.lo), hex(r.hi), r.name, r.kind, r.model]
        rates = [ln for ln in lines if ln.startswith("dma_rate ")]
        assert len(rates) == len(t.dma.rates)
        for ln in rates:
            _, src, dst, w, b, cpb = ln.split()
            # repr round-trips exactly: the plugin costs with the same doubles
            assert float(cpb) == t.dma.rates[(src, dst, int(w), bool(int(b)))]
        assert f"clock_hz {t.clock_hz}" in lines


# ---------------------------------------------------------------------------
# The plugin on tiny programs

LOOP_TEMPLATE = r"""
#include <stdint.h>
void tinyops_op_marker(uint32_t);
%(data)s
__attribute__((noinline)) void loop(const volatile void *p, uint32_t n) {
  __asm volatile(
    ".balign 16\n"
    "1:\n"
    %(body)s
    "subs %%1, %%1, #1\n"
    "bne 1b\n"
    : "+r"(p), "+r"(n) : : "r3", "cc", "memory");
}
/* The same code runs for every section (caches and predictor warm after the
 * first two calls), so sections 1 and 2 differ only by the trip count. Each
 * call continues where the previous one stopped (no data is read twice). */
static volatile uint32_t counts[4] = {%(n0)d, %(n0)d, %(n1)d, %(n2)d};
int main(void) {
  uint32_t offset = 0;
  for (uint32_t i = 0; i < 4; ++i) {
    loop((const volatile uint8_t *)%(ptr)s + offset * %(stride)d, counts[i]);
    offset += counts[i];
    tinyops_op_marker(i);
  }
  return 0;
}
"""


def _build_and_run(tmp_path: Path, name: str, board: str, source: str, extra_sources=(), include_dirs=()):
    from tinyops_tflm.firmware.baremetal import build_program
    from tinyops_tflm.firmware.cycles import run_cycles

    src = tmp_path / f"{name}.c"
    src.write_text(source)
    elf = build_program(
        [src, *extra_sources], board, tmp_path / f"{name}_{board}.elf", opt="-O2", include_dirs=include_dirs
    )
    return run_cycles(elf, board)


def _loop_delta(tmp_path, board, name, body, data="", ptr="0", n=(64, 64, 192), stride=0):
    """Cycles of (n2 - n1) extra iterations of the loop, and that count."""
    run = _build_and_run(
        tmp_path,
        name,
        board,
        LOOP_TEMPLATE % {"data": data, "body": body, "ptr": ptr, "n0": n[0], "n1": n[1], "n2": n[2], "stride": stride},
    )
    s = run.sections[1:]
    assert len(s) == 2, run.report()
    return s[1]["cycles"] - s[0]["cycles"], n[2] - n[1], run


# Base cost of one iteration of `ldr.w r3, [%0], #stride; subs; bne`
#   M4 [M4TRM]: LDR 2 (not pipelined: the previous instruction is a branch),
#       SUBS 1, taken BNE 1 + P (P = 1, immediate target, aligned) = 5
#   M7: LDR and SUBS dual-issue (load + ALU pipes) in 1 cycle, the correctly
#       predicted BNE issues in the next = 2
LOAD_BASE = {"stm32f469": 5, "stm32f746": 2}


@needs_tools
@pytest.mark.parametrize("board", BOARDS)
def test_smlad_loop(tmp_path, board):
    body = '"smlad r3, %0, %0, r3\\n"\n' * 8
    body = body.replace("%0", "r2")
    src = LOOP_TEMPLATE.replace('"+r"(p), "+r"(n) : : "r3"', '"+r"(p), "+r"(n) : : "r2", "r3"') % {
        "data": "",
        "body": body,
        "ptr": "0",
        "n0": 10,
        "n1": 10,
        "n2": 110,
        "stride": 0,
    }
    run = _build_and_run(tmp_path, "smlad", board, src)
    s = run.sections[1:]
    delta = s[1]["cycles"] - s[0]["cycles"]
    insns = s[1]["insns"] - s[0]["insns"]
    assert insns == 100 * 10
    if board == "stm32f469":
        # [M4TRM] SMLAD 1 cycle each, SUBS 1, taken BNE 2
        assert delta == 100 * (8 + 1 + 2)
    else:
        # one MAC pipe: 8 SMLADs in 8 cycles (the accumulator is read late),
        # SUBS dual-issues with the last one, the predicted BNE takes a cycle
        assert delta == 100 * 9


@needs_tools
@pytest.mark.parametrize("board", BOARDS)
def test_taken_branch_costs(tmp_path, board):
    """A taken branch to a word-aligned 16-bit instruction vs to a 32-bit
    instruction at a halfword address: the M4 pays one more refill cycle for
    the unaligned wide target [M4TRM]; on the M7 a correctly predicted branch
    costs its issue slot only."""
    aligned = LOOP_TEMPLATE % {
        "data": "",
        "body": '"nop\\n" "nop\\n"',
        "ptr": "0",
        "n0": 16,
        "n1": 16,
        "n2": 116,
        "stride": 0,
    }
    # pad by a 16-bit nop before the label so the loop's first (32-bit)
    # instruction sits at a halfword address
    unaligned = aligned.replace(
        '".balign 16\\n"\n    "1:\\n"\n    "nop\\n" "nop\\n"', '".balign 16\\n" "nop\\n"\n    "1:\\n"\n    "nop.w\\n"'
    )
    assert unaligned != aligned
    a = _build_and_run(tmp_path, "br_aligned", board, aligned).sections[1:]
    u = _build_and_run(tmp_path, "br_unaligned", board, unaligned).sections[1:]
    da = a[1]["cycles"] - a[0]["cycles"]
    du = u[1]["cycles"] - u[0]["cycles"]
    if board == "stm32f469":
        assert da == 100 * (1 + 1 + 1 + 2)  # nop, nop, subs, taken bne (P = 1)
        assert du == 100 * (1 + 1 + 3)  # nop.w, subs, taken bne (P = 1 + 1 unaligned)
        assert a[1]["stall_branch"] - a[0]["stall_branch"] == 100
    else:
        # nop + nop dual-issue, then subs + bne; nop.w + subs, then bne
        assert da == 100 * 2
        assert du == 100 * 2
        assert a[1]["stall_branch"] == a[0]["stall_branch"]  # predicted: no penalty


def _region_cases(board: str):
    """(name, data declaration, pointer, per-iteration cycles for stride 32)."""
    t = get_timing(board)
    base = LOAD_BASE[board]
    buf = "32768"
    cases = []
    if board == "stm32f469":
        sd = t.sdram
        # uncached SDRAM, stride 32 inside 1 KB rows: each read is a new burst
        # (rd_overhead + CAS + 1 beat); a row change every 32 reads costs
        # precharge + activate
        sd_read = sd.rd_overhead + sd.cas * sd.hclk_per_sdclk + 4 * sd.hclk_per_sdclk / sd.bus_bytes
        sd_row = (sd.trp + sd.trcd) * sd.hclk_per_sdclk
        q = t.qspi
        cases += [
            ("sram", f"static uint8_t buf[{buf}] __attribute__((aligned(1024)));", "buf", base),
            # ART: 8 data lines of 16 bytes; stride 32 over 16 KB misses every time
            (
                "flash",
                f"static const uint8_t buf[{buf}] __attribute__((aligned(1024))) = {{1}};",
                "buf",
                base + t.flash_wait_states,
            ),
            (
                "sdram",
                f'static uint8_t buf[{buf}] __attribute__((section(".sdram"), aligned(1024)));',
                "buf",
                base + sd_read + sd_row / 32,
            ),
            # QSPI: a non-sequential read sends command + address + dummy cycles
            (
                "qspi",
                f'static const uint8_t buf[{buf}] __attribute__((section(".qspi"), aligned(1024))) = {{1}};',
                "buf",
                base + q.command_cycles + 4 * q.cycles_per_byte,
            ),
        ]
    else:
        sd = t.sdram
        line = t.dcache.line
        # L1 line fills; consecutive lines stream from the SDRAM read FIFO at
        # the bus rate, a new row (every 512 B = 16 lines) restarts the burst
        sd_stream = line * sd.hclk_per_sdclk / sd.bus_bytes
        sd_first = (
            (sd.trp + sd.trcd) * sd.hclk_per_sdclk + sd.rd_overhead + sd.cas * sd.hclk_per_sdclk + sd_stream
        ) + base
        per_row = sd.row_bytes // line
        q = t.qspi
        cases += [
            ("dtcm", f"static uint8_t buf[{buf}] __attribute__((aligned(1024)));", "buf", base),
            (
                "sram",
                f'static uint8_t buf[{buf}] __attribute__((section(".sram1"), aligned(1024)));',
                "buf",
                base + t.region("sram").fill,
            ),
            (
                "flash",
                f"static const uint8_t buf[{buf}] __attribute__((aligned(1024))) = {{1}};",
                "buf",
                base + t.region("flash").fill,
            ),
            (
                "sdram",
                f'static uint8_t buf[{buf}] __attribute__((section(".sdram"), aligned(1024)));',
                "buf",
                (sd_first + (per_row - 1) * sd_stream) / per_row,
            ),
            # QSPI is write-through cacheable: line fills stream at the measured rate
            (
                "qspi",
                f'static const uint8_t buf[{buf}] __attribute__((section(".qspi"), aligned(1024))) = {{1}};',
                "buf",
                line * q.cycles_per_byte,
            ),
        ]
    return cases


@needs_tools
@pytest.mark.parametrize("board", BOARDS)
def test_loads_from_each_region(tmp_path, board):
    for name, data, ptr, per_iter in _region_cases(board):
        delta, iters, run = _loop_delta(
            tmp_path, board, f"ld_{name}", '"ldr.w r3, [%0], #32\\n"', data=data, ptr=ptr, n=(256, 64, 320), stride=32
        )
        # abs 2: stalls are fractional cycles carried between records
        assert delta == pytest.approx(per_iter * iters, abs=2.0), (
            f"{board} {name}: {delta} cycles for {iters} loads, {per_iter:.3f} each expected"
        )


@needs_tools
def test_qspi_streaming_on_m4(tmp_path):
    """Sequential word reads from QSPI stream at the measured rate [MBED456]:
    the loop's own cycles hide under the QSPI time."""
    t = get_timing("stm32f469")
    data = 'static const uint8_t buf[16384] __attribute__((section(".qspi"), aligned(1024))) = {1};'
    delta, iters, _ = _loop_delta(
        tmp_path,
        "stm32f469",
        "ld_qspi_seq",
        '"ldr.w r3, [%0], #4\\n"',
        data=data,
        ptr="buf",
        n=(256, 64, 320),
        stride=4,
    )
    assert delta == pytest.approx(iters * 4 * t.qspi.cycles_per_byte, abs=2.0)


DMA_TEMPLATE = r"""
#include <stdint.h>
#include "tinyops_port/dma_events.h"
void tinyops_op_marker(uint32_t);
static uint8_t dst[%(n)d] __attribute__((aligned(32)));
static const uint8_t src_flash[%(n)d] __attribute__((aligned(32))) = {1};
static const uint8_t src_qspi[%(n)d] __attribute__((section(".qspi"), aligned(32))) = {2};
int main(void) {
  const uint8_t *src = %(src)s;
  tinyops_op_marker(0);
  tinyops_dma_event(TINYOPS_DMA_EV_START | %(flags)s, 1, (uint32_t)dst, (uint32_t)src, %(n)d);
  tinyops_dma_event(TINYOPS_DMA_EV_WAIT, 1, 0, 0, 0);
  tinyops_op_marker(1);
  return dst[0];
}
"""


@needs_tools
@pytest.mark.parametrize("board", BOARDS)
def test_dma_stall_is_the_modelled_transfer(tmp_path, board):
    """One DMA of N bytes started and waited for at once: the job lasts exactly
    dma_transfer_cycles (the plugin and board_timing share the formula), and
    the CPU stalls for it minus the few instructions between start and wait;
    QSPI vs flash as source differ by the modelled amount."""
    n = 16384
    inc = [ROOT / "ports" / "common" / "include"]
    ev = [ROOT / "ports" / "common" / "src" / "dma_events.cc"]
    runs = {}
    words = "(2u << 8) | (1u << 10)"  # 4-byte items, INCR4 bursts
    for src in ("flash", "qspi"):
        runs[src] = _build_and_run(
            tmp_path, f"dma_{src}", board, DMA_TEMPLATE % {"n": n, "src": f"src_{src}", "flags": words}, ev, inc
        )
    # byte items without bursts (TINYOPS_DMA_BYTE_WIDE, the TinyOps paper's setting)
    byte = _build_and_run(
        tmp_path, "dma_bytes", board, DMA_TEMPLATE % {"n": n, "src": "src_flash", "flags": "0u"}, ev, inc
    )
    assert byte.dma["busy"] == round(dma_transfer_cycles(board, "flash", "sram", n, width=1, burst=False))
    assert byte.stalls["dma"] > runs["flash"].stalls["dma"]
    for src, run in runs.items():
        want = dma_transfer_cycles(board, src, "sram", n)
        assert run.dma == {"jobs": 1, "bytes": n, "busy": round(want)}
        sec = run.sections[0]
        # the CPU overhead between the markers is a few calls, far below the job
        assert 0 < sec["cycles"] - sec["stall_dma"] < 200
        # the events' own instructions are not CPU time
        assert sec["insns"] < 60
    diff = runs["qspi"].sections[0]["stall_dma"] - runs["flash"].sections[0]["stall_dma"]
    want = dma_transfer_cycles(board, "qspi", "sram", n) - dma_transfer_cycles(board, "flash", "sram", n)
    assert diff == pytest.approx(want, abs=1.0)
    assert runs["qspi"].stalls["dma"] == runs["qspi"].sections[0]["stall_dma"]


@needs_tools
def test_cli_json_and_errors(tmp_path, capsys):
    from tinyops_tflm.cli.app import main

    src = LOOP_TEMPLATE % {"data": "", "body": '"nop\\n"', "ptr": "0", "n0": 1, "n1": 1, "n2": 2, "stride": 0}
    from tinyops_tflm.firmware.baremetal import build_program

    (tmp_path / "p.c").write_text(src)
    elf = build_program([tmp_path / "p.c"], "stm32f746", tmp_path / "p.elf")
    assert main(["cycles", str(elf), "--board", "stm32f746", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out["cycles"], int) and isinstance(out["instructions"], int)
    assert out["cycles"] > 0 and out["instructions"] > 0 and out["exit_code"] == 0
    assert len(out["marks"]) == 4 and set(out["stalls"]) == {"mem", "fetch", "branch", "dma"}
    # errors: missing file, not an ELF, wrong board (usage: 2); non-zero
    # exit of the program (a failed run: 3)
    assert main(["cycles", str(tmp_path / "nope.elf"), "--board", "stm32f746"]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "text.elf").write_text("hello")
    assert main(["cycles", str(tmp_path / "text.elf"), "--board", "stm32f746"]) == 2
    assert "not an ELF" in capsys.readouterr().err
    assert main(["cycles", str(elf), "--board", "esp32"]) == 2
    assert "esp32" in capsys.readouterr().err
    (tmp_path / "fail.c").write_text("int main(void) { return 3; }\n")
    bad = build_program([tmp_path / "fail.c"], "stm32f469", tmp_path / "fail.elf")
    assert main(["cycles", str(bad), "--board", "stm32f469"]) == 3
    assert "exited with code 3" in capsys.readouterr().err
    assert main(["cycles", str(bad), "--board", "stm32f469", "--allow-exit-code", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["exit_code"] == 3


# ---------------------------------------------------------------------------
# Per-op cycles of an emulated model include the DMA model's stalls


@needs_tools
def test_qspi_weights_op_slower_by_modelled_dma(fw_cache):
    """A FULLY_CONNECTED whose 64 KB of weights sit in internal flash runs
    them in place; on the same board with a 4 KB flash budget they sit in
    QSPI and the plan streams them into SRAM by DMA. The QSPI op's DMA jobs
    last exactly the modelled transfer time (board_timing), its cycles
    include the part of it compute does not hide, and it is slower than the
    flash op by that much."""
    from dataclasses import replace

    import numpy as np

    from tinyops_tflm.firmware.emulate import emulate
    from tinyops_tflm.planning.boards import KIB, get_board
    from tinyops_tflm.testing import single_op

    if shutil.which("cmake") is None:
        pytest.skip("needs cmake to build the firmware (pip install cmake)")
    data, _ = single_op.fully_connected(
        np.random.default_rng(3), input_shape=(1, 512), units=128, bias=True, per_channel=True, activation="NONE"
    )
    board = get_board("stm32f469")
    small = replace(
        board,
        name="stm32f469-smallflash",
        flash_reserve=board.memory("flash").capacity - 4 * KIB,
        constants_in_sdram=False,
    )
    flash = emulate(data, board, cycles=True)
    qspi = emulate(data, small, cycles=True)
    weights = 512 * 128
    assert any(r.memory == "flash" and r.nbytes >= weights for r in flash.export.regions)
    assert any(r.memory == "qspi" and r.nbytes >= weights for r in qspi.export.regions)
    (f,), (q,) = flash.ops, qspi.ops
    assert f.dma_model["jobs"] == 0 and f.stall_dma == 0
    # every job of the QSPI op: QSPI -> SRAM, 16-byte aligned (INCR4 bursts)
    assert q.dma_model["bytes"] == q.dma_bytes == weights
    # (jobs under 65532 words: one setup each)
    want = (
        dma_transfer_cycles("stm32f469", "qspi", "sram", weights)
        + (q.dma_model["jobs"] - 1) * get_timing("stm32f469").dma.setup_cycles
    )
    assert q.dma_model["busy"] == pytest.approx(want, abs=1.0)
    # the CPU waits for the DMA time compute does not hide: at most all of
    # it, at least what is left after the whole flash op's compute
    slower = q.cycles - f.cycles
    assert q.dma_model["busy"] - f.cycles <= slower <= q.dma_model["busy"]
    assert q.stall_dma == pytest.approx(slower, rel=0.1)
    # outputs are bit-exact either way
    assert flash.outputs[0].tobytes() == qspi.outputs[0].tobytes()
