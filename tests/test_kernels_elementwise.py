"""Element-wise kernels, bit-exact against the TFLM oracle.

Covers ADD and MUL (broadcasts of ranks 1..6 incl. per-channel [1,1,1,C] x
[1,H,W,C], scalars, mismatched ranks, both input orders, scales over many
orders of magnitude, every fused activation), RELU, RELU6, LEAKY_RELU,
HARD_SWISH, LOGISTIC (every int8 input value, so the whole prepare-time table
is checked), SOFTMAX (int8 and int16 outputs, many betas / scales / depths),
QUANTIZE (float32 -> int8 incl. .5 ties, huge values, inf and NaN; int8 ->
int8) and DEQUANTIZE (every int8 value, float bits compared); the defined
results where TFLM aborts (SOFTMAX); prepare-time rejections; and, in C++,
that the range / row-band entry points and the vectorized fast paths equal
the per-element reference definitions.

All oracle runs of the main sweep go through ONE child process that runs
TFLM in-process model after model; the few cases where TFLM aborts the
process run separately through ``run_tflm``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tinyops_tflm import Interpreter, ModelError, UnsupportedOpError
from tinyops_tflm.validation.oracle import OracleError, run_tflm, run_tflm_batch
from tinyops_tflm.testing.single_op import OpSpec, TensorSpec, build_model, schema

REPO = Path(__file__).resolve().parents[1]
ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def f32(x) -> float:
    return float(np.float32(x))


def logu(rng, lo, hi) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


@dataclass
class Case:
    id: str
    model: bytes
    inputs: list
    params: dict


# ----------------------------------------------------------------------------
# Model builders
# ----------------------------------------------------------------------------


def binary_model(op, s1, s2, q1, q2, qo, act="NONE", out_shape=None, dtype=np.int8):
    out_shape = tuple(np.broadcast_shapes(tuple(s1), tuple(s2))) if out_shape is None else out_shape
    opt = schema.AddOptionsT() if op == "ADD" else schema.MulOptionsT()
    opt.fusedActivationFunction = ACTS[act]
    tensors = [TensorSpec("a", tuple(s1), dtype, *q1), TensorSpec("b", tuple(s2), dtype, *q2),
               TensorSpec("out", out_shape, dtype, *qo)]
    return build_model(tensors, [OpSpec(op, opt, [0, 1], [2])], [0, 1], [2])


def unary_model(op, shape, qi, qo, opt=None, in_dtype=np.int8, out_dtype=np.int8, out_shape=None):
    tensors = [TensorSpec("in", tuple(shape), in_dtype, *qi),
               TensorSpec("out", tuple(shape if out_shape is None else out_shape), out_dtype, *qo)]
    return build_model(tensors, [OpSpec(op, opt, [0], [1])], [0], [1])


def rand_int8(rng, shape):
    x = rng.integers(-128, 127, size=shape, endpoint=True).astype(np.int8)
    flat = x.reshape(-1)
    if flat.size >= 4:  # always include the extremes
        flat[rng.integers(0, flat.size)] = -128
        flat[rng.integers(0, flat.size)] = 127
    return x


def every_int8(rng, shape):
    """All 256 int8 values (shuffled) followed by random ones; size >= 256."""
    n = int(np.prod(shape))
    assert n >= 256
    x = np.concatenate([rng.permutation(np.arange(-128, 128)), rng.integers(-128, 128, n - 256)])
    return x.astype(np.int8).reshape(shape)


# ----------------------------------------------------------------------------
# Case generators
# ----------------------------------------------------------------------------


def _rand_dims(rng, rank, max_dim=7):
    return [int(rng.integers(1, max_dim + 1)) for _ in range(rank)]


def binary_shapes(rng, mode):
    if mode == "same":
        s = _rand_dims(rng, int(rng.integers(1, 6)))
        return s, list(s)
    if mode == "per_channel":  # SE block: [1,1,1,C] x [1,H,W,C]
        h, w, c = _rand_dims(rng, 3, 9)
        c = int(rng.choice([c, 16, 24, 67]))
        return [1, 1, 1, c], [1, h, w, c]
    if mode == "spatial":  # [1,H,W,1] x [1,H,W,C]
        h, w, c = _rand_dims(rng, 3, 9)
        return [1, h, w, 1], [1, h, w, c]
    if mode == "scalar":
        full = _rand_dims(rng, int(rng.integers(1, 6)))
        return [list(), [1], [1] * len(full)][int(rng.integers(0, 3))], full
    if mode == "ranks":  # mismatched ranks: [C] / [W,C] / [H,1,C] against 4-D
        full = [1] + _rand_dims(rng, 3)
        k = int(rng.integers(1, 4))
        other = list(full[-k:])
        if k == 3 and rng.random() < 0.5:
            other[1] = 1
        return other, full
    if mode == "generic":
        rank = int(rng.integers(1, 6))
        out = _rand_dims(rng, rank, 5)
        a, b = list(out), list(out)
        for i in range(rank):
            r = rng.random()
            if r < 0.3:
                a[i] = 1
            elif r < 0.6:
                b[i] = 1
        ra, rb = int(rng.integers(0, rank + 1)), rank
        if rng.random() < 0.5:
            ra, rb = rb, ra
        return a[rank - ra:], b[rank - rb:]
    if mode == "rank6":
        out = _rand_dims(rng, 6, 3)
        a, b = list(out), list(out)
        for i in range(6):
            if rng.random() < 0.4:
                (a if rng.random() < 0.5 else b)[i] = 1
        return a, b
    raise ValueError(mode)


BINARY_MODES = ["same", "per_channel", "spatial", "scalar", "ranks", "generic", "rank6"]


def binary_cases(cases, rng, op, n):
    for k in range(n):
        mode = BINARY_MODES[k % len(BINARY_MODES)]
        s1, s2 = binary_shapes(rng, mode)
        if rng.random() < 0.5:
            s1, s2 = s2, s1
        sc1 = f32(logu(rng, 1e-4, 10.0))
        sc2 = f32(sc1 * logu(rng, 1e-2, 1e2)) if rng.random() < 0.85 else sc1
        if op == "ADD":
            # TFLM requires 2 * max(in scales) < 2^20 * out scale.
            so = f32(max(sc1, sc2) * logu(rng, 2.0 ** -17, 16.0))
        else:
            so = f32(sc1 * sc2 * logu(rng, 1e-2, 1e5))
        q1 = (sc1, int(rng.integers(-128, 128)))
        q2 = (sc2, int(rng.integers(-128, 128)))
        qo = (so, int(rng.integers(-128, 128)))
        act = list(ACTS)[k % 4]
        model = binary_model(op, s1, s2, q1, q2, qo, act)
        for j in range(2):
            cases.append(Case(f"{op}-{k}-{mode}-{j}", model, [rand_int8(rng, s1), rand_int8(rng, s2)],
                              dict(shapes=(s1, s2), q=(q1, q2, qo), act=act)))


def unary_shape(rng):
    return [(256,), (2, 16, 8), (1, 4, 8, 9), (3, 100), (1, 1, 17, 17)][int(rng.integers(0, 5))]


def activation_cases(cases, rng):
    def add(op, k, shape, qi, qo, opt=None, **extra):
        model = unary_model(op, shape, qi, qo, opt)
        cases.append(Case(f"{op}-{k}", model, [every_int8(rng, shape)], dict(qi=qi, qo=qo, **extra)))

    for k in range(24):  # RELU: requantizing, ratio below and above 1
        si = f32(logu(rng, 1e-3, 1.0))
        so = f32(si * logu(rng, 0.02, 30.0))
        add("RELU", k, unary_shape(rng), (si, int(rng.integers(-128, 128))),
            (so, int(rng.integers(-128, 128))))
    relu6_scales = [logu(rng, 1e-3, 1.0) for _ in range(14)] + [1e-10, 3e-9, 5.0, 100.0]
    for k, s in enumerate(relu6_scales):  # RELU6: clamps on the input's quantization
        q = (f32(s), int(rng.integers(-128, 128)))
        add("RELU6", k, unary_shape(rng), q, q)
    alphas = [0.01, 0.1, 0.2, 0.3, 0.5, 0.0, -0.3, 1.0, 1.7, 1e-5, 5.0, -2.0]
    for k in range(24):
        alpha = f32(alphas[k % len(alphas)])
        si = f32(logu(rng, 1e-3, 1.0))
        so = f32(si * logu(rng, 0.05, 20.0))
        opt = schema.LeakyReluOptionsT()
        opt.alpha = alpha
        add("LEAKY_RELU", k, unary_shape(rng), (si, int(rng.integers(-128, 128))),
            (so, int(rng.integers(-128, 128))), opt, alpha=alpha)
    for k in range(28):  # HARD_SWISH: needs in_scale < 128 * out_scale
        si = f32(logu(rng, 1e-4, 3.0))
        if k % 7 == 6:
            so = f32(si * logu(rng, 600.0, 1e5))  # output shift >= 16: int16 rounding quirk
        else:
            so = f32(si * logu(rng, 1.0 / 100, 10.0))
        add("HARD_SWISH", k, unary_shape(rng), (si, int(rng.integers(-128, 128))),
            (so, int(rng.integers(-128, 128))), schema.HardSwishOptionsT())
    logistic_scales = [logu(rng, 1e-5, 10.0) for _ in range(20)] + [4e-9, 2.0 ** -20, 1.0, 50.0, 1e4]
    for k, s in enumerate(logistic_scales):
        so = 1.0 / 256 if k != 3 else 0.01  # TFLM ignores the output scale
        add("LOGISTIC", k, unary_shape(rng), (f32(s), int(rng.integers(-128, 128))), (so, -128))


def softmax_sum(beta, scale, x):
    """Real-valued sum of exps per row (to avoid TFLM's >= 512 abort)."""
    d = x.astype(np.float64).max(axis=-1, keepdims=True) - x
    return np.exp(-beta * scale * d).sum(axis=-1)


def softmax_cases(cases, rng):
    shapes = [(1, 1), (1, 2), (1, 5), (1, 10), (2, 100), (1, 1000), (2, 3, 7), (4, 16),
              (1, 1, 1, 33), (3, 255), (1, 511)]
    betas = [1.0, 0.5, 2.0, 0.1, 10.0, 1e-3, 1e4, 1e9]
    k = 0
    for shape in shapes:
        for _ in range(4):
            beta = f32(betas[int(rng.integers(0, len(betas)))])
            si = f32(logu(rng, 1e-3, 1.0))
            if beta * si * 2.0 ** 26 <= 1.0:
                si = f32(2.0 ** -20 / beta)
            out16 = rng.random() < 0.3
            narrow = rng.random() < 0.3
            x = (rng.integers(-4, 5, size=shape) + int(rng.integers(-100, 100))).astype(np.int8) \
                if narrow else rand_int8(rng, shape)
            if not out16 and softmax_sum(beta, si, x).max() >= 480:
                continue  # TFLM would abort; covered by test_softmax_defined_results
            qo = (f32(1.0 / 65536), -32768) if out16 else (f32(1.0 / 256), -128)
            opt = schema.SoftmaxOptionsT()
            opt.beta = beta
            model = unary_model("SOFTMAX", shape, (si, int(rng.integers(-128, 128))), qo, opt,
                                out_dtype=np.int16 if out16 else np.int8)
            cases.append(Case(f"SOFTMAX-{k}", model, [x], dict(shape=shape, beta=beta, si=si, out16=out16)))
            k += 1


def quantize_float_inputs(rng, scale, zp, n_random=300):
    lo, hi = (-128 - zp) * scale, (127 - zp) * scale
    k = np.arange(-140, 141, dtype=np.float32)
    ties = (k + np.float32(0.5)) * np.float32(scale)
    near = np.concatenate([np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf))])
    big = np.array([1e30, -1e30, 3.4e38, -3.4e38, np.inf, -np.inf, np.nan, -0.0, 0.0, 1e-45, -1e-45,
                    2.0 ** 31 * scale, -(2.0 ** 31) * scale, 2.0 ** 31 * scale * 0.999999,
                    -(2.0 ** 31) * scale * 1.000001, 2.0 ** 24 * scale, 1e6, -1e6], dtype=np.float32)
    rand = rng.uniform(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo), n_random).astype(np.float32)
    x = np.concatenate([ties, near, big, rand]).astype(np.float32)
    return rng.permutation(x)


