"""TinyOps inside the real TFLM interpreter (csrc/tflm via tinyops_tflm.tflm):
whole models and single ops give exactly stock TFLM's bytes at several SRAM
tile-arena budgets, the TinyOps kernels provably ran (invocation counters),
and the version / ABI guards refuse cleanly."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from tinyops_tflm import BudgetError, ModelError, TinyOpsError
from tinyops_tflm.frontend.reader import read_model
from tinyops_tflm.planning.boards import KIB
from tinyops_tflm.runtime import tflm
from tinyops_tflm.testing import single_op
from tinyops_tflm.validation.compare import make_inputs
from tinyops_tflm.validation.oracle import PINNED_TFLM_VERSION, run_tflm

zoo = pytest.importorskip("tinyops_tflm.validation.zoo")

MODELS = zoo.list_models()
BUDGETS = [320 * KIB, 64 * KIB]
NUM_INPUTS = 3


def _require_adapter() -> str:
    """The tflite-micro version, or skip with the guard's reason."""
    try:
        return tflm.check_available()
    except tflm.TflmUnavailableError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def adapter():
    return _require_adapter()


@pytest.fixture(scope="module", params=MODELS)
def zoo_model(request, adapter):
    data = zoo.cached(request.param)
    inputs = make_inputs(read_model(data), NUM_INPUTS, seed=11)
    expected = run_tflm(data, inputs)
    return request.param, data, inputs, expected


@pytest.mark.parametrize("budget", BUDGETS, ids=lambda b: f"{b // KIB}K")
def test_zoo_model_bit_exact_in_tflm(zoo_model, budget):
    name, data, inputs, expected = zoo_model
    # Asynchronous DMA (late at the tight budget): a missing wait shows as wrong bytes.
    interp = tflm.TflmInterpreter.from_bytes(
        data, board="stm32f746", sram_budget=budget, dma="async", dma_delay_us=1 if budget < 128 * KIB else 0
    )
    assert interp.sram_budget == budget
    for k, (x, ref) in enumerate(zip(inputs, expected)):
        out = interp.run(*x)
        assert len(out) == len(ref)
        for a, b in zip(out, ref):
            assert a.dtype == b.dtype and a.shape == b.shape
            diff = np.count_nonzero(a != b)
            assert diff == 0, f"{name} at {budget // KIB}K, input {k}: {diff} bytes differ from TFLM"
    # Every served op of the model ran through TinyOps once per inference.
    counts = interp.tinyops_invocations()
    present = zoo.op_counts(data)
    for op in tflm.SERVED_OPS:
        assert counts[op] == present.get(op, 0) * NUM_INPUTS, (name, op, counts[op])
    stats = interp.tinyops_stats()
    assert 0 < stats["sram_high_water"] <= budget
    assert stats["sram_planned"] <= budget
    assert stats["prepared"]["all_direct"] == 0
    assert stats["prepared"]["streamed"] > 0
    assert sum(stats["prepared"].values()) == sum(present.get(op, 0) for op in tflm.SERVED_OPS)
    # Activations really went through the tile arena by DMA.
    assert stats["dma_read_bytes"]["arena"] > 0 and stats["dma_write_bytes"]["arena"] > 0
    if budget == 320 * KIB:
        assert stats["prepared"]["constants_direct"] == 0


def _single_op_cases():
    rng = np.random.default_rng(5)
    cases = [
        (
            "AVERAGE_POOL_2D",
            single_op.average_pool_2d(rng, input_shape=(1, 48, 40, 24), filter=(3, 3), stride=(2, 2), padding="SAME"),
        ),
        (
            "AVERAGE_POOL_2D",
            single_op.average_pool_2d(
                rng, input_shape=(2, 21, 17, 8), filter=(4, 2), stride=(1, 3), padding="VALID", activation="RELU6"
            ),
        ),
        ("PAD", single_op.pad(rng, input_shape=(1, 40, 36, 16), paddings=[[0, 0], [1, 2], [2, 1], [0, 0]])),
        ("PAD", single_op.pad(rng, input_shape=(3, 7, 5))),
        ("CONV_2D", single_op.conv2d(rng)),
        ("DEPTHWISE_CONV_2D", single_op.depthwise_conv2d(rng)),
        ("FULLY_CONNECTED", single_op.fully_connected(rng)),
        ("ADD", single_op.add(rng)),
        ("MUL", single_op.mul(rng)),
        ("MEAN", single_op.mean(rng)),
        ("HARD_SWISH", single_op.hard_swish(rng)),
    ]
    return [pytest.param(op, model, meta, id=f"{op}-{i}") for i, (op, (model, meta)) in enumerate(cases)]


