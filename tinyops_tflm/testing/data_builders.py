"""Single-op builders of the data-movement ops: PAD, PADV2, RESHAPE,
SQUEEZE, CONCATENATION, STRIDED_SLICE, PACK and SHAPE.  None of them
requantizes, so input and output share one ``scale``/``zp``."""

from __future__ import annotations

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .draw import activation_code, draw_quant, draw_zp, finish, pick, rand_shape
from .tflite_model import OpSpec, TensorSpec


def _rand_pads(rng, nd: int) -> list[list[int]]:
    return [[int(rng.integers(0, 3)), int(rng.integers(0, 3))] for _ in range(nd)]


def _pad_common(op, rng, input_shape, paddings, scale, zp, constant=None):
    input_shape = tuple(pick(input_shape, lambda: rand_shape(rng)))
    nd = len(input_shape)
    if nd > 5:
        raise ValueError(f"{op}: TFLM pads at most 5-D tensors")
    paddings = np.asarray(pick(paddings, lambda: _rand_pads(rng, nd)), dtype=np.int32).reshape(nd, 2)
    if (paddings < 0).any():
        raise ValueError(f"{op}: paddings must be >= 0")
    scale, zp = draw_quant(rng, scale, zp)
    out_shape = tuple(int(d + p[0] + p[1]) for d, p in zip(input_shape, paddings))
    tensors = [
        TensorSpec("input", input_shape, np.int8, scale, zp),
        TensorSpec("paddings", (nd, 2), np.int32, data=paddings),
    ]
    params = dict(input_shape=input_shape, paddings=paddings.tolist(), scale=scale, zp=zp)
    ins = [0, 1]
    if op == "PADV2":
        constant = int(pick(constant, lambda: draw_zp(rng)))
        tensors.append(TensorSpec("constant_value", (), np.int8, scale, zp, data=np.array(constant, np.int8)))
        params["constant"] = constant
        ins.append(2)
        opt = schema.PadV2OptionsT()
    else:
        opt = schema.PadOptionsT()
    tensors.append(TensorSpec("output", out_shape, np.int8, scale, zp))
    out_idx = len(tensors) - 1
    return finish(op, params, tensors, [OpSpec(op, opt, ins, [out_idx])], [0], [out_idx])