def quantize_cases(cases, rng):
    scales = [2.0 ** -7, 0.25, 1.0, 2.0 ** -10, 3.0, 1e-6, 1e3] + [logu(rng, 1e-4, 10.0) for _ in range(9)]
    for k, s in enumerate(scales):
        s = f32(s)
        zp = int(rng.integers(-128, 128)) if k % 3 else (-77 if k % 2 else 64)
        x = quantize_float_inputs(rng, s, zp)
        model = unary_model("QUANTIZE", x.shape, (None, None), (s, zp), in_dtype=np.float32)
        cases.append(Case(f"QUANTIZE-f32-{k}", model, [x], dict(scale=s, zp=zp)))
    for k in range(14):  # int8 -> int8 requantization
        si = f32(logu(rng, 1e-4, 1.0))
        so = si if k == 0 else f32(si * logu(rng, 1e-3, 1e3))
        shape = unary_shape(rng)
        model = unary_model("QUANTIZE", shape, (si, int(rng.integers(-128, 128))),
                            (so, int(rng.integers(-128, 128))))
        cases.append(Case(f"QUANTIZE-i8-{k}", model, [every_int8(rng, shape)], dict(si=si, so=so)))
    for k in range(12):
        s = f32([1e-38, 3e38, 1.0, 2.0 ** -7][k] if k < 4 else logu(rng, 1e-5, 100.0))
        shape = unary_shape(rng)
        model = unary_model("DEQUANTIZE", shape, (s, int(rng.integers(-128, 128))), (None, None),
                            out_dtype=np.float32)
        cases.append(Case(f"DEQUANTIZE-{k}", model, [every_int8(rng, shape)], dict(scale=s)))


