"""Seeded random CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED cases for the
kernel tests (kernel sizes 1..7, strides 1..3, dilations 1..3, SAME/VALID,
all fused activations, every input zero point, per-channel scales spanning
orders of magnitude, odd shapes, channel counts that are not multiples of
8/16, depth multipliers, grouped convolutions, FC with keep_num_dims and
2D..4D inputs, with and without bias), and :func:`check_cases`: each case in
the pinned tflite-micro interpreter (many per child process), through the
harness's three modes and through the tinyops Interpreter, byte for byte."""

from __future__ import annotations

import ctypes
import math

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from support.conv_harness import ACTS, run_harness
from tinyops_tflm.testing.draw import conv_output_size, f32, int8_dev, log_uniform
from tinyops_tflm.testing.single_op import TensorSpec, build_model
from tinyops_tflm.validation.oracle import OracleError, run_tflm_batch


class Case:
    """One single-op model: specs of input, filter, bias (or None), output."""

    def __init__(self, op, options, inp, filt, bias, out, x, bias_form="index"):
        self.op, self.options = op, options
        self.inp, self.filt, self.bias, self.out = inp, filt, bias, out
        self.x = x
        self.bias_form = bias_form  # with no bias: "omit" (2 inputs) or "index" (-1)

    def __repr__(self):
        o = self.options
        return (
            f"{self.op} in={self.inp.shape} zp={self.inp.zero_point} filter={self.filt.shape} "
            f"per_channel={len(self.filt.scales) > 1} bias={self.bias is not None} out={self.out.shape} "
            f"{ {k: v for k, v in o.items()} }"
        )

    def model(self) -> bytes:
        tensors = [self.inp, self.filt]
        if self.bias is not None:
            tensors.append(self.bias)
        tensors.append(self.out)
        out_idx = len(tensors) - 1
        if self.bias is not None:
            ins = [0, 1, 2]
        else:
            ins = [0, 1] if self.bias_form == "omit" else [0, 1, -1]
        o = self.options
        if self.op == "FULLY_CONNECTED":
            opt = schema.FullyConnectedOptionsT()
            opt.fusedActivationFunction = ACTS[o["activation"]]
            opt.keepNumDims = bool(o.get("keep_num_dims", False))
        else:
            opt = schema.Conv2DOptionsT() if self.op == "CONV_2D" else schema.DepthwiseConv2DOptionsT()
            opt.padding = schema.Padding.SAME if o["padding"] == "SAME" else schema.Padding.VALID
            opt.strideH, opt.strideW = o["stride"]
            opt.dilationHFactor, opt.dilationWFactor = o["dilation"]
            opt.fusedActivationFunction = ACTS[o["activation"]]
            if self.op == "DEPTHWISE_CONV_2D":
                opt.depthMultiplier = o["depth_multiplier"]
        return build_model(tensors, [(self.op, opt, ins, [out_idx])], [0], [out_idx])

    def options_array(self):
        arr = (ctypes.c_int32 * 24)()
        o = self.options
        if self.op != "FULLY_CONNECTED":
            arr[0] = 0 if o["padding"] == "SAME" else 1
            arr[1], arr[2] = o["stride"][1], o["stride"][0]
            arr[3], arr[4] = o["dilation"][1], o["dilation"][0]
            arr[7] = o.get("depth_multiplier", 0)
        arr[8] = ACTS[o["activation"]]
        arr[9] = int(bool(o.get("keep_num_dims", False)))
        return arr


def _quant_setup(rng, n_out, k, per_channel, in_zp=None, spread=3.0):
    """Input scale/zp, filter scales, output scale/zp such that outputs mostly
    land inside int8 (per-channel scales spread over e^±spread)."""
    in_scale = f32(log_uniform(rng, 1e-3, 1.0))
    in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
    base = log_uniform(rng, 1e-4, 5e-2)
    if per_channel:
        w_scales = [f32(base * math.exp(rng.uniform(-spread, spread))) for _ in range(n_out)]
    else:
        w_scales = [f32(base)]
    acc_std = math.sqrt(max(k, 1)) * 73.6 * int8_dev(in_zp)
    gm = float(np.exp(np.mean(np.log(w_scales))))
    out_scale = f32(acc_std * in_scale * gm / 40.0 * log_uniform(rng, 0.3, 3.0))
    out_zp = int(rng.integers(-128, 128))
    return in_scale, in_zp, w_scales, out_scale, out_zp, acc_std


def _bias_spec(rng, n, in_scale, w_scales, acc_std, per_channel):
    lim = max(1, int(acc_std * 2))
    data = rng.integers(-lim, lim, size=(n,), endpoint=True).astype(np.int32)
    scales = [f32(np.float32(in_scale) * np.float32(s)) for s in w_scales]
    if not per_channel:
        scales = scales * 1
    return TensorSpec("bias", (n,), np.int32, scales if len(scales) > 1 else scales[0], 0, 0, data)


