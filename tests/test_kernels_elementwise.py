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

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from support import cxx
from support.oracle import assert_bytes_equal, assert_case_matches_oracle

from tinyops_tflm import Interpreter, ModelError, UnsupportedOpError
from tinyops_tflm.testing.single_op import OpSpec, TensorSpec, build_model, schema
from tinyops_tflm.validation.oracle import OracleError, run_tflm

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
    tensors = [
        TensorSpec("a", tuple(s1), dtype, *q1),
        TensorSpec("b", tuple(s2), dtype, *q2),
        TensorSpec("out", out_shape, dtype, *qo),
    ]
    return build_model(tensors, [OpSpec(op, opt, [0, 1], [2])], [0, 1], [2])


def unary_model(op, shape, qi, qo, opt=None, in_dtype=np.int8, out_dtype=np.int8, out_shape=None):
    tensors = [
        TensorSpec("in", tuple(shape), in_dtype, *qi),
        TensorSpec("out", tuple(shape if out_shape is None else out_shape), out_dtype, *qo),
    ]
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
        return a[rank - ra :], b[rank - rb :]
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
            so = f32(max(sc1, sc2) * logu(rng, 2.0**-17, 16.0))
        else:
            so = f32(sc1 * sc2 * logu(rng, 1e-2, 1e5))
        q1 = (sc1, int(rng.integers(-128, 128)))
        q2 = (sc2, int(rng.integers(-128, 128)))
        qo = (so, int(rng.integers(-128, 128)))
        act = list(ACTS)[k % 4]
        model = binary_model(op, s1, s2, q1, q2, qo, act)
        for j in range(2):
            cases.append(
                Case(
                    f"{op}-{k}-{mode}-{j}",
                    model,
                    [rand_int8(rng, s1), rand_int8(rng, s2)],
                    dict(shapes=(s1, s2), q=(q1, q2, qo), act=act),
                )
            )


def unary_shape(rng):
    return [(256,), (2, 16, 8), (1, 4, 8, 9), (3, 100), (1, 1, 17, 17)][int(rng.integers(0, 5))]


def activation_cases(cases, rng):
    def add(op, k, shape, qi, qo, opt=None, **extra):
        model = unary_model(op, shape, qi, qo, opt)
        cases.append(Case(f"{op}-{k}", model, [every_int8(rng, shape)], dict(qi=qi, qo=qo, **extra)))

    for k in range(24):  # RELU: requantizing, ratio below and above 1
        si = f32(logu(rng, 1e-3, 1.0))
        so = f32(si * logu(rng, 0.02, 30.0))
        add("RELU", k, unary_shape(rng), (si, int(rng.integers(-128, 128))), (so, int(rng.integers(-128, 128))))
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
        add(
            "LEAKY_RELU",
            k,
            unary_shape(rng),
            (si, int(rng.integers(-128, 128))),
            (so, int(rng.integers(-128, 128))),
            opt,
            alpha=alpha,
        )
    for k in range(28):  # HARD_SWISH: needs in_scale < 128 * out_scale
        si = f32(logu(rng, 1e-4, 3.0))
        if k % 7 == 6:
            so = f32(si * logu(rng, 600.0, 1e5))  # output shift >= 16: int16 rounding quirk
        else:
            so = f32(si * logu(rng, 1.0 / 100, 10.0))
        add(
            "HARD_SWISH",
            k,
            unary_shape(rng),
            (si, int(rng.integers(-128, 128))),
            (so, int(rng.integers(-128, 128))),
            schema.HardSwishOptionsT(),
        )
    logistic_scales = [logu(rng, 1e-5, 10.0) for _ in range(20)] + [4e-9, 2.0**-20, 1.0, 50.0, 1e4]
    for k, s in enumerate(logistic_scales):
        so = 1.0 / 256 if k != 3 else 0.01  # TFLM ignores the output scale
        add("LOGISTIC", k, unary_shape(rng), (f32(s), int(rng.integers(-128, 128))), (so, -128))