def all_cases() -> list[Case]:
    rng = np.random.default_rng(20240613)
    cases: list[Case] = []
    binary_cases(cases, rng, "ADD", 70)
    binary_cases(cases, rng, "MUL", 70)
    activation_cases(cases, rng)
    softmax_cases(cases, rng)
    quantize_cases(cases, rng)
    return cases


CASES = all_cases()


# ----------------------------------------------------------------------------
# Batched oracle
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oracle():
    """TFLM's outputs (or OracleError) for every case, from one child process."""
    return run_tflm_batch([c.model for c in CASES], [c.inputs for c in CASES])


def assert_bytes_equal(got: np.ndarray, ref: np.ndarray, msg=""):
    assert got.dtype == ref.dtype and got.shape == ref.shape, (got.dtype, got.shape, ref.dtype, ref.shape)
    np.testing.assert_array_equal(np.atleast_1d(got).view(np.uint8), np.atleast_1d(ref).view(np.uint8),
                                  err_msg=msg)


@pytest.mark.parametrize("k", range(len(CASES)), ids=[c.id for c in CASES])
def test_matches_tflm(oracle, k):
    case = CASES[k]
    refs = oracle[k]
    assert not isinstance(refs, OracleError), f"TFLM rejected the test model {case.params}: {refs}"
    got = Interpreter.from_bytes(case.model).run(*case.inputs)
    assert len(got) == 1
    assert_bytes_equal(got[0], refs[0], str(case.params))


