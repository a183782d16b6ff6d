"""The package grouped by layer (frontend, planning, runtime, firmware,
validation, workflow, cli): public imports and the pre-grouping module paths
keep working, and the package itself uses only the new paths."""

import subprocess
import sys

import pytest

import tinyops_tflm
from tinyops_tflm import _moved

# Compiled modules beside the Python ones in an installed package: the engine
# (its CoreError is the C++ side's, which the runtime turns into errors.py's
# classes) and the TFLM plugin (a shared library, not a Python module).
NATIVE = ("tinyops_tflm._core", "tinyops_tflm._tflm_plugin")


def _child(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout


# The error types users catch, exported from the package.
PUBLIC_ERRORS = (
    "TinyOpsError ModelError ModelFileError ModelFileNotFound UnsupportedOpError PlanError BudgetError "
    "WeightsPlacementError InvocationError MissingDependencyError IsaError"
).split()


def test_public_api():
    import tinyops_tflm
    from tinyops_tflm import errors
    from tinyops_tflm.runtime.interpreter import Interpreter as Native

    assert tinyops_tflm.Interpreter is Native
    assert callable(tinyops_tflm.read_model) and callable(tinyops_tflm.validate)
    for name in PUBLIC_ERRORS:
        cls = getattr(tinyops_tflm, name)
        assert cls is getattr(errors, name) and issubclass(cls, errors.TinyOpsError), name
        assert name in tinyops_tflm.__all__, name
    # What a user catches for a model path that is not there.
    assert issubclass(tinyops_tflm.ModelFileNotFound, FileNotFoundError)
    assert issubclass(tinyops_tflm.ModelFileError, tinyops_tflm.ModelError)


def test_tflm_attribute_after_plain_import():
    out = _child("import tinyops_tflm; print(tinyops_tflm.tflm.__name__, tinyops_tflm.tflm.Interpreter.__name__)")
    assert out.split() == ["tinyops_tflm.runtime.tflm", "TflmInterpreter"]


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_old_module_path_is_the_new_module(old):
    import importlib

    mod = importlib.import_module(f"tinyops_tflm.{old}")
    assert mod is importlib.import_module(_moved.new_path(f"tinyops_tflm.{old}"))
    assert getattr(tinyops_tflm, old) is mod


def test_old_submodule_path_is_not_a_second_copy():
    from tinyops_tflm.boardmodel import ClockError as old
    from tinyops_tflm.errors import ClockError as new

    assert old is new


def test_old_validation_module_names():
    from tinyops_tflm.validation import compare, describe_difference, make_inputs, validate

    assert (validate, make_inputs, describe_difference) == (
        compare.validate,
        compare.make_inputs,
        compare.describe_difference,
    )
    with pytest.raises(AttributeError):
        tinyops_tflm.validation.no_such_name


def test_package_uses_only_new_paths():
    # Importing every module must not go through an old path (an alias in
    # sys.modules would mean some module still imports the flat layout).
    out = _child(
        "import importlib, pkgutil, sys, tinyops_tflm\n"
        "from tinyops_tflm import _moved\n"
        "for m in pkgutil.walk_packages(tinyops_tflm.__path__, 'tinyops_tflm.'):\n"
        f"    if not m.name.endswith('__main__') and m.name not in {NATIVE!r}:\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(k for k in sys.modules if _moved.new_path(k)))\n"
    )
    assert out.strip() == "[]"


def test_python_dash_m():
    for mod in ("tinyops_tflm", "tinyops_tflm.cli"):
        out = _child(
            f"import runpy, sys; sys.argv = ['x', '--version']; "
            f"runpy.run_module('{mod}', run_name='__main__', alter_sys=True)"
        )
        assert out.startswith("tinyops-tflm ")


def test_every_exception_class_lives_in_errors():
    # One place for them all; each a TinyOpsError (besides the built-in base
    # it already had, such as ValueError).
    import importlib
    import inspect
    import pkgutil

    from tinyops_tflm import errors

    for m in pkgutil.walk_packages(tinyops_tflm.__path__, "tinyops_tflm."):
        # tinyops_tflm.testing is test machinery: its FuzzFinding is an
        # AssertionError (a bug found), not an error the package raises.
        if m.name.endswith("__main__") or m.name.startswith("tinyops_tflm.testing") or m.name in NATIVE:
            continue
        mod = importlib.import_module(m.name)
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__.startswith("tinyops_tflm"):
                assert obj.__module__ == "tinyops_tflm.errors", f"{m.name}.{name}"
    own = [c for c in vars(errors).values() if inspect.isclass(c) and issubclass(c, BaseException)]
    assert len(own) > 30
    assert all(issubclass(c, errors.TinyOpsError) for c in own)
    assert issubclass(errors.OracleError, RuntimeError) and issubclass(errors.ProjectError, ValueError)


def test_tflm_interpreter_name():
    from tinyops_tflm import TflmInterpreter, tflm

    assert tflm.TflmInterpreter is TflmInterpreter
    assert tflm.Interpreter is TflmInterpreter  # the old name


def test_stats_typed_and_dict_readable():
    import numpy as np

    from tinyops_tflm import Interpreter, read_model
    from tinyops_tflm.runtime.stats import InvocationStats, OpStats
    from tinyops_tflm.validation import zoo

    graph = read_model(zoo.cached("demo_tiny"))
    interp = Interpreter(graph, board="stm32f746", sram_budget="64K")
    for i, t in enumerate(graph.inputs):
        tensor = graph.tensors[t]
        interp.set_input(np.zeros(tensor.shape, tensor.dtype), i)
    interp.invoke()
    st = interp.stats
    assert isinstance(st, InvocationStats) and isinstance(st.ops[0], OpStats)
    assert st["sram_high_water"] == st.sram_high_water and 0 < st.sram_high_water <= 64 * 1024
    first = st["ops"][0]
    assert first["op"] == first.op == graph.operators[0].name
    assert first["tiles"] == first.tiles >= 1
    assert set(first) == {"op", "index", "macs", "tiles", "dma_transfers", "dma_read_bytes", "dma_write_bytes"}
    assert dict(st)["ops"] is st.ops and "ops" in st and "nothing" not in st
    with pytest.raises(KeyError):
        st["nothing"]
    assert first == dict(first)  # compares like the dict it replaces