def pad(rng, *, input_shape=None, paddings=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """PAD with constant int32 paddings [n, 2]; pads with the output zero
    point; TFLM does not requantize, so in/out quantization is identical."""
    return _pad_common("PAD", rng, input_shape, paddings, scale, zp)


def padv2(rng, *, input_shape=None, paddings=None, constant=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """PADV2 with a constant int8 scalar pad value ``constant`` (quantized
    value; TFLM requires its scale/zp to equal the output's)."""
    return _pad_common("PADV2", rng, input_shape, paddings, scale, zp, constant)


def _rand_factor_shape(rng, total: int) -> tuple[int, ...]:
    dims = []
    rem = total
    nd = int(rng.integers(1, 5))
    for _ in range(nd - 1):
        divs = [d for d in range(1, rem + 1) if rem % d == 0]
        d = int(rng.choice(divs))
        dims.append(d)
        rem //= d
    dims.append(rem)
    return tuple(int(x) for x in rng.permutation(dims))


def reshape(rng, *, input_shape=None, new_shape=None, shape_tensor=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """RESHAPE; with ``shape_tensor`` the target shape is a constant int32
    input, otherwise only ReshapeOptions.new_shape carries it.  ``new_shape``
    may contain one -1 (then the output tensor gets the resolved shape)."""
    input_shape = tuple(pick(input_shape, lambda: rand_shape(rng)))
    total = int(np.prod(input_shape, dtype=np.int64))
    new_shape = tuple(int(d) for d in pick(new_shape, lambda: _rand_factor_shape(rng, total)))
    shape_tensor = bool(pick(shape_tensor, lambda: bool(rng.random() < 0.6)))
    known = int(np.prod([d for d in new_shape if d != -1], dtype=np.int64))
    out_shape = tuple(total // known if d == -1 else d for d in new_shape)
    if int(np.prod(out_shape, dtype=np.int64)) != total:
        raise ValueError(f"RESHAPE: cannot reshape {input_shape} to {new_shape}")
    scale, zp = draw_quant(rng, scale, zp)
    tensors = [TensorSpec("input", input_shape, np.int8, scale, zp)]
    opt = schema.ReshapeOptionsT()
    opt.newShape = list(new_shape)
    ins = [0]
    if shape_tensor:
        tensors.append(TensorSpec("shape", (len(new_shape),), np.int32, data=np.array(new_shape, np.int32)))
        ins.append(1)
    tensors.append(TensorSpec("output", out_shape, np.int8, scale, zp))
    out_idx = len(tensors) - 1
    params = dict(input_shape=input_shape, new_shape=new_shape, shape_tensor=shape_tensor, scale=scale, zp=zp)
    return finish("RESHAPE", params, tensors, [OpSpec("RESHAPE", opt, ins, [out_idx])], [0], [out_idx])


def squeeze(rng, *, input_shape=None, squeeze_dims=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """SQUEEZE of size-1 dims ``squeeze_dims`` (empty/None-drawn [] = all)."""
    if input_shape is None:
        nd = int(rng.integers(2, 6))
        input_shape = tuple(1 if rng.random() < 0.5 else int(rng.integers(1, 6)) for _ in range(nd))
        if 1 not in input_shape:
            input_shape = input_shape[:-1] + (1,)
    input_shape = tuple(input_shape)
    nd = len(input_shape)
    ones = [i for i, d in enumerate(input_shape) if d == 1]
    if squeeze_dims is None:
        if rng.random() < 0.3 or not ones:
            squeeze_dims = []
        else:
            k = int(rng.integers(1, len(ones) + 1))
            squeeze_dims = [int(i) - (nd if rng.random() < 0.3 else 0) for i in rng.choice(ones, size=k, replace=False)]
    squeeze_dims = [int(d) for d in squeeze_dims]
    sq = {d % nd for d in squeeze_dims} if squeeze_dims else set(ones)
    for d in sq:
        if input_shape[d] != 1:
            raise ValueError(f"SQUEEZE: dim {d} of {input_shape} is not 1")
    out_shape = tuple(d for i, d in enumerate(input_shape) if i not in sq)
    scale, zp = draw_quant(rng, scale, zp)
    opt = schema.SqueezeOptionsT()
    opt.squeezeDims = squeeze_dims
    tensors = [
        TensorSpec("input", input_shape, np.int8, scale, zp),
        TensorSpec("output", out_shape, np.int8, scale, zp),
    ]
    params = dict(input_shape=input_shape, squeeze_dims=squeeze_dims, scale=scale, zp=zp)
    return finish("SQUEEZE", params, tensors, [OpSpec("SQUEEZE", opt, [0], [1])], [0], [1])


def concatenation(rng, *, shapes=None, axis=None, activation="NONE", scale=None, zp=None) -> tuple[bytes, dict]:
    """CONCATENATION of runtime inputs along ``axis`` (negative allowed).
    TFLM requires every int8 input to have exactly the output's scale and zp
    (no requantization), fused activation NONE (others fail Prepare), and at
    most 10 inputs."""
    if activation is None:
        activation = "NONE"
    if activation.upper() != "NONE":
        raise ValueError("CONCATENATION: TFLM supports only fused activation NONE")
    if shapes is None:
        base = list(rand_shape(rng))
        nd = len(base)
        axis = int(pick(axis, lambda: int(rng.integers(-nd, nd))))
        k = int(rng.integers(1, 5))
        shapes = []
        for _ in range(k):
            s = list(base)
            s[axis % nd] = int(rng.integers(1, 6))
            shapes.append(tuple(s))
    shapes = [tuple(s) for s in shapes]
    nd = len(shapes[0])
    axis = int(pick(axis, lambda: int(rng.integers(-nd, nd))))
    a = axis % nd
    if len(shapes) > 10:
        raise ValueError("CONCATENATION: TFLM supports at most 10 inputs")
    for s in shapes:
        if len(s) != nd or any(s[i] != shapes[0][i] for i in range(nd) if i != a):
            raise ValueError(f"CONCATENATION: incompatible shapes {shapes} for axis {axis}")
    out_shape = list(shapes[0])
    out_shape[a] = sum(s[a] for s in shapes)
    scale, zp = draw_quant(rng, scale, zp)
    tensors = [TensorSpec(f"input{i}", s, np.int8, scale, zp) for i, s in enumerate(shapes)]
    tensors.append(TensorSpec("output", tuple(out_shape), np.int8, scale, zp))
    opt = schema.ConcatenationOptionsT()
    opt.axis = axis
    opt.fusedActivationFunction = activation_code("NONE")
    ins = list(range(len(shapes)))
    out_idx = len(shapes)
    params = dict(shapes=shapes, axis=axis, activation="NONE", scale=scale, zp=zp)
    return finish("CONCATENATION", params, tensors, [OpSpec("CONCATENATION", opt, ins, [out_idx])], ins, [out_idx])


def strided_slice(
    rng,
    *,
    input_shape=None,
    begin=None,
    end=None,
    strides=None,
    begin_mask=None,
    end_mask=None,
    shrink_axis_mask=None,
    scale=None,
    zp=None,
) -> tuple[bytes, dict]:
    """STRIDED_SLICE (1-4-D) with constant int32 begin/end/strides and
    begin/end/shrink-axis masks (TFLM ignores ellipsis/new-axis masks).
    Drawn parameters stay in range; the output shape follows TF semantics."""
    input_shape = tuple(pick(input_shape, lambda: rand_shape(rng)))
    nd = len(input_shape)
    if nd > 4:
        raise ValueError("STRIDED_SLICE: TFLM supports at most 4-D inputs")
    if begin is None or end is None or strides is None:
        b, e, st = [], [], []
        bm = em = sm = 0
        for i, d in enumerate(input_shape):
            s = int(rng.choice([1, 1, 2, 3, -1, -2]))
            if rng.random() < 0.15:
                sm |= 1 << i
                s = 1
                bi = int(rng.integers(0, d))
                if rng.random() < 0.3:
                    bi -= d  # negative index
                b.append(bi)
                e.append(bi + 1 if bi != -1 else 0)
                st.append(1)
                continue
            if s > 0:
                bi = int(rng.integers(0, d))
                ei = int(rng.integers(bi + 1, d + 1))
            else:
                bi = int(rng.integers(0, d))
                ei = int(rng.integers(-1, bi)) if bi > 0 else -1
                if ei == -1:
                    em |= 1 << i  # run to the start: expressed with end_mask
                    ei = 0
            if rng.random() < 0.15:
                bm |= 1 << i
            if rng.random() < 0.15:
                em |= 1 << i
            b.append(bi)
            e.append(ei)
            st.append(s)
        begin = pick(begin, lambda: b)
        end = pick(end, lambda: e)
        strides = pick(strides, lambda: st)
        begin_mask = pick(begin_mask, lambda: bm)
        end_mask = pick(end_mask, lambda: em)
        shrink_axis_mask = pick(shrink_axis_mask, lambda: sm)
    begin = [int(x) for x in begin]
    end = [int(x) for x in end]
    strides = [int(x) for x in strides]
    begin_mask = int(begin_mask or 0)
    end_mask = int(end_mask or 0)
    shrink_axis_mask = int(shrink_axis_mask or 0)
    if not len(begin) == len(end) == len(strides) == nd:
        raise ValueError("STRIDED_SLICE: begin/end/strides must have one entry per input dimension")
    out_shape = []
    for i, d in enumerate(input_shape):
        if strides[i] == 0:
            raise ValueError("STRIDED_SLICE: stride must be non-zero")
        if shrink_axis_mask & (1 << i):
            continue
        sl = slice(None if begin_mask & (1 << i) else begin[i], None if end_mask & (1 << i) else end[i], strides[i])
        out_shape.append(len(range(*sl.indices(d))))
    scale, zp = draw_quant(rng, scale, zp)
    opt = schema.StridedSliceOptionsT()
    opt.beginMask, opt.endMask, opt.shrinkAxisMask = begin_mask, end_mask, shrink_axis_mask
    tensors = [
        TensorSpec("input", input_shape, np.int8, scale, zp),
        TensorSpec("begin", (nd,), np.int32, data=np.array(begin, np.int32)),
        TensorSpec("end", (nd,), np.int32, data=np.array(end, np.int32)),
        TensorSpec("strides", (nd,), np.int32, data=np.array(strides, np.int32)),
        TensorSpec("output", tuple(out_shape), np.int8, scale, zp),
    ]
    params = dict(
        input_shape=input_shape,
        begin=begin,
        end=end,
        strides=strides,
        begin_mask=begin_mask,
        end_mask=end_mask,
        shrink_axis_mask=shrink_axis_mask,
        scale=scale,
        zp=zp,
    )
    return finish("STRIDED_SLICE", params, tensors, [OpSpec("STRIDED_SLICE", opt, [0, 1, 2, 3], [4])], [0], [4])


def pack(rng, *, shape=None, count=None, axis=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """PACK ``count`` runtime inputs of equal ``shape`` along new ``axis``
    (in [-(n+1), n]); equal quantization everywhere (TFLM copies bytes)."""
    shape = tuple(pick(shape, lambda: tuple(int(rng.integers(1, 6)) for _ in range(int(rng.integers(1, 4))))))
    count = int(pick(count, lambda: int(rng.integers(1, 5))))
    nd = len(shape)
    axis = int(pick(axis, lambda: int(rng.integers(-(nd + 1), nd + 1))))
    a = axis % (nd + 1)
    out_shape = shape[:a] + (count,) + shape[a:]
    scale, zp = draw_quant(rng, scale, zp)
    tensors = [TensorSpec(f"input{i}", shape, np.int8, scale, zp) for i in range(count)]
    tensors.append(TensorSpec("output", out_shape, np.int8, scale, zp))
    opt = schema.PackOptionsT()
    opt.valuesCount = count
    opt.axis = axis
    ins = list(range(count))
    params = dict(shape=shape, count=count, axis=axis, scale=scale, zp=zp)
    return finish("PACK", params, tensors, [OpSpec("PACK", opt, ins, [count])], ins, [count])


def shape(rng, *, input_shape=None, scale=None, zp=None) -> tuple[bytes, dict]:
    """SHAPE of an int8 tensor, output int32 [ndims]."""
    input_shape = tuple(pick(input_shape, lambda: rand_shape(rng)))
    scale, zp = draw_quant(rng, scale, zp)
    opt = schema.ShapeOptionsT()
    opt.outType = schema.TensorType.INT32
    tensors = [
        TensorSpec("input", input_shape, np.int8, scale, zp),
        TensorSpec("output", (len(input_shape),), np.int32),
    ]
    params = dict(input_shape=input_shape, scale=scale, zp=zp)
    return finish("SHAPE", params, tensors, [OpSpec("SHAPE", opt, [0], [1])], [0], [1])