def test_case_mix():
    """The sweep really covers what it claims (guards against generator drift)."""
    ids = [c.id for c in CASES]
    for prefix, least in [("ADD-", 130), ("MUL-", 130), ("RELU-", 20), ("RELU6-", 15), ("LEAKY_RELU-", 20),
                          ("HARD_SWISH-", 25), ("LOGISTIC-", 20), ("SOFTMAX-", 30), ("QUANTIZE-f32", 12),
                          ("QUANTIZE-i8", 12), ("DEQUANTIZE-", 10)]:
        assert sum(i.startswith(prefix) for i in ids) >= least, prefix
    binary = [c for c in CASES if c.id.startswith(("ADD", "MUL"))]
    ranks = {max(len(c.params["shapes"][0]), len(c.params["shapes"][1])) for c in binary}
    assert {1, 2, 3, 4, 5, 6} <= ranks
    assert any(c.params["shapes"][0] == [] or c.params["shapes"][1] == [] for c in binary)
    softmax = [c for c in CASES if c.id.startswith("SOFTMAX")]
    assert any(c.params["out16"] for c in softmax) and any(not c.params["out16"] for c in softmax)
    assert any(c.params["shape"][-1] >= 1000 for c in softmax)


# ----------------------------------------------------------------------------
# Where TFLM aborts: our documented defined results
# ----------------------------------------------------------------------------


def test_softmax_defined_results():
    rng = np.random.default_rng(7)
    opt = schema.SoftmaxOptionsT()
    # (a) beta * input_scale * 2^26 <= 1: TFLM CHECK-fails in Prepare; ours
    # clamps the multiplier to 1.0 -> (near-)uniform rows.
    for beta, si, depth in [(1e-9, 0.05, 10), (0.0, 0.1, 7), (1.0, 1e-9, 1), (1e-6, 0.01, 300)]:
        opt.beta = f32(beta)
        model = unary_model("SOFTMAX", (3, depth), (f32(si), 5), (f32(1 / 256), -128), opt)
        x = rand_int8(rng, (3, depth))
        if beta == 1e-9:
            with pytest.raises(OracleError):
                run_tflm(model, [[x]])
        y = Interpreter.from_bytes(model).run(x)[0].astype(np.int32)
        assert y.shape == (3, depth)
        assert (y.max(axis=1) - y.min(axis=1) <= 1).all(), y
        expect = min(256.0 / depth, 255.0)
        assert (np.abs(y.mean(axis=1) + 128 - expect) <= 1.0).all(), (y, expect)
    # (b) a row whose sum of exps reaches 512 (>= 512 equal maxima): TFLM
    # TFLITE_CHECK-fails in Eval; ours writes that row as -128 and computes
    # the other rows normally.
    opt.beta = 1.0
    depth = 600
    model = unary_model("SOFTMAX", (2, depth), (f32(0.05), 0), (f32(1 / 256), -128), opt)
    single = unary_model("SOFTMAX", (1, depth), (f32(0.05), 0), (f32(1 / 256), -128), opt)
    x = np.stack([np.full(depth, 17, np.int8), rand_int8(rng, (depth,))])
    with pytest.raises(OracleError):
        run_tflm(model, [[x]])
    y = Interpreter.from_bytes(model).run(x)[0]
    assert (y[0] == -128).all()
    ref = run_tflm(single, [[x[1:]]])[0][0]
    assert_bytes_equal(y[1:], ref)
    # int16 output never hits the eval check below 4096 elements: equal bytes.
    model16 = unary_model("SOFTMAX", (1, depth), (f32(0.05), 0), (f32(1 / 65536), -32768), opt,
                          out_dtype=np.int16)
    ref16 = run_tflm(model16, [[x[:1]]])[0][0]
    assert_bytes_equal(Interpreter.from_bytes(model16).run(x[:1])[0], ref16)


