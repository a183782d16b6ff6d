"""Operation partitioning: every tile plan gives exactly the unpartitioned
bytes (which equal TFLM's), SRAM stays within budget, plans pass the
independent checker, and impossible budgets raise a named error."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tinyops_tflm import BudgetError, Interpreter
from tinyops_tflm.frontend.reader import read_model
from tinyops_tflm.planning.boards import BOARDS, FLASH, KIB, get_board
from tinyops_tflm.planning.partition import check_plan, plan_model
from tinyops_tflm.runtime.engine import core
from tinyops_tflm.testing import single_op
from tinyops_tflm.validation.compare import make_inputs
from tinyops_tflm.validation.oracle import run_tflm

zoo = pytest.importorskip("tinyops_tflm.validation.zoo")

MODELS = zoo.list_models()
BUDGETS = [320 * KIB, 256 * KIB, 128 * KIB, 64 * KIB]


@pytest.fixture(scope="module", params=MODELS)
def model(request):
    data = zoo.cached(request.param)
    graph = read_model(data)
    inputs = make_inputs(graph, 2, seed=3)
    reference = [Interpreter(graph).run(*x) for x in inputs]
    # The unpartitioned engine is itself checked against TFLM here, on the same inputs.
    oracle = run_tflm(data, inputs)
    for ours, theirs in zip(reference, oracle):
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)
    return request.param, graph, inputs, reference


@pytest.mark.parametrize("board", ["stm32f746", "stm32f469"])
def test_partitioned_models_bit_exact(model, board):
    name, graph, inputs, reference = model
    for budget in BUDGETS:
        interp = Interpreter(graph, board=board, sram_budget=budget, dma="async", dma_delay_us=1)
        problems = check_plan(interp.plan, graph)
        assert not problems, f"{name} {board} {budget}: {problems[:3]}"
        for x, ref in zip(inputs, reference):
            out = interp.run(*x)
            for a, b in zip(out, ref):
                diff = np.count_nonzero(a != b)
                assert diff == 0, f"{name} on {board} at {budget} B: {diff} bytes differ"
            hw = interp.stats["sram_high_water"]
            assert 0 < hw <= budget, f"{name} {board} {budget}: high water {hw}"
        assert interp.plan.sram_peak <= budget


def test_board_without_sdram_keeps_every_activation_in_sram():
    """A part with no SDRAM (a custom board) plans a model whose activations
    fit SRAM with all of them resident, bit-exact, and names the problem when
    they cannot fit."""
    f746 = get_board("stm32f746")
    no_sdram = replace(f746, name="f746-no-sdram", memories=tuple(m for m in f746.memories if m.name != "sdram"))
    data = zoo.cached("mobilenet_v2_a035_r96")
    graph = read_model(data)
    inputs = make_inputs(graph, 1, seed=5)
    interp = Interpreter(graph, board=no_sdram, sram_budget=256 * KIB)
    placed = [t for t in interp.plan.placements if not t.constant and t.memory is not None]
    assert placed and all(t.memory == "sram" for t in placed)
    assert not check_plan(interp.plan, graph)
    for x, theirs in zip(inputs, run_tflm(data, inputs)):
        for a, b in zip(interp.run(*x), theirs):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(BudgetError, match="no SDRAM"):
        Interpreter(graph, board=no_sdram, sram_budget=32 * KIB)


def test_large_model_uses_external_memory():
    graph = read_model(zoo.cached("mobilenet_v3_large_r160"))
    plan = plan_model(graph, "stm32f746", 128 * KIB, constants_in_sdram=False)
    assert plan.memory_used["qspi"] > 0, "weights beyond internal flash must stream from QSPI"
    assert plan.memory_used["sdram"] > 0, "activations beyond SRAM must live in SDRAM"
    assert plan.memories.count("sdram") == 1
    tiled = [o for o in plan.ops if o.tiles > 1]
    assert len(tiled) > 10
    assert any(o.strategy == "rows" and o.channels < 10_000 and o.name == "CONV_2D" for o in tiled)


def _weights_by_memory(plan):
    out = {}
    for p in plan.placements:
        if p.constant and p.memory is not None:
            out[p.memory] = out.get(p.memory, 0) + p.nbytes
    return out


def test_weights_beyond_flash_go_to_sdram_copied_at_boot():
    graph = read_model(zoo.cached("mobilenet_v3_large_r160"))
    plan = plan_model(graph, "stm32f746", 128 * KIB)
    assert not check_plan(plan, graph)
    weights = _weights_by_memory(plan)
    assert weights.get("qspi", 0) == 0 and weights["sdram"] > 1_000_000
    # Two SDRAM regions: the writable arena and the read-only weights after it.
    regions = [i for i, m in enumerate(plan.memories) if m == "sdram"]
    assert len(regions) == 2
    const_region = max(regions)
    assert all(p.region == const_region for p in plan.placements if p.constant and p.memory == "sdram")
    assert all(p.region != const_region for p in plan.placements if not p.constant and p.memory == "sdram")
    assert plan.memory_used["sdram"] == sum(plan.region_sizes[i] for i in regions)


def test_sdram_weights_spill_to_qspi_when_the_chip_is_full():
    """The arena and the weights share one SDRAM chip: what does not fit
    beside the arena's peak streams from QSPI instead."""
    graph = read_model(zoo.cached("mobilenet_v3_large_r160"))
    board = get_board("stm32f746")
    full = plan_model(graph, board, 128 * KIB)
    arena = full.region_sizes[full.memories.index("sdram")]
    small = [replace(m, capacity=arena + 1_000_000) if m.name == "sdram" else m for m in board.memories]
    tight = replace(board, name="f746-small-sdram", memories=tuple(small))
    plan = plan_model(graph, tight, 128 * KIB)
    assert not check_plan(plan, graph)
    weights = _weights_by_memory(plan)
    assert 0 < weights["qspi"] and 0 < weights["sdram"] <= 1_000_000
    assert plan.memory_used["sdram"] <= arena + 1_000_000
    x = make_inputs(graph, 1, seed=3)[0]
    spilled = Interpreter(graph, board=tight, sram_budget=128 * KIB).run(*x)
    in_qspi = replace(board, constants_in_sdram=False)
    placed = Interpreter(graph, board=in_qspi, sram_budget=128 * KIB).run(*x)
    for a, b in zip(spilled, placed):
        np.testing.assert_array_equal(a, b)