def softmax_sum(beta, scale, x):
    """Real-valued sum of exps per row (to avoid TFLM's >= 512 abort)."""
    d = x.astype(np.float64).max(axis=-1, keepdims=True) - x
    return np.exp(-beta * scale * d).sum(axis=-1)


def softmax_cases(cases, rng):
    shapes = [
        (1, 1),
        (1, 2),
        (1, 5),
        (1, 10),
        (2, 100),
        (1, 1000),
        (2, 3, 7),
        (4, 16),
        (1, 1, 1, 33),
        (3, 255),
        (1, 511),
    ]
    betas = [1.0, 0.5, 2.0, 0.1, 10.0, 1e-3, 1e4, 1e9]
    k = 0
    for shape in shapes:
        for _ in range(4):
            beta = f32(betas[int(rng.integers(0, len(betas)))])
            si = f32(logu(rng, 1e-3, 1.0))
            if beta * si * 2.0**26 <= 1.0:
                si = f32(2.0**-20 / beta)
            out16 = rng.random() < 0.3
            narrow = rng.random() < 0.3
            x = (
                (rng.integers(-4, 5, size=shape) + int(rng.integers(-100, 100))).astype(np.int8)
                if narrow
                else rand_int8(rng, shape)
            )
            if not out16 and softmax_sum(beta, si, x).max() >= 480:
                continue  # TFLM would abort; covered by test_softmax_defined_results
            qo = (f32(1.0 / 65536), -32768) if out16 else (f32(1.0 / 256), -128)
            opt = schema.SoftmaxOptionsT()
            opt.beta = beta
            model = unary_model(
                "SOFTMAX", shape, (si, int(rng.integers(-128, 128))), qo, opt, out_dtype=np.int16 if out16 else np.int8
            )
            cases.append(Case(f"SOFTMAX-{k}", model, [x], dict(shape=shape, beta=beta, si=si, out16=out16)))
            k += 1


def quantize_float_inputs(rng, scale, zp, n_random=300):
    lo, hi = (-128 - zp) * scale, (127 - zp) * scale
    k = np.arange(-140, 141, dtype=np.float32)
    ties = (k + np.float32(0.5)) * np.float32(scale)
    near = np.concatenate([np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf))])
    big = np.array(
        [
            1e30,
            -1e30,
            3.4e38,
            -3.4e38,
            np.inf,
            -np.inf,
            np.nan,
            -0.0,
            0.0,
            1e-45,
            -1e-45,
            2.0**31 * scale,
            -(2.0**31) * scale,
            2.0**31 * scale * 0.999999,
            -(2.0**31) * scale * 1.000001,
            2.0**24 * scale,
            1e6,
            -1e6,
        ],
        dtype=np.float32,
    )
    rand = rng.uniform(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo), n_random).astype(np.float32)
    x = np.concatenate([ties, near, big, rand]).astype(np.float32)
    return rng.permutation(x)


def quantize_cases(cases, rng):
    scales = [2.0**-7, 0.25, 1.0, 2.0**-10, 3.0, 1e-6, 1e3] + [logu(rng, 1e-4, 10.0) for _ in range(9)]
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
        model = unary_model("QUANTIZE", shape, (si, int(rng.integers(-128, 128))), (so, int(rng.integers(-128, 128))))
        cases.append(Case(f"QUANTIZE-i8-{k}", model, [every_int8(rng, shape)], dict(si=si, so=so)))
    for k in range(12):
        s = f32([1e-38, 3e38, 1.0, 2.0**-7][k] if k < 4 else logu(rng, 1e-5, 100.0))
        shape = unary_shape(rng)
        model = unary_model("DEQUANTIZE", shape, (s, int(rng.integers(-128, 128))), (None, None), out_dtype=np.float32)
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


# (the `oracle` fixture of tests/conftest.py runs them)


@pytest.mark.parametrize("k", range(len(CASES)), ids=[c.id for c in CASES])
def test_matches_tflm(oracle, k):
    assert_case_matches_oracle(CASES[k], oracle[k])