def test_add_rejects_where_tflm_aborts():
    # 2 * max(in scales) >= 2^20 * out scale: TFLM CHECK-fails in Prepare.
    model = binary_model("ADD", [4], [4], (1.0, 0), (0.5, 0), (1e-7, 0))
    x = [np.zeros(4, np.int8), np.zeros(4, np.int8)]
    with pytest.raises(OracleError):
        run_tflm(model, [x])
    with pytest.raises(UnsupportedOpError, match="ADD"):
        Interpreter.from_bytes(model)


# ----------------------------------------------------------------------------
# Prepare-time rejections
# ----------------------------------------------------------------------------

def _rejections():
    lrelu = schema.LeakyReluOptionsT()
    lrelu.alpha = 0.2
    sm = schema.SoftmaxOptionsT()
    sm.beta = 1.0
    sm_neg = schema.SoftmaxOptionsT()
    sm_neg.beta = -1.0
    q = (0.05, 0)
    return [
        ("add-int16", UnsupportedOpError,
         binary_model("ADD", [4], [4], (0.05, 0), (0.05, 0), (0.1, 0), dtype=np.int16)),
        ("mul-bad-broadcast", ModelError, binary_model("MUL", [2, 3], [3, 2], q, q, q, out_shape=(3, 3))),
        ("add-bad-output", ModelError, binary_model("ADD", [2, 3], [1, 3], q, q, q, out_shape=(2, 1))),
        ("logistic-zp", ModelError, unary_model("LOGISTIC", (8,), q, (1 / 256, 0))),
        ("softmax-out-scale", ModelError, unary_model("SOFTMAX", (8,), q, (1 / 128, -128), sm)),
        ("softmax-out-zp", ModelError, unary_model("SOFTMAX", (8,), q, (1 / 256, 0), sm)),
        ("softmax-neg-beta", UnsupportedOpError, unary_model("SOFTMAX", (8,), q, (1 / 256, -128), sm_neg)),
        ("hard-swish-out-shift", ModelError,
         unary_model("HARD_SWISH", (8,), (1.0, 0), (1e-3, 0), schema.HardSwishOptionsT())),
        ("relu-int16", UnsupportedOpError,
         unary_model("RELU", (8,), q, q, in_dtype=np.int16, out_dtype=np.int16)),
        ("leaky-float", UnsupportedOpError,
         unary_model("LEAKY_RELU", (8,), (None, None), (None, None), lrelu, in_dtype=np.float32,
                     out_dtype=np.float32)),
        ("quantize-int16", UnsupportedOpError,
         unary_model("QUANTIZE", (8,), (None, None), q, in_dtype=np.float32, out_dtype=np.int16)),
        ("quantize-per-channel-out", ModelError,
         unary_model("QUANTIZE", (2, 4), (None, None), ([0.1, 0.2], [0, 0]), in_dtype=np.float32)),
        ("dequantize-int16", UnsupportedOpError,
         unary_model("DEQUANTIZE", (8,), q, (None, None), in_dtype=np.int16, out_dtype=np.float32)),
        ("relu-count", ModelError, unary_model("RELU", (8,), q, q, out_shape=(9,))),
        # TFLM's Prepare fails too: the fused RELU6 bound 6/out_scale overflows int32
        ("mul-act-range", ModelError, binary_model("MUL", [4], [4], q, q, (1e-10, 0), "RELU6")),
    ]


REJECTIONS = _rejections()