@pytest.mark.parametrize("op,model,meta", _single_op_cases())
def test_single_op_bit_exact_in_tflm(adapter, op, model, meta):
    rng = np.random.default_rng(17)
    inputs = [single_op.random_inputs(meta, rng) for _ in range(2)]
    expected = run_tflm(model, inputs)
    for budget in (320 * KIB, 8 * KIB, 2 * KIB):
        try:
            interp = tflm.TflmInterpreter.from_bytes(model, sram_budget=budget, dma="async")
        except BudgetError as e:
            assert budget < 8 * KIB, f"{op} does not fit {budget} bytes: {e}"
            assert op in str(e) and "SRAM tile arena" in str(e)
            continue
        for x, ref in zip(inputs, expected):
            out = interp.run(*x)
            for a, b in zip(out, ref):
                assert np.array_equal(a, b), f"{op} at {budget} B: {np.count_nonzero(a != b)} bytes differ"
        counts = interp.tinyops_invocations()
        assert counts[op] == len(inputs), (op, counts)
        assert sum(counts.values()) == counts[op]
        assert interp.tinyops_stats()["sram_high_water"] <= budget


def test_every_listed_op_runs_through_tinyops(adapter):
    """One inference each of models that together use every served op."""
    rng = np.random.default_rng(23)
    models = [
        zoo.cached("demo_tiny"),
        single_op.average_pool_2d(rng, input_shape=(1, 20, 20, 8), filter=(2, 2), stride=(2, 2), padding="VALID")[0],
        single_op.pad(rng, input_shape=(1, 9, 9, 4))[0],
    ]
    ran: dict[str, int] = {}
    for model in models:
        inputs = make_inputs(read_model(model), 1, seed=4)
        expected = run_tflm(model, inputs)
        interp = tflm.TflmInterpreter.from_bytes(model, sram_budget=64 * KIB)
        for a, b in zip(interp.run(*inputs[0]), expected[0]):
            assert np.array_equal(a, b)
        for op, n in interp.tinyops_invocations().items():
            ran[op] = ran.get(op, 0) + n
    missing = [op for op in tflm.SERVED_OPS if ran.get(op, 0) == 0]
    assert not missing, f"never ran through TinyOps: {missing} (counts {ran})"


def test_interpreter_api_and_counters(adapter):
    data = zoo.cached("demo_tiny")
    interp = tflm.TflmInterpreter.from_bytes(data)
    assert interp.sram_budget == tflm.get_board(tflm.DEFAULT_BOARD).default_sram_budget
    d_in = interp.get_input_details(0)
    assert d_in["dtype"] == np.int8 and list(d_in["shape"])[0] == 1
    assert interp.get_output_details(0)["dtype"] == np.int8
    assert sum(interp.tinyops_invocations().values()) == 0
    x = make_inputs(read_model(data), 1, seed=2)[0]
    interp.set_input(x[0], 0)
    interp.invoke()
    y1 = interp.get_output(0)
    first = interp.tinyops_invocations()
    assert first["CONV_2D"] == zoo.op_counts(data)["CONV_2D"]
    interp.reset_tinyops_counters()
    assert sum(interp.tinyops_invocations().values()) == 0
    interp.set_input(x[0], 0)  # TFLM may reuse the input's memory during invoke
    interp.invoke()
    assert np.array_equal(interp.get_output(0), y1)
    assert interp.tinyops_invocations() == first
    with pytest.raises(ValueError):
        interp.set_input(np.zeros((1, 2), np.int8), 0)
    interp.close()


def test_from_file_and_board_budget(adapter, tmp_path):
    data = zoo.cached("demo_tiny")
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    interp = tflm.TflmInterpreter.from_file(path, board="stm32f469-paper")
    assert interp.sram_budget == 256 * KIB
    interp = tflm.TflmInterpreter.from_file(str(path), board="stm32f469", sram_budget="48K")
    assert interp.sram_budget == 48 * KIB


def test_budget_too_small_is_named(adapter):
    with pytest.raises(BudgetError, match=r"CONV_2D.*SRAM tile arena.*256 bytes"):
        tflm.TflmInterpreter.from_bytes(zoo.cached("demo_tiny"), sram_budget=256)


def test_bad_model_bytes(adapter):
    with pytest.raises(ModelError):
        tflm.TflmInterpreter.from_bytes(b"not a model at all")


def test_version_mismatch_refused_with_reason(monkeypatch):
    import tflite_micro

    fake = "0.dev20990101000000-gdeadbee"
    monkeypatch.setattr(tflite_micro, "__version__", fake)
    with pytest.raises(tflm.TflmVersionError) as info:
        tflm.TflmInterpreter.from_bytes(b"\0" * 64, sram_budget="64K")
    message = str(info.value)
    assert PINNED_TFLM_VERSION in message and fake in message
    assert isinstance(info.value, TinyOpsError)
    with pytest.raises(tflm.TflmUnavailableError, match=PINNED_TFLM_VERSION):
        tflm.check_available()
    # Tests needing the adapter skip with exactly that reason.
    with pytest.raises(pytest.skip.Exception, match="tflite-micro"):
        _require_adapter()