def test_case_mix():
    """The sweep really covers what it claims (guards against generator drift)."""
    ids = [c.id for c in CASES]
    for prefix, least in [
        ("ADD-", 130),
        ("MUL-", 130),
        ("RELU-", 20),
        ("RELU6-", 15),
        ("LEAKY_RELU-", 20),
        ("HARD_SWISH-", 25),
        ("LOGISTIC-", 20),
        ("SOFTMAX-", 30),
        ("QUANTIZE-f32", 12),
        ("QUANTIZE-i8", 12),
        ("DEQUANTIZE-", 10),
    ]:
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
    model16 = unary_model("SOFTMAX", (1, depth), (f32(0.05), 0), (f32(1 / 65536), -32768), opt, out_dtype=np.int16)
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
        (
            "add-int16",
            UnsupportedOpError,
            binary_model("ADD", [4], [4], (0.05, 0), (0.05, 0), (0.1, 0), dtype=np.int16),
        ),
        ("mul-bad-broadcast", ModelError, binary_model("MUL", [2, 3], [3, 2], q, q, q, out_shape=(3, 3))),
        ("add-bad-output", ModelError, binary_model("ADD", [2, 3], [1, 3], q, q, q, out_shape=(2, 1))),
        ("logistic-zp", ModelError, unary_model("LOGISTIC", (8,), q, (1 / 256, 0))),
        ("softmax-out-scale", ModelError, unary_model("SOFTMAX", (8,), q, (1 / 128, -128), sm)),
        ("softmax-out-zp", ModelError, unary_model("SOFTMAX", (8,), q, (1 / 256, 0), sm)),
        ("softmax-neg-beta", UnsupportedOpError, unary_model("SOFTMAX", (8,), q, (1 / 256, -128), sm_neg)),
        (
            "hard-swish-out-shift",
            ModelError,
            unary_model("HARD_SWISH", (8,), (1.0, 0), (1e-3, 0), schema.HardSwishOptionsT()),
        ),
        ("relu-int16", UnsupportedOpError, unary_model("RELU", (8,), q, q, in_dtype=np.int16, out_dtype=np.int16)),
        (
            "leaky-float",
            UnsupportedOpError,
            unary_model(
                "LEAKY_RELU", (8,), (None, None), (None, None), lrelu, in_dtype=np.float32, out_dtype=np.float32
            ),
        ),
        (
            "quantize-int16",
            UnsupportedOpError,
            unary_model("QUANTIZE", (8,), (None, None), q, in_dtype=np.float32, out_dtype=np.int16),
        ),
        (
            "quantize-per-channel-out",
            ModelError,
            unary_model("QUANTIZE", (2, 4), (None, None), ([0.1, 0.2], [0, 0]), in_dtype=np.float32),
        ),
        (
            "dequantize-int16",
            UnsupportedOpError,
            unary_model("DEQUANTIZE", (8,), q, (None, None), in_dtype=np.int16, out_dtype=np.float32),
        ),
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
# (tests/cpp/elementwise_entry_points.cc)
# ----------------------------------------------------------------------------


def test_entry_points_equal_definitions():
    from tinyops_tflm.runtime.engine import supported_isas

    # Built like the engine (baseline x86-64 plus the run-time selected x86
    # SIMD kernels of csrc/kernels/x86), then run on every kernel level this
    # CPU has.
    sources = cxx.kernel_sources(
        "add.cc", "mul.cc", "elementwise.cc", "activations.cc", "softmax.cc", "quantize.cc", "quant.cc", "op_common.cc"
    )
    exe = cxx.build(
        "elementwise_entry_points.cc",
        sources + cxx.engine_sources("kernels/x86"),
        ["-O2", *cxx.SANITIZE_ASAN_UBSAN[1:]],
    )
    for isa in supported_isas():
        out = cxx.run(exe, timeout=300, env={"ASAN_OPTIONS": "detect_leaks=0", "TINYOPS_ISA": isa})
        assert "failures: 0" in out, f"TINYOPS_ISA={isa}: {out[-2000:]}"