@pytest.mark.parametrize("name,err,model", REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejections(name, err, model):
    with pytest.raises(err):
        Interpreter.from_bytes(model)


# ----------------------------------------------------------------------------
# C++: range / row-band entry points and fast paths vs the definitions
# ----------------------------------------------------------------------------

_CC = r"""
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
#include "kernels/activations.h"
#include "kernels/elementwise.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/quantize.h"
#include "kernels/softmax.h"
using namespace tinyops;
static std::mt19937 rng(12345);
static int R(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }
static double U() { return (rng() + 0.5) / 4294967296.0; }
static int failures = 0;
#define CHECK(c, ...) do { if (!(c)) { if (failures++ < 20) { std::printf(__VA_ARGS__); std::printf("\n"); } } } while (0)

static void* arena_alloc(void*, size_t bytes, size_t align) {
  void* p = nullptr;
  if (posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, bytes ? bytes : 1)) return nullptr;
  return p;
}

// The branch-free primitives == quant.h's reference ones, rounding ties included.
static void test_primitives() {
  std::mt19937_64 r64(99);
  for (int i = 0; i < 2000000; ++i) {
    int32_t a, b;
    if (i & 1) {
      a = (int32_t)r64();
      b = (int32_t)(r64() & 0x7fffffff);
    } else {  // a * b == +/-2^30 (mod 2^31): exactly half-way
      const int k = (int)(r64() % 31);
      b = (int32_t)(1u << k);
      const int64_t mod = int64_t{1} << (31 - k);
      int64_t a64 = (int64_t{1} << (30 - k)) + mod * (int64_t)((int32_t)r64() >> (k + 1));
      if (r64() & 1) a64 = -a64;
      if (a64 > INT32_MAX || a64 < INT32_MIN) continue;
      a = (int32_t)a64;
    }
    CHECK(ew::srdhm_pos(a, b) == saturating_rounding_doubling_high_mul(a, b), "srdhm %d %d", a, b);
    const int e = (int)(r64() % 32);
    CHECK(ew::Rdbpot(e)(a) == rounding_divide_by_pot(a, e), "rdbpot %d %d", a, e);
  }
}

// ADD / MUL vectorized kernels == reference per element, all 65536 pairs.
static void test_exhaustive_binary() {
  std::vector<int8_t> a(65536), b(65536), o(65536);
  for (int i = 0; i < 65536; ++i) { a[i] = (int8_t)(i >> 8); b[i] = (int8_t)i; }
  for (int t = 0; t < 60; ++t) {
    float s1 = (float)std::exp(std::log(1e-4) + U() * std::log(1e5));
    float s2 = (float)(s1 * std::exp((U() - 0.5) * 8));
    int z1 = R(256) - 128, z2 = R(256) - 128, zo = R(256) - 128, act = R(4);
    AddParams p; std::memset(&p, 0, sizeof p);
    p.input1_offset = -z1; p.input2_offset = -z2; p.output_offset = zo; p.left_shift = 20;
    double tm = 2 * (double)(s1 > s2 ? s1 : s2);
    float so = (float)(tm * std::exp((U() - 0.9) * 12));
    bool ok = quantize_multiplier_smaller_than_one_exp(s1 / tm, &p.input1_multiplier, &p.input1_shift) &&
              quantize_multiplier_smaller_than_one_exp(s2 / tm, &p.input2_multiplier, &p.input2_shift) &&
              quantize_multiplier_smaller_than_one_exp(tm / ((1 << 20) * (double)so), &p.output_multiplier, &p.output_shift);
    if (ok) {
      activation_range_quantized(act, DType::kInt8, so, zo, &p.act_min, &p.act_max);
      p.layout.kind = kBinarySameShape;
      add_range(p, a.data(), b.data(), o.data(), 0, 65536);
      for (int i = 0; i < 65536; ++i) CHECK(o[i] == add_reference(p, a[i], b[i]), "add t=%d i=%d", t, i);
    }
    MulParams m; std::memset(&m, 0, sizeof m);
    m.input1_offset = -z1; m.input2_offset = -z2; m.output_offset = zo;
    int sh = 0;
    quantize_multiplier(std::exp((U() - 0.6) * 40), &m.output_multiplier, &sh);
    if (sh > 31) continue;
    m.output_shift = sh;
    activation_range_quantized(act, DType::kInt8, 0.05f, zo, &m.act_min, &m.act_max);
    m.layout.kind = kBinarySameShape;
    mul_range(m, a.data(), b.data(), o.data(), 0, 65536);
    for (int i = 0; i < 65536; ++i) CHECK(o[i] == mul_reference(m, a[i], b[i]), "mul t=%d i=%d sh=%d", t, i, sh);
  }
}

// Whole-tensor eval, row bands and flat ranges == a naive broadcast loop.
static void test_bands() {
  for (int t = 0; t < 3000; ++t) {
    int D = 1 + R(6);
    Shape o{}, a{}, b{};
    o.rank = D;
    for (int i = 0; i < D; ++i) o.dims[i] = R(4) == 0 ? 1 : 1 + R(5);
    int ra = R(D + 1), rb = R(D + 1);
    if (R(3) == 0) ra = D;
    a.rank = ra; b.rank = rb;
    for (int i = 0; i < ra; ++i) a.dims[i] = o.dims[D - ra + i];
    for (int i = 0; i < rb; ++i) b.dims[i] = o.dims[D - rb + i];
    for (int i = 0; i < D; ++i) {
      int r = R(3), ai = i - (D - ra), bi = i - (D - rb);
      if (r == 1 && ai >= 0 && bi >= 0) a.dims[ai] = 1;
      if (r == 2 && bi >= 0 && ai >= 0) b.dims[bi] = 1;
    }
    for (int i = 0; i < D; ++i) {
      int ai = i - (D - ra), bi = i - (D - rb);
      int ad = ai >= 0 ? a.dims[ai] : 1, bd = bi >= 0 ? b.dims[bi] : 1;
      o.dims[i] = ad == 1 ? bd : ad;
    }
    bool is_mul = t & 1;
    AddParams p; std::memset(&p, 0, sizeof p);
    MulParams m; std::memset(&m, 0, sizeof m);
    int32_t bad_dim = 0;
    if (const char* err = binary_layout_init(a, b, o, &p.layout, &bad_dim)) { CHECK(false, "layout: %s", err); continue; }
    m.layout = p.layout;
    p.input1_offset = m.input1_offset = R(256) - 128;
    p.input2_offset = m.input2_offset = R(256) - 128;
    p.output_offset = m.output_offset = R(256) - 128;
    p.left_shift = 20;
    quantize_multiplier_smaller_than_one_exp(0.5, &p.input1_multiplier, &p.input1_shift);
    quantize_multiplier_smaller_than_one_exp(0.37, &p.input2_multiplier, &p.input2_shift);
    quantize_multiplier_smaller_than_one_exp(1e-5 * (1 + R(50)), &p.output_multiplier, &p.output_shift);
    int sh; quantize_multiplier(1e-3 * (1 + R(50)), &m.output_multiplier, &sh); m.output_shift = sh;
    p.act_min = m.act_min = -128; p.act_max = m.act_max = 127;
    int64_t na = a.num_elements(), nb = b.num_elements(), no = o.num_elements();
    std::vector<int8_t> A(na), B(nb), E(no), O(no), Band(no);
    for (auto& v : A) v = (int8_t)R(256);
    for (auto& v : B) v = (int8_t)R(256);
    for (int64_t k = 0; k < no; ++k) {
      int64_t rem = k, ia = 0, ib = 0, sa = 1, sb = 1;
      for (int i = D - 1; i >= 0; --i) {
        int idx = (int)(rem % o.dims[i]); rem /= o.dims[i];
        int ai = i - (D - ra), bi = i - (D - rb);
        if (ai >= 0) { if (a.dims[ai] != 1) ia += idx * sa; sa *= a.dims[ai]; }
        if (bi >= 0) { if (b.dims[bi] != 1) ib += idx * sb; sb *= b.dims[bi]; }
      }
      E[k] = is_mul ? mul_reference(m, A[ia], B[ib]) : add_reference(p, A[ia], B[ib]);
    }
    const void* ins[2] = {A.data(), B.data()};
    void* outs[1] = {O.data()};
    EvalContext ec{is_mul ? (const void*)&m : (const void*)&p, ins, outs, nullptr};
    if (is_mul) mul_eval(ec); else add_eval(ec);
    CHECK(O == E, "eval t=%d D=%d", t, D);
    int64_t rows = binary_num_rows(p.layout), re = binary_row_elems(p.layout);
    CHECK(rows * re == no, "rows t=%d", t);
    for (int64_t r0 = 0; r0 < rows;) {
      int64_t r1 = r0 + 1 + R((int)rows);
      if (r1 > rows) r1 = rows;
      int64_t fa, la, fb, lb;
      binary_input_rows(p.layout, 0, r0, r1, &fa, &la);
      binary_input_rows(p.layout, 1, r0, r1, &fb, &lb);
      // copies, so a read outside the reported rows is an ASan error
      std::vector<int8_t> ba(A.begin() + fa * p.layout.a_row_elems, A.begin() + la * p.layout.a_row_elems);
      std::vector<int8_t> bb(B.begin() + fb * p.layout.b_row_elems, B.begin() + lb * p.layout.b_row_elems);
      InputBand IA{ba.data(), (int32_t)fa, (int32_t)la}, IB{bb.data(), (int32_t)fb, (int32_t)lb};
      if (is_mul) mul_rows(m, IA, IB, Band.data() + r0 * re, r0, r1);
      else add_rows(p, IA, IB, Band.data() + r0 * re, r0, r1);
      r0 = r1;
    }
    CHECK(Band == E, "band t=%d D=%d", t, D);
    {
      std::vector<int8_t> F(no);
      int64_t s1 = R((int)no + 1), s2 = s1 + R((int)(no - s1) + 1);
      const int64_t cuts[4] = {0, s1, s2, no};
      for (int c = 0; c < 3; ++c) {
        if (is_mul) mul_range(m, A.data(), B.data(), F.data(), cuts[c], cuts[c + 1]);
        else add_range(p, A.data(), B.data(), F.data(), cuts[c], cuts[c + 1]);
      }
      CHECK(F == E, "range t=%d kind=%d", t, (int)p.layout.kind);
    }
  }
}

// Vectorized float quantization == the definition, on hard floats.
static void test_quantize_fast() {
  const int N = 1 << 16;
  std::vector<float> x(N);
  std::vector<int8_t> o(N);
  const float scales[] = {1.0f, 0.5f, 0.1f, 0.0039215689f, 1e-6f, 3.3e-3f, 1e-30f, 7.0f, 1e20f};
  for (int t = 0; t < 36; ++t) {
    for (int i = 0; i < N; ++i) {
      uint32_t bits = rng();
      switch (R(4)) {
        case 0: std::memcpy(&x[i], &bits, 4); break;
        case 1: x[i] = (float)(R(2001) - 1000) * 0.5f; break;
        case 2: x[i] = std::ldexp((float)(int32_t)rng(), R(40) - 30); break;
        default: x[i] = std::nextafter((float)(R(600) - 300) + 0.5f, R(2) ? 1e9f : -1e9f);
      }
    }
    QuantizeParams p; std::memset(&p, 0, sizeof p);
    p.from_float = 1; p.scale = scales[t % 9]; p.zero_point = R(256) - 128;
    quantize_range(p, x.data(), o.data(), 0, N);
    for (int i = 0; i < N; ++i)
      CHECK(o[i] == quantize_float_value(x[i], p.scale, p.zero_point), "quantize x=%a s=%g", x[i], p.scale);
  }
}

// Prepared LUT ops: any split of the range == the whole; softmax rows likewise.
static void test_unary_and_softmax_ranges() {
  Allocator al{arena_alloc, nullptr};
  char msg[256];
  TensorDesc in{}, out{};
  in.type = out.type = DType::kInt8;
  in.shape.rank = out.shape.rank = 2;
  in.shape.dims[0] = out.shape.dims[0] = 7;
  in.shape.dims[1] = out.shape.dims[1] = 37;
  float s1 = 0.07f, s2 = 0.05f, s3 = 1.0f / 256;
  in.quant = QuantInfo{s1, 3, &s1, 1, 0};
  out.quant = QuantInfo{s2, -9, &s2, 1, 0};
  OpOptions opts{};
  opts.alpha = 0.2f;
  opts.beta = 1.0f;
  const TensorDesc* ins[1] = {&in};
  const TensorDesc* outs[1] = {&out};
  const int n = 7 * 37;
  std::vector<int8_t> x(n), whole(n), part(n);
  for (auto& v : x) v = (int8_t)R(256);
  PrepareFn preps[] = {relu_prepare, relu6_prepare, leaky_relu_prepare, hard_swish_prepare};
  for (PrepareFn prep : preps) {
    PrepareContext ctx{0, 0, &opts, 1, ins, 1, outs, &al, msg, sizeof msg};
    CHECK(prep(ctx) == Status::kOk, "prepare: %s", msg);
    const ActivationParams& p = *static_cast<const ActivationParams*>(ctx.params);
    activation_range(p, x.data(), whole.data(), 0, n);
    for (int s = 0; s <= n; s += 13) {
      activation_range(p, x.data(), part.data(), 0, s);
      activation_range(p, x.data(), part.data(), s, n);
      CHECK(part == whole, "activation split %d", s);
    }
    for (int i = 0; i < n; ++i) CHECK(whole[i] == p.lut[(uint8_t)x[i]], "lut");
  }
  out.quant = QuantInfo{s3, -128, &s3, 1, 0};
  PrepareContext ctx{0, 0, &opts, 1, ins, 1, outs, &al, msg, sizeof msg};
  CHECK(softmax_prepare(ctx) == Status::kOk, "softmax prepare: %s", msg);
  const SoftmaxParams& sp = *static_cast<const SoftmaxParams*>(ctx.params);
  softmax_rows(sp, x.data(), whole.data(), 0, sp.num_rows);
  for (int r = 0; r <= 7; ++r) {
    std::memset(part.data(), 0, n);
    softmax_rows(sp, x.data(), part.data(), 0, r);
    softmax_rows(sp, x.data(), part.data(), r, 7);
    CHECK(part == whole, "softmax split %d", r);
  }
}

int main() {
  test_primitives();
  test_exhaustive_binary();
  test_bands();
  test_quantize_fast();
  test_unary_and_softmax_ranges();
  std::printf("failures: %d\n", failures);
  return failures ? 1 : 0;
}
"""


def test_entry_points_equal_definitions(tmp_path):
    cxx = shutil.which("g++") or shutil.which("c++")
    assert cxx, "a C++ compiler is needed to test the kernels' range / row-band entry points"
    src = tmp_path / "elementwise_test.cc"
    src.write_text(_CC)
    exe = tmp_path / "elementwise_test"
    k = REPO / "csrc" / "kernels"
    # Built like the engine (baseline x86-64 plus the run-time selected x86
    # SIMD kernels of csrc/kernels/x86), then run on every kernel level this
    # CPU has.
    cmd = [cxx, "-std=c++17", "-O2", "-g", "-fsanitize=address,undefined",
           "-fno-sanitize-recover=undefined", f"-I{REPO / 'csrc' / 'include'}", f"-I{REPO / 'csrc'}", str(src)]
    cmd += [str(k / f) for f in ("add.cc", "mul.cc", "activations.cc", "softmax.cc", "quantize.cc",
                                 "quant.cc", "op_common.cc")]
    cmd += [str(p) for p in sorted((k / "x86").glob("*.cc"))]
    cmd += ["-o", str(exe)]
    comp = subprocess.run(cmd, capture_output=True, text=True)
    assert comp.returncode == 0, comp.stderr[-4000:]
    from tinyops_tflm.runtime.engine import supported_isas

    for isa in supported_isas():
        run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0", TINYOPS_ISA=isa))
        assert run.returncode == 0, f"TINYOPS_ISA={isa}: " + (run.stdout + run.stderr)[-4000:]
        assert "failures: 0" in run.stdout, f"TINYOPS_ISA={isa}: {run.stdout[-2000:]}"
