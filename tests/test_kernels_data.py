"""Pooling, MEAN and data-movement kernels, bit-exact against the TFLM oracle.

Covers AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, PAD, PADV2, CONCATENATION, RESHAPE,
SQUEEZE, STRIDED_SLICE, PACK and SHAPE with seeded random single-op models
(plus int32/float32 variants of the pure data-movement ops), the
SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE flatten chain of the TF 2.x
MobileNetV3/EfficientNet models, prepare-time rejections, and (in C++) that
the pooling / MEAN / PAD tile entry points give exactly the whole-tensor
result for random row-band x channel partitions.

The oracle is the pinned tflite-micro interpreter. To keep the run short, all
cases go through ONE child process that runs TFLM in-process model after
model (a TFLM abort there fails the tests and names the case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from support import cxx
from support.oracle import assert_case_matches_oracle

from tinyops_tflm import Interpreter, ModelError, UnsupportedOpError
from tinyops_tflm.testing import single_op as so
from tinyops_tflm.testing.draw import draw_scale
from tinyops_tflm.testing.single_op import OpSpec, TensorSpec, schema
from tinyops_tflm.validation.oracle import OracleError, run_tflm

REPO = Path(__file__).resolve().parents[1]
ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


@dataclass
class Case:
    id: str
    model: bytes
    inputs: list[np.ndarray]
    num_outputs: int = 1
    params: dict = field(default_factory=dict)


def _inputs_for(meta, rng):
    out = []
    for t in meta["inputs"]:
        if t.dtype == np.int8:
            out.append(rng.integers(-128, 128, size=t.shape, dtype=np.int8))
        elif t.dtype == np.int32:
            out.append(rng.integers(-(1 << 30), 1 << 30, size=t.shape, dtype=np.int32))
        elif t.dtype == np.float32:
            out.append(rng.standard_normal(t.shape).astype(np.float32))
        else:
            raise ValueError(t.dtype)
    return out


def _retyped(model: bytes, meta: dict, dtype) -> tuple[bytes, dict]:
    """The same single-op model with every int8 tensor turned into `dtype`
    (no quantization; constant int8 data converted)."""
    m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    sg = m.subgraphs[0]
    op = sg.operators[0]
    code = m.operatorCodes[op.opcodeIndex].builtinCode
    tensors = []
    for t in meta["tensors"]:
        if t.dtype == np.int8:
            data = None if t.data is None else t.data.astype(dtype)
            tensors.append(TensorSpec(t.name, t.shape, dtype, None, None, data=data))
        else:
            tensors.append(t)
    ins = [int(i) for i in sg.inputs]
    outs = [int(i) for i in sg.outputs]
    new = so.build_model(tensors, [OpSpec(code, op.builtinOptions, list(op.inputs), list(op.outputs))], ins, outs)
    meta = dict(meta, tensors=tensors, inputs=[tensors[i] for i in ins], outputs=[tensors[i] for i in outs])
    return new, meta


def _case(cases, name, builder_out, rng, dtype=None):
    model, meta = builder_out
    if dtype is not None:
        model, meta = _retyped(model, meta, dtype)
        name = f"{name}-{np.dtype(dtype).name}"
    cases.append(Case(f"{name}-{len(cases)}", model, _inputs_for(meta, rng), len(meta["outputs"]), meta["params"]))


# ----------------------------------------------------------------------------
# Case generation (deterministic)
# ----------------------------------------------------------------------------


def _pool_cases(cases, rng):
    for op in ("average_pool_2d", "max_pool_2d"):
        builder = getattr(so, op)
        for i in range(70):
            pad = "SAME" if i % 2 else "VALID"
            fh, fw = int(rng.integers(1, 8)), int(rng.integers(1, 8))
            if pad == "VALID":
                h, w = int(rng.integers(fh, fh + 9)), int(rng.integers(fw, fw + 9))
            else:
                h, w = int(rng.integers(1, 14)), int(rng.integers(1, 14))
            n = 2 if i % 7 == 0 else 1
            c = 300 if i % 23 == 5 else int(rng.integers(1, 40))
            stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
            _case(
                cases,
                op,
                builder(
                    rng, input_shape=(n, h, w, c), filter=(fh, fw), stride=stride, padding=pad, activation=ACTS[i % 4]
                ),
                rng,
            )
        # global pooling as in classifier heads; 256x256 and 260x260 windows
        # straddle the float/integer division switch of the average kernel
        for hw, c in ((7, 96), (5, 96), (14, 96), (256, 2), (260, 2)):
            _case(
                cases,
                op,
                builder(rng, input_shape=(1, hw, hw, c), filter=hw, stride=1, padding="VALID", activation="NONE"),
                rng,
            )


def _mean_cases(cases, rng):
    axis_sets = [
        [1, 2],
        [2, 1],
        [-3, -2],
        [1],
        [2],
        [3],
        [0],
        [-1],
        [0, 1, 2, 3],
        [1, 2, 3],
        [0, 3],
        [1, 1, 2],
        [2, -3],
        [],
    ]
    for i in range(80):
        axes = axis_sets[i % len(axis_sets)]
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 10)), int(rng.integers(1, 10)), int(rng.integers(1, 40)))
        kw = {}
        if i % 9 == 4:  # output scale finer than input: positive shift, saturation
            s = draw_scale(rng)
            kw = dict(in_scale=s, out_scale=float(np.float32(s / rng.uniform(1.5, 9.0))))
        _case(cases, "mean", so.mean(rng, input_shape=shape, axes=axes, keep_dims=bool(i % 2), **kw), rng)
    # other ranks
    for shape, axes in [
        ((5, 7, 3), [1]),
        ((5, 7, 3), [0, 2]),
        ((6, 9), [-1]),
        ((6, 9), [0]),
        ((2, 3, 4, 5, 6), [1, 3]),
        ((2, 3, 4, 5, 6), [2, 3]),
        ((11,), [0]),
        ((4, 4, 4), []),
    ]:
        for keep in (False, True):
            _case(cases, "mean", so.mean(rng, input_shape=shape, axes=axes, keep_dims=keep), rng)
    # model-sized global averages, incl. n large enough to clamp the 1/n shift
    for shape, ratio in [
        ((1, 56, 56, 16), None),
        ((1, 7, 7, 576), None),
        ((1, 20, 20, 72), None),
        ((1, 64, 64, 32), 2.0**-24),
        ((1, 14, 14, 40), 2.0**-28),
        ((1, 8, 8, 24), 0.3),
    ]:
        kw = {}
        if ratio is not None:
            s = draw_scale(rng)
            kw = dict(in_scale=s, out_scale=float(np.float32(s / ratio)))
        for keep in (False, True):
            _case(cases, "mean", so.mean(rng, input_shape=shape, axes=[1, 2], keep_dims=keep, **kw), rng)


def _rand_shape(rng, lo_rank, hi_rank, max_dim=6):
    return tuple(int(rng.integers(1, max_dim + 1)) for _ in range(int(rng.integers(lo_rank, hi_rank + 1))))


def _pad_cases(cases, rng):
    for i in range(45):
        shape = _rand_shape(rng, 1, 5)
        pads = [[int(rng.integers(0, 4)), int(rng.integers(0, 4))] for _ in shape]
        _case(cases, "pad", so.pad(rng, input_shape=shape, paddings=pads), rng)
        _case(cases, "padv2", so.padv2(rng, input_shape=shape, paddings=pads), rng)
    for dtype in (np.int32, np.float32):
        for i in range(6):
            shape = _rand_shape(rng, 1, 4)
            pads = [[int(rng.integers(0, 3)), int(rng.integers(0, 3))] for _ in shape]
            _case(cases, "pad", so.pad(rng, input_shape=shape, paddings=pads), rng, dtype)
            _case(cases, "padv2", so.padv2(rng, input_shape=shape, paddings=pads), rng, dtype)


def _concat_cases(cases, rng):
    for i in range(50):
        nd = 1 + i % 4
        base = list(_rand_shape(rng, nd, nd))
        axis = int(rng.integers(-nd, nd))
        k = 1 if i % 17 == 0 else int(rng.integers(2, 5))
        shapes = []
        for _ in range(k):
            s = list(base)
            s[axis % nd] = int(rng.integers(1, 6))
            shapes.append(tuple(s))
        _case(cases, "concatenation", so.concatenation(rng, shapes=shapes, axis=axis), rng)
    for dtype in (np.int32, np.float32):
        for i in range(4):
            _case(cases, "concatenation", so.concatenation(rng), rng, dtype)


def _reshape_cases(cases, rng):
    for i in range(15):
        _case(cases, "reshape", so.reshape(rng), rng)
        _case(cases, "squeeze", so.squeeze(rng), rng)
    _case(cases, "reshape", so.reshape(rng), rng, np.int32)
    _case(cases, "reshape", so.reshape(rng), rng, np.float32)


def _slice_cases(cases, rng):
    for i in range(70):
        _case(cases, "strided_slice", so.strided_slice(rng), rng)
    for i in range(15):
        _case(cases, "strided_slice", so.strided_slice(rng), rng, np.int32)
    for i in range(5):
        _case(cases, "strided_slice", so.strided_slice(rng), rng, np.float32)
    # hand-picked: out-of-range indices are clamped, negative strides, masks
    specials = [
        ((7,), [-100], [100], [1], 0, 0, 0),
        ((7,), [100], [-100], [-1], 0, 0, 0),
        ((7,), [5], [1], [-2], 0, 0, 0),
        ((7,), [-2], [-6], [-1], 0, 0, 0),
        ((4, 6), [1, 5], [3, 0], [1, -2], 0b10, 0b01, 0),
        ((4, 6), [-1, 0], [0, 6], [1, 3], 0, 0, 0b01),
        ((2, 3, 4, 5), [1, 0, 3, -1], [2, 3, 0, 0], [1, 2, -1, -1], 0b0100, 0b1000, 0b0001),
        ((2, 3, 4, 5), [0, -3, 0, 4], [2, 3, 4, 5], [1, 1, 3, 1], 0, 0, 0b1010),
        ((3, 5, 1), [0, 0, 0], [3, 5, 1], [3, 5, 1], 0, 0, 0),
        ((4,), [3], [4], [1], 0, 0, 1),
    ]
    for shape, b, e, s, bm, em, sm in specials:
        for dtype in (None, np.int32):
            _case(
                cases,
                "strided_slice",
                so.strided_slice(
                    rng, input_shape=shape, begin=b, end=e, strides=s, begin_mask=bm, end_mask=em, shrink_axis_mask=sm
                ),
                rng,
                dtype,
            )


def _pack_shape_cases(cases, rng):
    for i in range(20):
        _case(cases, "pack", so.pack(rng), rng)
    for i in range(8):
        _case(cases, "pack", so.pack(rng), rng, np.int32)
    _case(cases, "pack", so.pack(rng, shape=(), count=4, axis=0), rng, np.int32)
    _case(cases, "pack", so.pack(rng), rng, np.float32)
    for i in range(8):
        _case(cases, "shape", so.shape(rng), rng)
    _case(cases, "shape", so.shape(rng, input_shape=(1, 7, 7, 3, 2)), rng)


def flatten_chain(n: int, h: int, w: int, c: int, head: str, scale=0.05, zp=-3) -> bytes:
    """A -> SHAPE -> STRIDED_SLICE(shrink) -> PACK -> RESHAPE, where A is MEAN
    (keep_dims=False) over H,W ("mean") or a global AVERAGE_POOL_2D then
    RESHAPE to [N, C] ("pool") -- the flatten/unflatten pattern of the TF 2.x
    EfficientNet / MobileNetV3 models: reshape [N, C] back to [N, 1, 1, C]
    with the runtime-computed shape [N, 1, 1, C]."""
    T = TensorSpec
    so_ = schema.ShapeOptionsT()
    so_.outType = schema.TensorType.INT32
    ss = schema.StridedSliceOptionsT()
    ss.shrinkAxisMask = 1
    pk = schema.PackOptionsT()
    pk.valuesCount = 4
    pk.axis = 0
    tensors = [
        T("x", (n, h, w, c), np.int8, scale, zp),
        T("axes", (2,), np.int32, data=np.array([1, 2], np.int32)),
        T("flat", (n, c), np.int8, scale * 0.7, zp + 2),
        T("shape", (2,), np.int32),
        T("begin", (1,), np.int32, data=np.array([0], np.int32)),
        T("end", (1,), np.int32, data=np.array([1], np.int32)),
        T("strides", (1,), np.int32, data=np.array([1], np.int32)),
        T("batch", (), np.int32),
        T("one_a", (), np.int32, data=np.array(1, np.int32)),
        T("one_b", (), np.int32, data=np.array(1, np.int32)),
        T("chans", (), np.int32, data=np.array(c, np.int32)),
        T("newshape", (4,), np.int32),
        T("y", (n, 1, 1, c), np.int8, scale * 0.7, zp + 2),
    ]
    if head == "mean":
        ro = schema.ReducerOptionsT()
        ro.keepDims = False
        first = [OpSpec("MEAN", ro, [0, 1], [2])]
    else:
        tensors[2] = T("flat", (n, c), np.int8, scale, zp)
        tensors[-1] = T("y", (n, 1, 1, c), np.int8, scale, zp)
        tensors.append(T("pooled", (n, 1, 1, c), np.int8, scale, zp))
        tensors.append(T("flat_shape", (2,), np.int32, data=np.array([n, c], np.int32)))
        po = schema.Pool2DOptionsT()
        po.padding = schema.Padding.VALID
        po.strideH = po.strideW = 1
        po.filterHeight, po.filterWidth = h, w
        first = [OpSpec("AVERAGE_POOL_2D", po, [0], [13]), OpSpec("RESHAPE", schema.ReshapeOptionsT(), [13, 14], [2])]
    ops = first + [
        OpSpec("SHAPE", so_, [2], [3]),
        OpSpec("STRIDED_SLICE", ss, [3, 4, 5, 6], [7]),
        OpSpec("PACK", pk, [7, 8, 9, 10], [11]),
        OpSpec("RESHAPE", schema.ReshapeOptionsT(), [2, 11], [12]),
    ]
    return so.build_model(tensors, ops, [0], [12])


def _chain_cases(cases, rng):
    for n, h, w, c in [(1, 4, 4, 1152), (1, 8, 8, 480), (2, 3, 5, 7), (1, 1, 1, 16)]:
        for head in ("mean", "pool"):
            x = rng.integers(-128, 128, size=(n, h, w, c), dtype=np.int8)
            cases.append(Case(f"chain-{head}-{n}x{h}x{w}x{c}-{len(cases)}", flatten_chain(n, h, w, c, head), [x]))


def _all_cases() -> list[Case]:
    rng = np.random.default_rng(20240611)
    cases: list[Case] = []
    for gen in (
        _pool_cases,
        _mean_cases,
        _pad_cases,
        _concat_cases,
        _reshape_cases,
        _slice_cases,
        _pack_shape_cases,
        _chain_cases,
    ):
        gen(cases, rng)
    return cases


CASES = _all_cases()


# ----------------------------------------------------------------------------
# Batched oracle: one child process runs TFLM on every case
# ----------------------------------------------------------------------------


# (the `oracle` fixture of tests/conftest.py runs them)


@pytest.mark.parametrize("k", range(len(CASES)), ids=[c.id for c in CASES])
def test_matches_tflm(oracle, k):
    assert_case_matches_oracle(CASES[k], oracle[k])


def test_case_mix():
    """The randomized cases really cover the variants the kernels branch on."""
    pools = [c.params for c in CASES if c.id.startswith(("average_pool_2d", "max_pool_2d"))]
    assert {p["filter"][0] for p in pools} >= set(range(1, 8))
    assert {p["stride"][0] for p in pools} >= {1, 2, 3}
    assert {p["padding"] for p in pools} == {"SAME", "VALID"}
    assert {p["activation"] for p in pools} == set(ACTS)
    means = [c.params for c in CASES if c.id.startswith("mean")]
    assert {tuple(p["axes"]) for p in means} >= {(1, 2), (1,), (2,), (3,), (0, 1, 2, 3)}
    assert {p["keep_dims"] for p in means} == {True, False}
    assert any(p["out_scale"] < p["in_scale"] for p in means)
    ss = [c.params for c in CASES if c.id.startswith("strided_slice")]
    assert any(p["shrink_axis_mask"] for p in ss) and any(p["begin_mask"] for p in ss)
    assert any(min(p["strides"]) < 0 for p in ss)


# ----------------------------------------------------------------------------
# Prepare-time rejections
# ----------------------------------------------------------------------------


def _tflm_rejects(model: bytes, x) -> bool:
    try:
        run_tflm(model, [x])
    except OracleError:
        return True
    return False


def test_rejects_what_tflm_rejects():
    rng = np.random.default_rng(5)
    bad = []
    # int8 CONCATENATION with an input scale differing from the output's
    m, meta = so.concatenation(rng, shapes=[(1, 2, 3), (1, 2, 4)], axis=-1)
    t = meta["tensors"]
    t[1] = TensorSpec(t[1].name, t[1].shape, np.int8, t[1].scale * 2, t[1].zero_point)
    opt = schema.ConcatenationOptionsT()
    opt.axis = -1
    bad.append(so.build_model(t, [OpSpec("CONCATENATION", opt, [0, 1], [2])], [0, 1], [2]))
    # pooling with different input/output zero points
    m, meta = so.average_pool_2d(rng, input_shape=(1, 4, 4, 3), filter=2, stride=2, padding="VALID")
    t = meta["tensors"]
    t[1] = TensorSpec(t[1].name, t[1].shape, np.int8, t[1].scale, t[1].zero_point + 1)
    po = schema.Pool2DOptionsT()
    po.padding, po.strideH, po.strideW, po.filterHeight, po.filterWidth = schema.Padding.VALID, 2, 2, 2, 2
    bad.append(so.build_model(t, [OpSpec("AVERAGE_POOL_2D", po, [0], [1])], [0], [1]))
    # PADV2 whose constant value has another zero point than the output
    m, meta = so.padv2(rng, input_shape=(2, 3), paddings=[[1, 0], [0, 2]], zp=4)
    t = meta["tensors"]
    t[2] = TensorSpec(t[2].name, t[2].shape, np.int8, t[2].scale, 5, data=t[2].data)
    bad.append(so.build_model(t, [OpSpec("PADV2", schema.PadV2OptionsT(), [0, 1, 2], [3])], [0], [3]))
    # 5-D STRIDED_SLICE (TFLM: at most 4-D)
    t = [TensorSpec("x", (1, 2, 2, 2, 2), np.int8, 0.1, 0)]
    for nm in ("begin", "end", "strides"):
        t.append(TensorSpec(nm, (5,), np.int32, data=np.array([0] * 5 if nm == "begin" else [1] * 5, np.int32)))
    t.append(TensorSpec("y", (1, 1, 1, 1, 1), np.int8, 0.1, 0))
    bad.append(so.build_model(t, [OpSpec("STRIDED_SLICE", schema.StridedSliceOptionsT(), [0, 1, 2, 3], [4])], [0], [4]))
    for model in bad:
        sg = schema.ModelT.InitFromPackedBuf(bytearray(model), 0).subgraphs[0]
        xs = [np.zeros(sg.tensors[i].shape, np.int8) for i in sg.inputs]
        assert _tflm_rejects(model, xs), "test model should be invalid for TFLM too"
        with pytest.raises((ModelError, UnsupportedOpError)):
            Interpreter.from_bytes(model)


def test_rejects_masks_tflm_would_silently_ignore():
    rng = np.random.default_rng(6)
    m, meta = so.strided_slice(rng, input_shape=(3, 4), begin=[0, 0], end=[3, 4], strides=[1, 1])
    t = meta["tensors"]
    opt = schema.StridedSliceOptionsT()
    opt.ellipsisMask = 1
    model = so.build_model(t, [OpSpec("STRIDED_SLICE", opt, [0, 1, 2, 3], [4])], [0], [4])
    with pytest.raises(UnsupportedOpError, match="ellipsis"):
        Interpreter.from_bytes(model)


def test_mean_rejects_nonconstant_axes():
    t = [
        TensorSpec("x", (1, 3, 3, 4), np.int8, 0.1, 0),
        TensorSpec("axes", (2,), np.int32),
        TensorSpec("y", (1, 4), np.int8, 0.1, 0),
    ]
    ro = schema.ReducerOptionsT()
    model = so.build_model(t, [OpSpec("MEAN", ro, [0, 1], [2])], [0, 1], [2])
    with pytest.raises(UnsupportedOpError, match="axis"):
        Interpreter.from_bytes(model)


# ----------------------------------------------------------------------------
# Tile entry points: any row band x channel partition == the whole tensor
# (tests/cpp/tile_entry_points.cc)
# ----------------------------------------------------------------------------


def test_tile_partitions_equal_whole_tensor():
    exe = cxx.build(
        "tile_entry_points.cc",
        cxx.kernel_sources("pooling.cc", "mean.cc", "pad.cc", "quant.cc", "op_common.cc"),
        cxx.SANITIZE_ASAN_UBSAN,
    )
    out = cxx.run(exe, timeout=300, env={"ASAN_OPTIONS": "detect_leaks=0"})
    assert "failures: 0" in out