def _choose_geometry(rng, h, w, kernel=None, stride=None, dilation=None, padding=None):
    kh, kw = kernel if kernel else (int(rng.choice([1, 1, 2, 3, 3, 4, 5, 7])),) * 2
    if kernel is None and rng.random() < 0.2:
        kw = int(rng.integers(1, 6))
    sh, sw = stride if stride else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    if dilation:
        dh, dw = dilation
    else:
        dh = int(rng.integers(2, 4)) if rng.random() < 0.25 else 1
        dw = int(rng.integers(2, 4)) if rng.random() < 0.25 else 1
    padding = padding or str(rng.choice(["SAME", "VALID"]))
    if padding == "VALID" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
        padding = "SAME"
    return (kh, kw), (sh, sw), (dh, dw), padding


def _rand_hw(rng):
    r = rng.random()
    if r < 0.1:
        return 1, 1
    if r < 0.2:
        return 7, 9
    return int(rng.integers(1, 14)), int(rng.integers(1, 14))


def _rand_channels(rng, hi=70):
    r = rng.random()
    if r < 0.15:
        return 1
    if r < 0.6:
        return int(rng.integers(1, 17))
    return int(rng.integers(17, hi + 1))


def _rand_nhwc(rng):
    return (1 if rng.random() < 0.9 else 2, *_rand_hw(rng), _rand_channels(rng))


def _draw_flags(rng, activation, per_channel, bias, p_per_channel=0.8):
    """(activation, per_channel, bias), each left at None drawn in that order."""
    activation = activation or str(rng.choice(list(ACTS)))
    per_channel = bool(rng.random() < p_per_channel) if per_channel is None else per_channel
    bias = bool(rng.random() < 0.8) if bias is None else bias
    return activation, per_channel, bias


def _out_hw(h, w, kernel, stride, dilation, padding):
    return tuple(conv_output_size(n, k, s, d, padding) for n, k, s, d in zip((h, w), kernel, stride, dilation))


