"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED kernels vs the TFLM oracle.

Seeded randomized single-op models (kernel sizes 1..7, strides 1..3,
dilations 1..3, SAME/VALID, all fused activations, every input zero point,
per-channel scales spanning orders of magnitude, odd shapes, channel counts
that are not multiples of 8/16, depth multipliers, grouped convolutions, FC
with keep_num_dims and 2D..4D inputs, with and without bias). Each model runs
in the pinned tflite-micro interpreter (many models per child process) and
through the kernels:

* the C++ test harness tests/cpp/conv_harness.cc, built here with g++ into a
  shared library (ctypes): whole-op eval (fast paths), the reference tile loops,
  and random row-band x channel tiles checked against the whole-op result;
* the same harness as an AddressSanitizer/UBSan executable running its own
  randomized fast-vs-reference-vs-tile self-test (tiles get exactly-sized
  copies of their input band, filter slice and scratch);
* the tinyops Interpreter (engine extension required: installed or TINYOPS_CORE).

Outputs are compared byte for byte.
"""

from __future__ import annotations

import ctypes
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support import cxx
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinyops_tflm.testing.single_op import TensorSpec, build_model
from tinyops_tflm.validation.oracle import OracleError, run_tflm_batch

ROOT = Path(__file__).resolve().parents[1]
# The x86 SIMD kernels (csrc/kernels/x86) come along: like the engine, the
# harness is built for baseline x86-64 and picks its kernels at run time
# (TINYOPS_ISA forces a level).
KERNEL_SOURCES = [
    ROOT / "csrc" / "kernels" / n
    for n in (
        "conv.cc",
        "conv_tile.cc",
        "conv_prepare.cc",
        "depthwise_conv.cc",
        "depthwise_tile.cc",
        "fully_connected.cc",
        "quant.cc",
        "op_common.cc",
    )
] + sorted((ROOT / "csrc" / "kernels" / "x86").glob("*.cc"))
# The harness uses std::string etc.; exceptions and RTTI off as in the engine.
FLAGS = ["-fno-exceptions", "-fno-rtti"]

OPCODES = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 4, "FULLY_CONNECTED": 9}
ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
DTYPES = {np.dtype(np.int8): 9, np.dtype(np.int32): 2, np.dtype(np.int16): 7, np.dtype(np.float32): 0}

# ----------------------------------------------------------------------------
# Building the harness
# ----------------------------------------------------------------------------


def _compile(kind: str) -> Path:
    """The harness as a library for ctypes ("lib") or as the sanitized self-test."""
    if kind == "lib":
        return cxx.build("conv_harness.cc", KERNEL_SOURCES, FLAGS + ["-O3"], shared=True)
    return cxx.build(
        "conv_harness.cc", KERNEL_SOURCES, FLAGS + cxx.SANITIZE_ASAN_UBSAN + ["-DCONV_HARNESS_MAIN"], tag="selftest"
    )


class HTensor(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int32),
        ("rank", ctypes.c_int32),
        ("dims", ctypes.c_int32 * 6),
        ("scale", ctypes.c_float),
        ("zero_point", ctypes.c_int32),
        ("scales", ctypes.POINTER(ctypes.c_float)),
        ("num_scales", ctypes.c_int32),
        ("quantized_dimension", ctypes.c_int32),
        ("data", ctypes.c_void_p),
        ("is_const", ctypes.c_int32),
        ("present", ctypes.c_int32),
    ]


@pytest.fixture(scope="module")
def harness():
    lib = ctypes.CDLL(str(_compile("lib")))
    lib.h_run.restype = ctypes.c_int32
    lib.h_run.argtypes = [
        ctypes.c_int32,
        ctypes.POINTER(ctypes.c_int32),
        ctypes.c_int32,
        ctypes.POINTER(HTensor),
        ctypes.POINTER(HTensor),
        ctypes.c_void_p,
        ctypes.c_int32,
        ctypes.c_uint32,
        ctypes.c_int32,
        ctypes.POINTER(ctypes.c_double),
        ctypes.c_char_p,
        ctypes.c_int32,
    ]
    return lib


# ----------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------


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


def _htensor(spec: TensorSpec | None, data: np.ndarray | None, keep: list) -> HTensor:
    t = HTensor()
    if spec is None:
        t.present = 0
        t.rank = 0
        return t
    t.present = 1
    t.type = DTYPES[np.dtype(spec.dtype)]
    t.rank = len(spec.shape)
    for i, d in enumerate(spec.shape):
        t.dims[i] = d
    scales = spec.scales
    if scales is None:
        t.num_scales = 0
        t.scale = 0.0
    else:
        arr = (ctypes.c_float * len(scales))(*scales)
        keep.append(arr)
        t.scales = ctypes.cast(arr, ctypes.POINTER(ctypes.c_float))
        t.num_scales = len(scales)
        t.scale = scales[0]
        t.zero_point = spec.zero_points[0]
        t.quantized_dimension = spec.quantized_dimension
    if data is not None:
        data = np.ascontiguousarray(data)
        keep.append(data)
        t.data = data.ctypes.data
    t.is_const = int(spec.is_constant)
    return t


def run_harness(lib, case: Case, mode: int, seed: int = 0, ntiles: int = 0):
    """Returns (status, output array, message)."""
    keep: list = []
    ins = (HTensor * 3)(
        _htensor(case.inp, case.x, keep),
        _htensor(case.filt, case.filt.data, keep),
        _htensor(case.bias, None if case.bias is None else case.bias.data, keep),
    )
    out = _htensor(case.out, None, keep)
    y = np.zeros(case.out.shape, dtype=np.int8)
    msg = ctypes.create_string_buffer(512)
    ns = ctypes.c_double(0.0)
    rc = lib.h_run(
        OPCODES[case.op],
        case.options_array(),
        3,
        ins,
        ctypes.byref(out),
        y.ctypes.data,
        mode,
        seed,
        ntiles,
        ctypes.byref(ns),
        msg,
        512,
    )
    return rc, y, msg.value.decode(), ns.value


def _logu(rng, lo, hi):
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _f32(x):
    return float(np.float32(x))


def _dev(zp):
    return math.sqrt(73.9**2 + (zp + 0.5) ** 2)


def _quant_setup(rng, n_out, k, per_channel, in_zp=None, spread=3.0):
    """Input scale/zp, filter scales, output scale/zp such that outputs mostly
    land inside int8 (per-channel scales spread over e^±spread)."""
    in_scale = _f32(_logu(rng, 1e-3, 1.0))
    in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
    base = _logu(rng, 1e-4, 5e-2)
    if per_channel:
        w_scales = [_f32(base * math.exp(rng.uniform(-spread, spread))) for _ in range(n_out)]
    else:
        w_scales = [_f32(base)]
    acc_std = math.sqrt(max(k, 1)) * 73.6 * _dev(in_zp)
    gm = float(np.exp(np.mean(np.log(w_scales))))
    out_scale = _f32(acc_std * in_scale * gm / 40.0 * _logu(rng, 0.3, 3.0))
    out_zp = int(rng.integers(-128, 128))
    return in_scale, in_zp, w_scales, out_scale, out_zp, acc_std


def _bias_spec(rng, n, in_scale, w_scales, acc_std, per_channel):
    lim = max(1, int(acc_std * 2))
    data = rng.integers(-lim, lim, size=(n,), endpoint=True).astype(np.int32)
    scales = [_f32(np.float32(in_scale) * np.float32(s)) for s in w_scales]
    if not per_channel:
        scales = scales * 1
    return TensorSpec("bias", (n,), np.int32, scales if len(scales) > 1 else scales[0], 0, 0, data)


def _spatial_out(size, k, s, d, padding):
    eff = (k - 1) * d + 1
    if padding == "SAME":
        return (size + s - 1) // s
    return (size - eff + s) // s


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
    n, h, w, c = shape if shape else (1 if rng.random() < 0.9 else 2, *_rand_hw(rng), _rand_channels(rng))
    oc = oc or _rand_channels(rng)
    if groups > 1:
        c, oc = c * groups, oc * groups
    (kh, kw), st, dl, padding = _choose_geometry(rng, h, w, kernel, stride, dilation, padding)
    activation = activation or str(rng.choice(list(ACTS)))
    per_channel = bool(rng.random() < 0.8) if per_channel is None else per_channel
    bias = bool(rng.random() < 0.8) if bias is None else bias
    k = kh * kw * (c // groups)
    in_scale, in_zp, ws, os_, out_zp, acc_std = _quant_setup(rng, oc, k, per_channel, in_zp)
    w_scales = [_f32(v) for v in w_scales] if w_scales is not None else ws
    out_scale = _f32(out_scale) if out_scale is not None else os_
    oh, ow = _spatial_out(h, kh, st[0], dl[0], padding), _spatial_out(w, kw, st[1], dl[1], padding)
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
    n, h, w, c = shape if shape else (1 if rng.random() < 0.9 else 2, *_rand_hw(rng), _rand_channels(rng))
    mult = mult or (1 if rng.random() < 0.7 else int(rng.integers(2, 4)))
    oc = c * mult
    (kh, kw), st, dl, padding = _choose_geometry(rng, h, w, kernel, stride, dilation, padding)
    activation = activation or str(rng.choice(list(ACTS)))
    per_channel = bool(rng.random() < 0.8) if per_channel is None else per_channel
    bias = bool(rng.random() < 0.8) if bias is None else bias
    in_scale, in_zp, w_scales, out_scale, out_zp, acc_std = _quant_setup(rng, oc, kh * kw, per_channel, in_zp)
    oh, ow = _spatial_out(h, kh, st[0], dl[0], padding), _spatial_out(w, kw, st[1], dl[1], padding)
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
    activation = activation or str(rng.choice(list(ACTS)))
    per_channel = bool(rng.random() < 0.5) if per_channel is None else per_channel
    bias = bool(rng.random() < 0.8) if bias is None else bias
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


# ----------------------------------------------------------------------------
# Oracle: many models per child process
# ----------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------


def test_conv2d_random_vs_oracle(harness):
    rng = np.random.default_rng(1234)
    cases = [conv_case(rng) for _ in range(220)]
    # Fixed shapes: pointwise (GEMM) with K below/above the outer-product cut,
    # big-channel 3x3, grouped convolutions, kernel 7, input zero point extremes.
    cases += [
        conv_case(rng, shape=(1, 9, 7, c), oc=oc, kernel=(1, 1), stride=(1, 1))
        for c, oc in ((16, 64), (24, 72), (48, 40), (49, 17), (120, 33), (3, 1))
    ]
    cases += [conv_case(rng, shape=(1, 11, 11, 3), oc=16, kernel=(3, 3), stride=(2, 2), padding="SAME")]
    cases += [conv_case(rng, kernel=(7, 7), padding=p) for p in ("SAME", "VALID")]
    cases += [conv_case(rng, groups=g) for g in (2, 2, 3, 4)]
    cases += [conv_case(rng, in_zp=z, activation=a) for z in (-128, 127) for a in ACTS]
    cases += [conv_case(rng, shape=(1, 1, 1, 70), oc=70, kernel=(1, 1))]
    # Effective scales from ~1e-13 (multiplier flushed to zero) to ~1e3 (left
    # shifts), per channel, with and without the SIMD-friendly channel counts.
    extreme = [1e-12, 1e-9, 3e-6, 1e-3, 0.02, 0.5, 3.0, 70.0]
    for oc in (8, 16, 24):
        for kern in ((1, 1), (3, 3)):
            cases.append(
                conv_case(
                    rng,
                    shape=(1, 5, 6, 7),
                    oc=oc,
                    kernel=kern,
                    per_channel=True,
                    w_scales=[extreme[i % 8] for i in range(oc)],
                    out_scale=0.05,
                )
            )
    check_cases(harness, cases, seed=1)


def test_depthwise_random_vs_oracle(harness):
    rng = np.random.default_rng(5678)
    cases = [dw_case(rng) for _ in range(220)]
    cases += [
        dw_case(rng, kernel=(k, k), stride=(s, s), mult=1, padding="SAME", shape=(1, 9, 11, c))
        for k in (3, 5)
        for s in (1, 2)
        for c in (16, 17, 72)
    ]
    cases += [dw_case(rng, mult=m, kernel=(3, 3)) for m in (2, 3)]
    cases += [dw_case(rng, kernel=(7, 7)), dw_case(rng, kernel=(1, 1)), dw_case(rng, shape=(1, 1, 1, 8))]
    cases += [dw_case(rng, in_zp=z, activation=a) for z in (-128, 127) for a in ACTS]
    check_cases(harness, cases, seed=2)


def test_fully_connected_random_vs_oracle(harness):
    rng = np.random.default_rng(91011)
    cases = [fc_case(rng) for _ in range(160)]
    cases += [fc_case(rng, keep_num_dims=True, rank=r, batches=b) for r in (2, 3, 4) for b in (1, 3)]
    cases += [fc_case(rng, keep_num_dims=False, rank=4, batches=2, depth=8)]
    cases += [fc_case(rng, depth=d, units=u, batches=1) for d, u in ((960, 40), (1280, 19), (48, 70), (47, 5))]
    cases += [fc_case(rng, bias=False, per_channel=pc) for pc in (False, True)]
    check_cases(harness, cases, seed=3)


def test_fully_connected_filter_zero_point_vs_oracle(harness):
    """Per-tensor FC applies a nonzero weight zero point (legacy models);
    per-channel FC ignores it. Both as TFLM does."""
    rng = np.random.default_rng(4242)
    cases = [fc_case(rng, per_channel=False, filter_zp=int(z)) for z in rng.integers(-128, 128, size=12)]
    cases += [fc_case(rng, per_channel=True, filter_zp=int(z)) for z in rng.integers(-128, 128, size=6)]
    check_cases(harness, cases, seed=4)


def test_mobilenet_layer_shapes_vs_oracle(harness):
    """Layers of MobileNetV3-Large r160 (the fast paths at full size)."""
    rng = np.random.default_rng(777)
    cases = [
        conv_case(rng, shape=(1, 160, 160, 3), oc=16, kernel=(3, 3), stride=(2, 2), padding="SAME", dilation=(1, 1)),
        conv_case(rng, shape=(1, 80, 80, 16), oc=64, kernel=(1, 1), stride=(1, 1), dilation=(1, 1)),
        conv_case(rng, shape=(1, 40, 40, 72), oc=24, kernel=(1, 1), stride=(1, 1), dilation=(1, 1)),
        conv_case(rng, shape=(1, 10, 10, 112), oc=672, kernel=(1, 1), stride=(1, 1), dilation=(1, 1)),
        conv_case(rng, shape=(1, 5, 5, 960), oc=160, kernel=(1, 1), stride=(1, 1), dilation=(1, 1)),
        conv_case(rng, shape=(1, 1, 1, 960), oc=1280, kernel=(1, 1), stride=(1, 1), dilation=(1, 1)),
        dw_case(rng, shape=(1, 80, 80, 64), mult=1, kernel=(3, 3), stride=(2, 2), padding="SAME", dilation=(1, 1)),
        dw_case(rng, shape=(1, 40, 40, 72), mult=1, kernel=(5, 5), stride=(2, 2), padding="SAME", dilation=(1, 1)),
        dw_case(rng, shape=(1, 10, 10, 672), mult=1, kernel=(3, 3), stride=(1, 1), padding="SAME", dilation=(1, 1)),
        dw_case(rng, shape=(1, 5, 5, 960), mult=1, kernel=(5, 5), stride=(1, 1), padding="SAME", dilation=(1, 1)),
        fc_case(rng, batches=1, depth=1280, units=1000, rank=2, keep_num_dims=False),
    ]
    check_cases(harness, cases, ntiles=6, seed=5)


@pytest.mark.parametrize("isa", ["portable", "avx2", "avx512"])
def test_sanitized_selftest(isa):
    """Fast paths vs reference loops vs random tiles under ASan/UBSan, on each
    kernel level (TINYOPS_ISA). A level this CPU lacks must be refused with a
    message, not crash."""
    from tinyops_tflm.runtime.engine import supported_isas

    exe = _compile("selftest")
    seed = {"portable": "17", "avx2": "29", "avx512": "23"}[isa]
    res = subprocess.run(
        [str(exe), "1000", seed],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0", "TINYOPS_ISA": isa},
    )
    if isa not in supported_isas():
        assert res.returncode == 2 and f"TINYOPS_ISA={isa}, but this CPU" in res.stdout, res.stdout
        return
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert f"kernels: {isa}" in res.stdout
    assert "0 failures" in res.stdout and "0 rejected" in res.stdout


# ---- prepare rejections ---------------------------------------------------

STATUS_INVALID_MODEL, STATUS_UNSUPPORTED = 2, 3


def _expect_reject(lib, case, status, words):
    rc, _, msg, _ = run_harness(lib, case, 0)
    assert rc == status, f"expected status {status}, got {rc} ({msg})"
    for w in words:
        assert w in msg, f"{w!r} not in message {msg!r}"


def test_prepare_rejects(harness):
    rng = np.random.default_rng(99)
    # int16 activations: unsupported.
    c = conv_case(rng, shape=(1, 4, 4, 3), oc=2, kernel=(1, 1))
    c.inp = TensorSpec("input", c.inp.shape, np.int16, c.inp.scale, 0)
    c.out = TensorSpec("output", c.out.shape, np.int16, c.out.scale, 0)
    _expect_reject(harness, c, STATUS_UNSUPPORTED, ["CONV_2D input", "int8", "int16"])
    # output shape inconsistent with padding/stride.
    c = conv_case(rng, shape=(1, 6, 6, 3), oc=2, kernel=(3, 3), stride=(1, 1), padding="SAME", dilation=(1, 1))
    c.out = TensorSpec("output", (1, 4, 4, 2), np.int8, c.out.scale, c.out.zero_point)
    _expect_reject(harness, c, STATUS_INVALID_MODEL, ["output shape", "[1,4,4,2]", "[1,6,6,2]"])
    # wrong number of per-channel scales.
    c = dw_case(rng, shape=(1, 4, 4, 4), mult=1, kernel=(3, 3), per_channel=True)
    c.filt = TensorSpec("filter", (1, 3, 3, 4), np.int8, [0.01, 0.02, 0.03], 0, 0, c.filt.data[..., :4])
    _expect_reject(harness, c, STATUS_INVALID_MODEL, ["scales"])
    # depth multiplier inconsistent with the filter.
    c = dw_case(rng, shape=(1, 4, 4, 4), mult=2, kernel=(3, 3))
    c.options["depth_multiplier"] = 3
    _expect_reject(harness, c, STATUS_INVALID_MODEL, ["depth_multiplier"])
    # FC: per-tensor bias scale far from input*filter scale (TFLM rejects too).
    c = fc_case(rng, per_channel=False, bias=True, batches=1, depth=8, units=4)
    c.bias = TensorSpec("bias", (4,), np.int32, c.out.scale * 0.5, 0, 0, c.bias.data)
    _expect_reject(harness, c, STATUS_INVALID_MODEL, ["bias scale"])
    ref = oracle_batch([c])[0]
    assert isinstance(ref, str), "TFLM accepted the bad FC bias scale"
    # FC: input element count not batches x depth.
    c = fc_case(rng, batches=2, depth=8, units=4, keep_num_dims=False)
    c.inp = TensorSpec("input", (3, 8), np.int8, c.inp.scale, c.inp.zero_point)
    _expect_reject(harness, c, STATUS_INVALID_MODEL, ["input has 24 elements"])
    # unknown fused activation (TANH = 4).
    c = conv_case(rng, shape=(1, 3, 3, 2), oc=2, kernel=(1, 1))
    arr_fn = c.options_array

    def bad_options():
        a = arr_fn()
        a[8] = 4
        return a

    c.options_array = bad_options
    _expect_reject(harness, c, STATUS_UNSUPPORTED, ["activation"])