def test_stats_report_traffic_per_region():
    graph = read_model(zoo.cached("demo_tiny"))
    interp = Interpreter(graph, board="stm32f746", sram_budget=16 * KIB)
    interp.run(*make_inputs(graph, 1, seed=0)[0])
    ops = interp.stats["ops"]
    assert len(ops) == len(graph.operators)
    assert {"op", "macs", "tiles", "dma_read_bytes", "dma_write_bytes"} <= set(ops[0])
    conv = [o for o in ops if o["op"] == "CONV_2D"]
    assert sum(o["macs"] for o in conv) > 0
    assert any(o["tiles"] > 1 for o in ops)
    read = sum(sum(o["dma_read_bytes"].values()) for o in ops)
    written = sum(sum(o["dma_write_bytes"].values()) for o in ops)
    assert read == written > 0  # every DMA byte read from one region is written to another


def test_budget_too_small_names_the_op():
    graph = read_model(zoo.cached("mobilenet_v3_large_r160"))
    with pytest.raises(BudgetError, match=r"op \d+ \(\w+.*needs at least \d+ bytes.*budget .* is 4096 bytes"):
        plan_model(graph, "stm32f746", 4 * KIB)
    with pytest.raises(BudgetError, match="exceeds"):
        plan_model(graph, "stm32f746", 400 * KIB)
    with pytest.raises(ValueError, match="unknown board"):
        plan_model(graph, "esp32", 64 * KIB)