def conv_case(
    rng,
    *,
    shape=None,
    oc=None,
    kernel=None,
    stride=None,
    dilation=None,
    padding=None,
    activation=None,
    per_channel=None,
    bias=None,
    groups=1,
    in_zp=None,
    w_scales=None,
    out_scale=None,
) -> Case:
    n, h, w, c = shape if shape else _rand_nhwc(rng)
    oc = oc or _rand_channels(rng)
    if groups > 1:
        c, oc = c * groups, oc * groups
    (kh, kw), st, dl, padding = _choose_geometry(rng, h, w, kernel, stride, dilation, padding)
    activation, per_channel, bias = _draw_flags(rng, activation, per_channel, bias)
    k = kh * kw * (c // groups)
    in_scale, in_zp, ws, os_, out_zp, acc_std = _quant_setup(rng, oc, k, per_channel, in_zp)
    w_scales = [f32(v) for v in w_scales] if w_scales is not None else ws
    out_scale = f32(out_scale) if out_scale is not None else os_
    oh, ow = _out_hw(h, w, (kh, kw), st, dl, padding)
    wdata = rng.integers(-127, 128, size=(oc, kh, kw, c // groups)).astype(np.int8)
    inp = TensorSpec("input", (n, h, w, c), np.int8, in_scale, in_zp)
    filt = TensorSpec(
        "filter", (oc, kh, kw, c // groups), np.int8, w_scales if per_channel else w_scales[0], 0, 0, wdata
    )
    b = _bias_spec(rng, oc, in_scale, w_scales, acc_std, per_channel) if bias else None
    out = TensorSpec("output", (n, oh, ow, oc), np.int8, out_scale, out_zp)
    x = rng.integers(-128, 128, size=(n, h, w, c)).astype(np.int8)
    opts = dict(padding=padding, stride=st, dilation=dl, activation=activation)
    return Case("CONV_2D", opts, inp, filt, b, out, x, str(rng.choice(["omit", "index"])))


def dw_case(
    rng,
    *,
    shape=None,
    mult=None,
    kernel=None,
    stride=None,
    dilation=None,
    padding=None,
    activation=None,
    per_channel=None,
    bias=None,
    in_zp=None,
) -> Case:
    n, h, w, c = shape if shape else _rand_nhwc(rng)
    mult = mult or (1 if rng.random() < 0.7 else int(rng.integers(2, 4)))
    oc = c * mult
    (kh, kw), st, dl, padding = _choose_geometry(rng, h, w, kernel, stride, dilation, padding)
    activation, per_channel, bias = _draw_flags(rng, activation, per_channel, bias)
    in_scale, in_zp, w_scales, out_scale, out_zp, acc_std = _quant_setup(rng, oc, kh * kw, per_channel, in_zp)
    oh, ow = _out_hw(h, w, (kh, kw), st, dl, padding)
    wdata = rng.integers(-127, 128, size=(1, kh, kw, oc)).astype(np.int8)
    inp = TensorSpec("input", (n, h, w, c), np.int8, in_scale, in_zp)
    filt = TensorSpec("filter", (1, kh, kw, oc), np.int8, w_scales if per_channel else w_scales[0], 0, 3, wdata)
    b = _bias_spec(rng, oc, in_scale, w_scales, acc_std, per_channel) if bias else None
    out = TensorSpec("output", (n, oh, ow, oc), np.int8, out_scale, out_zp)
    x = rng.integers(-128, 128, size=(n, h, w, c)).astype(np.int8)
    opts = dict(padding=padding, stride=st, dilation=dl, activation=activation, depth_multiplier=mult)
    # Without bias, only the 2-input form: TFLM's depthwise Prepare crashes
    # (deallocates a null bias tensor) when the bias slot holds -1.
    return Case("DEPTHWISE_CONV_2D", opts, inp, filt, b, out, x, "omit")


def fc_case(
    rng,
    *,
    batches=None,
    depth=None,
    units=None,
    rank=None,
    keep_num_dims=None,
    activation=None,
    per_channel=None,
    bias=None,
    filter_zp=None,
    in_zp=None,
) -> Case:
    batches = batches or (1 if rng.random() < 0.5 else int(rng.integers(2, 7)))
    depth = depth or (int(rng.integers(1, 49)) if rng.random() < 0.6 else int(rng.integers(49, 400)))
    units = units or _rand_channels(rng, 90)
    rank = rank or int(rng.integers(2, 5))
    keep_num_dims = bool(rng.random() < 0.4) if keep_num_dims is None else keep_num_dims
    activation, per_channel, bias = _draw_flags(rng, activation, per_channel, bias, p_per_channel=0.5)
    if keep_num_dims:
        # input [..., depth] with the leading dims multiplying to batches
        lead = [batches] + [1] * (rank - 2)
        rng.shuffle(lead)
        in_shape = tuple(lead) + (depth,)
        out_shape = tuple(lead) + (units,)
    else:
        variants = [(batches, depth), (1, batches * depth)]
        if rank >= 3:
            variants.append((batches, 1, depth) if rank == 3 else (batches, 1, 1, depth))
        if rank == 4 and depth % 2 == 0:
            variants.append((batches, 2, 1, depth // 2))
        in_shape = variants[int(rng.integers(len(variants)))]
        out_shape = (batches, units)
    in_scale, in_zp, w_scales, out_scale, out_zp, acc_std = _quant_setup(rng, units, depth, per_channel, in_zp)
    if filter_zp is None:
        filter_zp = 0
    wdata = rng.integers(-127, 128, size=(units, depth)).astype(np.int8)
    inp = TensorSpec("input", in_shape, np.int8, in_scale, in_zp)
    filt = TensorSpec("filter", (units, depth), np.int8, w_scales if per_channel else w_scales[0], filter_zp, 0, wdata)
    b = _bias_spec(rng, units, in_scale, w_scales, acc_std, per_channel) if bias else None
    out = TensorSpec("output", out_shape, np.int8, out_scale, out_zp)
    x = rng.integers(-128, 128, size=in_shape).astype(np.int8)
    opts = dict(activation=activation, keep_num_dims=keep_num_dims)
    return Case("FULLY_CONNECTED", opts, inp, filt, b, out, x, "index")


def oracle_batch(cases: list[Case]) -> list[np.ndarray | str]:
    """Run every case in one tflite-micro child; an entry is the output or an error string."""
    results = run_tflm_batch([c.model() for c in cases], [[c.x] for c in cases])
    return [str(r) if isinstance(r, OracleError) else r[0] for r in results]


def _interpreter_module():
    """The tinyops Interpreter (the engine extension must be built: installed,
    or TINYOPS_CORE pointing at a development build)."""
    try:
        from tinyops_tflm.runtime.engine import core

        core()
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"the tinyops engine extension is not importable ({e}); build it and set TINYOPS_CORE")
    from tinyops_tflm.runtime.interpreter import Interpreter

    return Interpreter


def check_cases(lib, cases: list[Case], ntiles: int = 4, seed: int = 0):
    expected = oracle_batch(cases)
    Interp = _interpreter_module()
    failures = []
    for i, (case, ref) in enumerate(zip(cases, expected)):
        if isinstance(ref, str):
            failures.append(f"case {i}: oracle rejected a case meant to be valid: {ref} :: {case}")
            continue
        for mode, what in ((0, "eval"), (1, "reference"), (2, "tiles")):
            rc, y, msg, _ = run_harness(lib, case, mode, seed=seed * 100003 + i, ntiles=ntiles)
            if rc != 0:
                failures.append(f"case {i} {what}: status {rc} {msg} :: {case}")
                break
            if y.tobytes() != np.asarray(ref, dtype=np.int8).tobytes():
                diff = np.count_nonzero(y.reshape(-1) != np.asarray(ref).reshape(-1))
                failures.append(f"case {i} {what}: {diff} of {y.size} bytes differ :: {case}")
                break
        got = Interp.from_bytes(case.model()).run(case.x)[0]
        if got.shape != np.asarray(ref).shape or got.tobytes() != np.asarray(ref, dtype=np.int8).tobytes():
            failures.append(f"case {i} Interpreter: differs from oracle :: {case}")
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures[:15])