def test_abi_guard_refuses_a_foreign_resolver(adapter):
    lib = tflm._plugin()
    binding = lib.tinyops_tflm_binding_create(4096, 0, 0)
    try:
        # An object whose vtable is not the pinned build's resolver's.
        table = (ctypes.c_void_p * 8)()
        obj = (ctypes.c_void_p * 4)(ctypes.cast(ctypes.byref(table, 16), ctypes.c_void_p).value)
        lib.tinyops_tflm_host_begin(binding)
        register = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p)(("tinyops_tflm_register", lib))
        assert register(ctypes.addressof(obj)) is False
        assert lib.tinyops_tflm_last_error_status() == 100
        assert "ABI mismatch" in lib.tinyops_tflm_last_error().decode()
    finally:
        lib.tinyops_tflm_host_end()
        lib.tinyops_tflm_binding_destroy(binding)


def test_registerer_without_binding_is_refused(adapter):
    from tflite_micro import runtime

    tflm._plugin()
    with pytest.raises(RuntimeError):
        runtime.Interpreter.from_bytes(zoo.cached("demo_tiny"), custom_op_registerers=[tflm.REGISTERER])


def _xorshift_pattern(n: int, seed: int) -> bytes:
    """The ports' input pattern (ports/common/tflm_example/main.cc, runner.cc)."""
    x = (seed * 2654435761 + 1) & 0xFFFFFFFF
    out = bytearray(n)
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return bytes(out)


@pytest.mark.slow
def test_firmware_example_matches_host(adapter, tmp_path):
    """Opt-in (builds TFLM from source, minutes): set TINYOPS_TFLM_DIR to a TFLM
    tree. The QEMU Cortex-M7 firmware of ports/common/tflm_example gives the
    bytes stock TFLM gives on the host."""
    import os
    import re
    import shutil
    import subprocess
    from pathlib import Path

    tree = os.environ.get("TINYOPS_TFLM_DIR")
    if not tree:
        pytest.skip("set TINYOPS_TFLM_DIR to a TFLM source tree to build the firmware example")
    tools = [shutil.which(t) for t in ("arm-none-eabi-g++", "qemu-system-arm", "cmake")]
    if not all(tools):
        pytest.skip("needs arm-none-eabi-g++, qemu-system-arm and cmake")
    root = Path(__file__).resolve().parents[1]
    port = root / "ports" / "stm32f746"
    if "tflm_example" not in (root / "ports" / "common" / "firmware.cmake").read_text():
        # The port does not include the example yet: a copy of its project that does.
        src = tmp_path / "port"
        src.mkdir()
        text = (port / "CMakeLists.txt").read_text().replace("${CMAKE_CURRENT_LIST_DIR}", port.as_posix())
        example = root / "ports" / "common" / "tflm_example" / "tflm_example.cmake"
        (src / "CMakeLists.txt").write_text(text + f"\ninclude({example.as_posix()})\n")
        port = src
    build = Path(os.environ.get("TINYOPS_TFLM_FW_BUILD", tmp_path / "fw"))
    model = root / "tinyops_tflm" / "data" / "demo_tiny.tflite"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run(
        [
            "cmake",
            "-S",
            str(port),
            "-B",
            str(build),
            *gen,
            f"-DTINYOPS_TFLM_DIR={tree}",
            f"-DTINYOPS_TFLM_MODEL={model}",
            "-DTINYOPS_BUILD_BOARD=OFF",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["cmake", "--build", str(build), "-j2", "--target", "tflm_example_qemu"], check=True, capture_output=True
    )
    from tinyops_tflm.firmware.qemu import run_firmware

    run = run_firmware(build / "tflm_example_qemu.elf", "mps2-an500", timeout=600)
    text = run.log
    assert run.exit_code == 0 and "DONE status=0" in text, text[-2000:]
    fw = bytes.fromhex("".join(m for m in re.findall(r"^out0 ([0-9a-f]+)$", text, re.M)))
    data = model.read_bytes()
    interp = tflm.TflmInterpreter.from_bytes(data, sram_budget=64 * KIB)
    details = interp.get_input_details(0)
    x = np.frombuffer(_xorshift_pattern(int(np.prod(details["shape"])), 1), dtype=details["dtype"]).reshape(
        details["shape"]
    )
    expected = run_tflm(data, [[x]])[0][0]
    assert fw == expected.tobytes()
    assert interp.run(x)[0].tobytes() == fw
    counts = dict(re.findall(r"(\w+)=(\d+)", re.search(r"^tinyops CONV.*$", text, re.M).group(0)))
    assert int(counts["CONV_2D"]) == zoo.op_counts(data)["CONV_2D"]