def test_boards_facts():
    f469, f746 = get_board("stm32f469"), get_board("stm32f746")
    assert f469.clock_hz == 180_000_000 and f746.clock_hz == 216_000_000
    assert f469.memory("sdram").base == 0xC000_0000 and f746.memory("qspi").base == 0x9000_0000
    assert not f469.memory("ccm").dma
    assert get_board("stm32f469-paper").default_sram_budget == 256 * KIB
    assert set(BOARDS) >= {"stm32f469", "stm32f746"}


def test_async_dma_really_defers_copies():
    """The asynchronous engine copies late: a consumer that does not wait reads stale bytes."""
    # 200 ms: the probe snapshots the destination right after start(); on a
    # loaded 2-core machine a 2 ms delay could pass before the snapshot.
    stale, fresh = core().async_dma_probe(200_000)
    assert stale != fresh and fresh == bytes(range(64))


# Randomized per-op tilings ------------------------------------------------------------


def _case(kind: str, rng: np.random.Generator):
    b = single_op
    h, w = int(rng.integers(6, 30)), int(rng.integers(6, 30))
    c = int(rng.integers(3, 48))
    if kind == "conv":
        return b.conv2d(rng, input_shape=(1, h, w, c), out_channels=int(rng.integers(4, 80)))
    if kind == "conv1x1":
        return b.conv2d(
            rng, input_shape=(1, h, w, c), out_channels=int(rng.integers(4, 160)), kernel=1, stride=1, dilation=1
        )
    if kind == "depthwise":
        return b.depthwise_conv2d(rng, input_shape=(1, h, w, c))
    if kind == "fc":
        return b.fully_connected(rng, input_shape=(1, int(rng.integers(16, 600))), units=int(rng.integers(4, 400)))
    if kind == "add":
        return b.add(rng, shape1=(1, h, w, c), shape2=(1, h, w, c) if rng.random() < 0.5 else (1, 1, 1, c))
    if kind == "mul":
        return b.mul(rng, shape1=(1, h, w, c), shape2=(1, 1, 1, c) if rng.random() < 0.5 else (1, h, w, c))
    if kind == "pool":
        f = b.average_pool_2d if rng.random() < 0.5 else b.max_pool_2d
        return f(rng, input_shape=(1, h, w, c))
    if kind == "mean":
        return b.mean(rng, input_shape=(1, h, w, c), axes=[1, 2])
    if kind == "hard_swish":
        return b.hard_swish(rng, shape=(1, h, w, c))
    if kind == "logistic":
        return b.logistic(rng, shape=(1, h, w, c))
    raise AssertionError(kind)


# A custom part without internal flash: every constant streams from QSPI, so
# weight tiling is exercised for every op.
NO_FLASH = replace(
    get_board("stm32f746"),
    name="custom-noflash",
    memories=tuple(m for m in get_board("stm32f746").memories if m.name != FLASH),
    flash_reserve=0,
)


KINDS = ["conv", "conv1x1", "depthwise", "fc", "add", "mul", "pool", "mean", "hard_swish", "logistic"]


