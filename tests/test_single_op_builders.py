"""Every single-op model builder produces models the tflite-micro interpreter
loads and runs, with the declared output shapes, and (for the data-movement
ops) with the semantics the builder's parameters describe."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinyops_tflm.testing import single_op as so

CASES_PER_BUILDER = 12


def run_in_tflm(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """In-process TFLM run (the builders never produce aborting models)."""
    it = runtime.Interpreter.from_bytes(model, custom_op_registerers=[], arena_size=1 << 20)
    for i, a in enumerate(inputs):
        it.set_input(a, i)
    it.invoke()
    n_out = schema.Model.GetRootAs(model, 0).Subgraphs(0).OutputsLength()
    return [np.array(it.get_output(i)) for i in range(n_out)]


def _rng(*key) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(repr(key).encode())])


@pytest.mark.parametrize("name", sorted(so.BUILDERS))
def test_builder_random_cases_run_in_tflm(name):
    rng = _rng("random", name)
    informative = qualifying = 0
    for case in range(CASES_PER_BUILDER):
        model, meta = so.BUILDERS[name](rng)
        assert isinstance(model, bytes) and model[4:8] == b"TFL3"
        inputs = so.random_inputs(meta, rng)
        outs = run_in_tflm(model, inputs)
        assert len(outs) == len(meta["outputs"])
        for o, spec in zip(outs, meta["outputs"]):
            assert o.dtype == spec.dtype, (name, case, meta["params"])
            assert o.shape == spec.shape, (name, case, meta["params"])
        o = outs[0]
        if o.dtype == np.int8 and o.size >= 16:
            qualifying += 1
            informative += len(np.unique(o)) >= 4
    # the drawn quantization must not make outputs trivially constant
    assert informative >= 0.75 * qualifying, (name, informative, qualifying)


def test_build_model_layout():
    rng = np.random.default_rng(0)
    model, meta = so.conv2d(rng, input_shape=(1, 5, 5, 3), out_channels=4, kernel=3, bias=True)
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model, 0))
    assert model[4:8] == b"TFL3" and m.version == 3
    assert m.buffers[0].data is None or len(m.buffers[0].data) == 0
    sg = m.subgraphs[0]
    const = {t.name.decode(): t for t in sg.tensors if t.buffer != 0}
    assert set(const) == {"filter", "bias"}
    assert len({t.buffer for t in const.values()}) == 2
    for t in sg.tensors:
        if t.name.decode() in ("input", "output"):
            assert t.buffer == 0
    filt = const["filter"]
    assert filt.type == schema.TensorType.INT8 and list(filt.shape) == [4, 3, 3, 3]
    assert len(filt.quantization.scale) == 4 and filt.quantization.quantizedDimension == 0
    bias = const["bias"]
    assert bias.type == schema.TensorType.INT32
    np.testing.assert_allclose(
        bias.quantization.scale,
        np.float32(meta["params"]["in_scale"]) * np.asarray(filt.quantization.scale, np.float32),
        rtol=1e-6,
    )
    assert list(bias.quantization.zeroPoint) == [0] * 4
    (oc,) = m.operatorCodes
    assert oc.builtinCode == schema.BuiltinOperator.CONV_2D == oc.deprecatedBuiltinCode
    assert m.buffers[filt.buffer].data is not None
    np.testing.assert_array_equal(
        np.frombuffer(bytes(m.buffers[filt.buffer].data), np.int8).reshape(4, 3, 3, 3), meta["tensors"][1].data
    )


def test_build_model_generic_with_optional_input_and_large_opcode():
    # FULLY_CONNECTED without bias uses -1 for the optional input.
    t = [
        so.TensorSpec("x", (2, 8), np.int8, 0.05, 3),
        so.TensorSpec("w", (4, 8), np.int8, [0.01], [0], data=np.arange(32).reshape(4, 8) - 16),
        so.TensorSpec("y", (2, 4), np.int8, 0.5, -2),
    ]
    opt = schema.FullyConnectedOptionsT()
    model = so.build_model(t, [("FULLY_CONNECTED", opt, [0, 1, -1], [2])], [0], [2])
    x = np.arange(16, dtype=np.int8).reshape(2, 8)
    (y,) = run_in_tflm(model, [x])
    acc = (x.astype(np.int64) - 3) @ (np.arange(32).reshape(4, 8) - 16).T
    # multiplier 0.05*0.01/0.5 = 1e-3, output zp -2: small enough to check loosely
    np.testing.assert_allclose(y.astype(np.float64), np.clip(np.round(acc * 1e-3) - 2, -128, 127), atol=1)
    # an op code >= 127 keeps deprecated_builtin_code at 127
    spec = [so.TensorSpec("a", (4,), np.int8, 0.1, 0), so.TensorSpec("b", (4,), np.int8, 0.1, 0)]
    code = schema.BuiltinOperator.STABLEHLO_ABS
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAs(so.build_model(spec, [(code, None, [0], [1])], [0], [1]), 0))
    assert m.operatorCodes[0].deprecatedBuiltinCode == 127 and m.operatorCodes[0].builtinCode == code


def test_build_model_rejects_bad_specs():
    a = so.TensorSpec("a", (2,), np.int8, 0.1, 0)
    with pytest.raises(ValueError, match="out of range"):
        so.build_model([a], [("RELU", None, [0], [3])], [0], [0])
    with pytest.raises(ValueError, match="scales"):
        so.build_model([so.TensorSpec("w", (2, 3), np.int8, [0.1, 0.2, 0.3], 0, 0)], [], [0], [0])
    with pytest.raises(ValueError, match="unknown builtin"):
        so.build_model([a], [("NOT_AN_OP", None, [0], [0])], [0], [0])
    with pytest.raises(ValueError, match="data shape"):
        so.TensorSpec("c", (3,), np.int32, data=np.zeros(4))


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("kernel,stride,dilation", [(1, 1, 1), (3, 2, 1), ((3, 5), (1, 2), 1), (3, 1, 2), (5, 2, 1)])
@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
def test_conv_variants(padding, kernel, stride, dilation, activation):
    rng = _rng("conv", padding, kernel, stride, dilation, activation)
    for builder in (so.conv2d, so.depthwise_conv2d):
        model, meta = builder(
            rng,
            input_shape=(1, 11, 9, 4),
            kernel=kernel,
            stride=stride,
            dilation=dilation,
            padding=padding,
            activation=activation,
        )
        (o,) = run_in_tflm(model, so.random_inputs(meta, rng))
        assert o.shape == meta["outputs"][0].shape


@pytest.mark.parametrize("dm", [1, 2, 3])
@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_depthwise_multiplier_and_bias(dm, per_channel, bias):
    rng = _rng("dw", dm, per_channel, bias)
    model, meta = so.depthwise_conv2d(
        rng, input_shape=(1, 6, 6, 5), depth_multiplier=dm, per_channel=per_channel, bias=bias
    )
    (o,) = run_in_tflm(model, so.random_inputs(meta, rng))
    assert o.shape == (1, *o.shape[1:3], 5 * dm)


@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_fully_connected_variants(keep, per_channel, bias):
    rng = _rng("fc", keep, per_channel, bias)
    model, meta = so.fully_connected(
        rng, input_shape=(2, 3, 20), units=7, keep_num_dims=keep, per_channel=per_channel, bias=bias
    )
    (o,) = run_in_tflm(model, so.random_inputs(meta, rng))
    assert o.shape == ((2, 3, 7) if keep else (6, 7))


@pytest.mark.parametrize(
    "shapes",
    [((1, 4, 4, 8), (1, 4, 4, 8)), ((1, 4, 4, 8), (8,)), ((1, 1, 4, 1), (1, 3, 1, 5)), ((2, 3), (1, 3)), ((5,), (1,))],
)
@pytest.mark.parametrize("op", ["add", "mul"])
def test_binary_broadcast(op, shapes):
    rng = _rng("bin", op, shapes)
    model, meta = so.BUILDERS[op](rng, shape1=shapes[0], shape2=shapes[1])
    (o,) = run_in_tflm(model, so.random_inputs(meta, rng))
    assert o.shape == np.broadcast_shapes(*shapes)


@pytest.mark.parametrize("input_dtype", ["float32", "int8"])
def test_quantize_directions(input_dtype):
    rng = _rng("q", input_dtype)
    model, meta = so.quantize(rng, shape=(3, 7), input_dtype=input_dtype, out_scale=0.05, out_zp=-10)
    (o,) = run_in_tflm(model, so.random_inputs(meta, rng))
    assert o.dtype == np.int8 and o.shape == (3, 7)
    if input_dtype == "float32":
        x = np.array([[-1.0, 0.0, 0.05, 0.12, 1.0, 100.0, -100.0]], np.float32)
        m2, _ = so.quantize(rng, shape=(1, 7), input_dtype="float32", out_scale=0.05, out_zp=-10)
        (q,) = run_in_tflm(m2, [x])
        np.testing.assert_array_equal(q, [[-30, -10, -9, -8, 10, 127, -128]])


def test_dequantize_values():
    rng = _rng("dq")
    model, meta = so.dequantize(rng, shape=(256,), in_scale=0.25, in_zp=3)
    x = np.arange(-128, 128, dtype=np.int8)
    (o,) = run_in_tflm(model, [x])
    np.testing.assert_array_equal(o, (x.astype(np.float32) - 3) * np.float32(0.25))


def test_data_movement_semantics():
    """The data-movement builders do what their parameters say (TFLM copies bytes)."""
    rng = _rng("semantics")
    for _ in range(25):
        m, meta = so.pad(rng)
        x = so.random_inputs(meta, rng)
        p = meta["params"]
        np.testing.assert_array_equal(run_in_tflm(m, x)[0], np.pad(x[0], p["paddings"], constant_values=p["zp"]))

        m, meta = so.padv2(rng)
        x = so.random_inputs(meta, rng)
        p = meta["params"]
        np.testing.assert_array_equal(run_in_tflm(m, x)[0], np.pad(x[0], p["paddings"], constant_values=p["constant"]))

        m, meta = so.reshape(rng)
        x = so.random_inputs(meta, rng)
        np.testing.assert_array_equal(run_in_tflm(m, x)[0], x[0].reshape(meta["outputs"][0].shape))

        m, meta = so.squeeze(rng)
        x = so.random_inputs(meta, rng)
        np.testing.assert_array_equal(run_in_tflm(m, x)[0], x[0].reshape(meta["outputs"][0].shape))

        m, meta = so.concatenation(rng)
        x = so.random_inputs(meta, rng)
        np.testing.assert_array_equal(run_in_tflm(m, x)[0], np.concatenate(x, axis=meta["params"]["axis"]))

        m, meta = so.pack(rng)
        x = so.random_inputs(meta, rng)
        np.testing.assert_array_equal(run_in_tflm(m, x)[0], np.stack(x, axis=meta["params"]["axis"]))

        m, meta = so.shape(rng)
        x = so.random_inputs(meta, rng)
        np.testing.assert_array_equal(run_in_tflm(m, x)[0], np.array(meta["params"]["input_shape"], np.int32))

        m, meta = so.strided_slice(rng)
        x = so.random_inputs(meta, rng)
        p = meta["params"]
        idx = []
        for i in range(len(p["input_shape"])):
            if p["shrink_axis_mask"] & (1 << i):
                idx.append(p["begin"][i])
            else:
                idx.append(
                    slice(
                        None if p["begin_mask"] & (1 << i) else p["begin"][i],
                        None if p["end_mask"] & (1 << i) else p["end"][i],
                        p["strides"][i],
                    )
                )
        np.testing.assert_array_equal(run_in_tflm(m, x)[0], x[0][tuple(idx)])

        m, meta = so.relu6(rng)
        x = so.random_inputs(meta, rng)
        p = meta["params"]
        six = int(np.clip(p["in_zp"] + round(6.0 / p["in_scale"]), -128, 127))
        np.testing.assert_array_equal(run_in_tflm(m, x)[0], np.clip(x[0], p["in_zp"], six))

        m, meta = so.max_pool_2d(rng, padding="VALID", stride=1, filter=1, activation="NONE")
        x = so.random_inputs(meta, rng)
        np.testing.assert_array_equal(run_in_tflm(m, x)[0], x[0])


def test_fixed_quantization_of_logistic_and_softmax():
    rng = _rng("fixed")
    for builder in (so.logistic, so.softmax):
        model, meta = builder(rng, shape=(2, 10))
        out = meta["outputs"][0]
        assert out.scale == 1.0 / 256 and out.zero_point == -128
        (o,) = run_in_tflm(model, so.random_inputs(meta, rng))
        assert o.shape == (2, 10)


def test_builders_reject_invalid_parameters():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="NONE"):
        so.concatenation(rng, activation="RELU")
    with pytest.raises(ValueError, match="broadcast"):
        so.add(rng, shape1=(2, 3), shape2=(4, 3))
    with pytest.raises(ValueError, match="ADD"):
        so.add(rng, shape1=(4,), shape2=(4,), in1_scale=1.0, in2_scale=1.0, out_scale=1e-7)
    with pytest.raises(ValueError, match="HARD_SWISH"):
        so.hard_swish(rng, in_scale=1.0, out_scale=1e-3, out_zp=0)
    with pytest.raises(ValueError, match="padding"):
        so.conv2d(rng, padding="FULL")
    with pytest.raises(ValueError, match="activation"):
        so.conv2d(rng, activation="TANHX")
    with pytest.raises(ValueError, match="SQUEEZE"):
        so.squeeze(rng, input_shape=(1, 2), squeeze_dims=[1])


def test_builders_are_deterministic():
    for name, builder in so.BUILDERS.items():
        a, _ = builder(np.random.default_rng(42))
        b, _ = builder(np.random.default_rng(42))
        assert a == b, name
