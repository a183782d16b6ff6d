"""The C++ plan loader validates every byte it trusts: corrupt plans raise, never crash."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tinyops_tflm import PlanError, TinyOpsError
from tinyops_tflm.frontend.ir import Graph, Operator, QuantParams, Tensor
from tinyops_tflm.planning.plan_writer import write_plan
from tinyops_tflm.runtime.engine import core, translate_core_error


def _q(scale: float, zp: int) -> QuantParams:
    return QuantParams(np.array([scale], np.float32), np.array([zp], np.int64), 0)


def small_graph() -> Graph:
    """input -> RELU6 -> ADD(., const) -> output: small, but with constants and ops."""
    i8 = np.dtype(np.int8)
    rng = np.random.default_rng(0)
    tensors = [
        Tensor(0, "x", 9, i8, (1, 4, 4, 3), _q(0.05, -3)),
        Tensor(1, "r", 9, i8, (1, 4, 4, 3), _q(0.05, -3)),
        Tensor(2, "c", 9, i8, (1, 1, 1, 3), _q(0.02, 5), rng.integers(-128, 128, 3, np.int8).tobytes()),
        Tensor(3, "y", 9, i8, (1, 4, 4, 3), _q(0.07, 1)),
    ]
    ops = [
        Operator(0, 21, "RELU6", (0,), (1,), {}),
        Operator(1, 0, "ADD", (1, 2), (3,), {"fused_activation_function": 0}),
    ]
    return Graph(tensors, ops, (0,), (3,))


def load(plan: bytes, arena: int, constants: bytes):
    _core = core()
    try:
        return _core.HostEngine(plan, [(arena, None), (len(constants), constants)])
    except _core.CoreError as err:
        raise translate_core_error(err) from None


def test_valid_plan_loads_and_runs():
    w = write_plan(small_graph())
    eng = load(w.plan, w.arena_bytes, w.constants)
    eng.set_tensor(0, np.zeros((1, 4, 4, 3), np.int8))
    eng.invoke()
    assert eng.get_tensor(3).shape == (1, 4, 4, 3)


@pytest.mark.parametrize("cut", [0, 1, 4, 63, 64, 100, -1])
def test_truncated_plan_raises(cut):
    w = write_plan(small_graph())
    plan = w.plan[:cut] if cut >= 0 else w.plan[:-4]
    with pytest.raises(PlanError):
        load(plan, w.arena_bytes, w.constants)


def test_bad_magic_and_version():
    w = write_plan(small_graph())
    with pytest.raises(PlanError, match="magic"):
        load(b"XXXX" + w.plan[4:], w.arena_bytes, w.constants)
    with pytest.raises(PlanError, match="version"):
        load(w.plan[:4] + struct.pack("<I", 99) + w.plan[8:], w.arena_bytes, w.constants)


def test_region_too_small_is_reported():
    w = write_plan(small_graph())
    with pytest.raises(TinyOpsError, match="region 0"):
        load(w.plan, w.arena_bytes - 16, w.constants)


def test_random_corruption_never_crashes():
    """Flip bytes anywhere in the plan: the loader either accepts a plan whose
    every index and size is in range, or raises; it never crashes."""
    w = write_plan(small_graph())
    rng = np.random.default_rng(1234)
    raised = 0
    for _ in range(3000):
        plan = bytearray(w.plan)
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(0, len(plan)))
            plan[pos] = int(rng.integers(0, 256))
        try:
            eng = load(bytes(plan), w.arena_bytes, w.constants)
        except TinyOpsError:
            raised += 1
            continue
        try:
            eng.set_tensor(0, np.ones((1, 4, 4, 3), np.int8))
        except (ValueError, IndexError):
            pass  # the corruption changed the input's shape or storage
        eng.invoke()
    assert raised > 100  # the corruption really hit validated fields


def test_misaligned_tile_buffer_is_rejected():
    """A schedule's tile buffers hold int32 accumulators and unpacked words: one
    off a 4-byte boundary is refused at load (benchmarks/fuzz_long.py found a
    depthwise scratch buffer moved to an odd SRAM offset, a misaligned store
    under UBSan)."""
    from pathlib import Path

    from tinyops_tflm.planning.plan_writer import _OP
    from tinyops_tflm.testing import fuzz

    model = (Path(__file__).resolve().parent / "fuzz_corpus" / "model_demo_tiny.tflite").read_bytes()
    plan, regions = fuzz.split_plan_case(fuzz.plan_case(model, "stm32f746", "16K"))
    plan = bytearray(plan)
    h = struct.unpack_from("<16I", plan)
    ops_at = 64 + 16 * h[3] + 64 * h[4]
    scratch_at = 16 + 8 * 8  # OpSchedule::scratch (csrc/dma_partition/schedule.h)
    for o in range(h[5]):
        sched = struct.unpack_from("<I", plan, ops_at + o * _OP.size + _OP.size - 16)[0]
        offset, nbytes = struct.unpack_from("<II", plan, h[8] + sched + scratch_at)
        if nbytes:
            struct.pack_into("<I", plan, h[8] + sched + scratch_at, offset + 2)
            break
    else:
        pytest.fail("no op of the demo plan has a scratch buffer")
    _core = core()
    with pytest.raises(PlanError, match=f"op {o} .*scratch buffer at SRAM offset {offset + 2} is not 4-byte aligned"):
        try:
            _core.HostEngine(bytes(plan), regions)
        except _core.CoreError as err:
            raise translate_core_error(err) from None


def test_mean_scales_needing_a_left_shift_past_the_word_are_rejected():
    """Found by benchmarks/fuzz_long.py under UBSan: an output scale near the
    smallest float made MEAN's requantization shift left by > 31 bits."""
    from tinyops_tflm import Interpreter
    from tinyops_tflm.testing import single_op

    data, _ = single_op.mean(
        np.random.default_rng(0), input_shape=(1, 4, 4, 3), axes=(1, 2), keep_dims=True, in_scale=0.05, out_scale=1e-42
    )
    with pytest.raises(TinyOpsError, match=r"MEAN: input scale .* needs a left shift of \d+ \(> 31\)"):
        Interpreter.from_bytes(data)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_pool_with_a_stride_near_int32_max(padding):
    """Found by benchmarks/fuzz_long.py under UBSan: the output size of a
    pooling stride near INT32_MAX overflowed int32 (now 64-bit, as TFLM)."""
    from tinyops_tflm import Interpreter
    from tinyops_tflm.testing import single_op

    data, meta = single_op.max_pool_2d(
        np.random.default_rng(0),
        input_shape=(1, 5, 5, 2),
        filter=(2, 2),
        stride=(2**31 - 1, 2**31 - 1),
        padding=padding,
        activation="NONE",
    )
    interp = Interpreter.from_bytes(data)
    x = np.arange(50, dtype=np.int8).reshape(1, 5, 5, 2)
    y = interp.run(x)[0]
    assert y.shape == (1, 1, 1, 2)
    # one window, at the top left (SAME adds no padding: the stride covers the input)
    assert np.array_equal(y[0, 0, 0], x[0, :2, :2, :].reshape(-1, 2).max(axis=0))