@pytest.mark.parametrize("kind", KINDS)
def test_random_op_tilings_bit_exact(kind):
    rng = np.random.default_rng(KINDS.index(kind) + 100)
    models, all_inputs, ours = [], [], []
    tiled = 0
    for case in range(12):
        data, meta = _case(kind, rng)
        graph = read_model(data)
        inputs = [single_op.random_inputs(meta, rng)]
        reference = Interpreter(graph).run(*inputs[0])
        board = ["stm32f746", "stm32f469", NO_FLASH][case % 3]
        for budget in (int(rng.integers(1, 64)) * KIB // 4, int(rng.integers(2, 96)) * KIB):
            try:
                interp = Interpreter(
                    graph, board=board, sram_budget=budget, dma="async", dma_delay_us=int(rng.integers(0, 3))
                )
            except BudgetError as err:
                assert str(budget) in str(err)
                continue
            assert not check_plan(interp.plan, graph)
            out = interp.run(*inputs[0])
            for a, r in zip(out, reference):
                np.testing.assert_array_equal(a, r, err_msg=f"{kind} case {case} budget {budget}")
            assert interp.stats["sram_high_water"] <= budget
            tiled += any(o.tiles > 1 for o in interp.plan.ops)
        models.append(data)
        all_inputs.append(inputs)
        ours.append(reference)
    assert tiled >= 3, f"only {tiled} plans of {kind} were actually tiled"
    # The unpartitioned reference equals TFLM on a few of these models.
    for data, inputs, reference in list(zip(models, all_inputs, ours))[:3]:
        theirs = run_tflm(data, inputs)[0]
        for a, b in zip(reference, theirs):
            np.testing.assert_array_equal(a, b)


def test_latency_estimate_is_consistent():
    graph = read_model(zoo.cached("mobilenet_v3_large_r160"))
    x = make_inputs(graph, 1, seed=0)[0]
    est = {}
    for board in ("stm32f746", "stm32f469"):
        interp = Interpreter(graph, board=board, sram_budget=128 * KIB)
        interp.run(*x)
        e = interp.estimate_latency()
        assert len(e.ops) == len(graph.operators)
        assert all(o.cycles >= max(o.compute_cycles, o.dma_cycles) > 0 or o.cycles > 0 for o in e.ops)
        assert abs(e.cycles - sum(o.cycles for o in e.ops)) < 1
        est[board] = e.ms
    assert 0 < est["stm32f746"] < est["stm32f469"]  # faster core, higher clock


def test_flash_holds_weights_of_few_pixel_layers_first():
    # Flash for 500 KiB of weights: a 1-pixel FULLY_CONNECTED's 400 KB (one MAC
    # per byte: streamed from QSPI the CPU would wait for it) and a 1x1
    # convolution's 192 KB over 100 pixels (its DMA hides behind compute).
    f746 = get_board("stm32f746")
    small_flash = replace(
        f746,
        name="custom-smallflash",
        flash_reserve=0,
        constants_in_sdram=False,
        memories=tuple(replace(m, capacity=500 * KIB) if m.name == FLASH else m for m in f746.memories),
    )
    from tinyops_tflm.testing.merge import merge_models

    rng = np.random.default_rng(5)
    q = dict(per_channel=True, bias=True)
    conv = single_op.conv2d(
        rng, input_shape=(1, 10, 10, 400), out_channels=480, kernel=1, stride=1, dilation=1, padding="SAME", **q
    )[0]
    fc = single_op.fully_connected(rng, input_shape=(1, 400), units=1000, **q)[0]
    graph = read_model(merge_models([conv, fc]))
    plan = plan_model(graph, small_flash, 256 * KIB)
    where = {op.name: plan.placements[op.inputs[1]].memory for op in graph.operators}
    assert where == {"FULLY_CONNECTED": FLASH, "CONV_2D": "qspi"}, where


def test_plan_table_names_each_memory_once():
    """SDRAM holds two plan regions (arena, boot-copied weights); the summary
    reports the memory once, with both regions' bytes."""
    from tinyops_tflm.cli.report_text import plan_table

    graph = read_model(zoo.cached("mobilenet_v3_large_r160"))
    plan = plan_model(graph, "stm32f746", 128 * KIB)
    line = next(x for x in plan_table(plan, graph).splitlines() if "memory used:" in x)
    assert line.count("sdram ") == 1, line
    assert plan.memories.count("sdram") == 2


def test_report_memory_map_keeps_sdram_regions_apart():
    """The report's SDRAM map draws the boot-copied weights after the arena:
    no two rectangles live at the same time overlap."""
    from tinyops_tflm.cli.report_data import memory_maps

    graph = read_model(zoo.cached("mobilenet_v3_large_r160"))
    plan = plan_model(graph, "stm32f746", 128 * KIB)
    rects = memory_maps(plan, graph)["sdram"]
    assert any(r["kind"] == "constant" for r in rects) and any(r["kind"] == "activation" for r in rects)
    rects.sort(key=lambda r: r["offset"])
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            if b["offset"] >= a["offset"] + a["nbytes"]:
                break
            assert a["last"] < b["first"] or b["last"] < a["first"], (a["label"], b["label"])
