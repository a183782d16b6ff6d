"""The package grouped by layer (frontend, planning, runtime, firmware,
validation, workflow, cli): public imports and the pre-grouping module paths
keep working, and the package itself uses only the new paths."""
import subprocess
import sys

import pytest

import tinyops_tflm
from tinyops_tflm import _moved


def _child(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_public_api():
    from tinyops_tflm import (BudgetError, Interpreter, InvocationError, IsaError, ModelError,
                              PlanError, TinyOpsError, UnsupportedOpError, read_model, validate)
    from tinyops_tflm.runtime.interpreter import Interpreter as Native
    assert Interpreter is Native
    assert callable(read_model) and callable(validate)
    for cls in (BudgetError, InvocationError, IsaError, ModelError, PlanError, UnsupportedOpError):
        assert issubclass(cls, TinyOpsError)


def test_tflm_attribute_after_plain_import():
    out = _child("import tinyops_tflm; print(tinyops_tflm.tflm.__name__, "
                 "tinyops_tflm.tflm.Interpreter.__name__)")
    assert out.split() == ["tinyops_tflm.runtime.tflm", "Interpreter"]


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_old_module_path_is_the_new_module(old):
    import importlib

    mod = importlib.import_module(f"tinyops_tflm.{old}")
    assert mod is importlib.import_module(_moved.new_path(f"tinyops_tflm.{old}"))
    assert getattr(tinyops_tflm, old) is mod


def test_old_submodule_path_is_not_a_second_copy():
    from tinyops_tflm.boardmodel.errors import ClockError as old
    from tinyops_tflm.firmware.boardmodel.errors import ClockError as new
    assert old is new


def test_old_validation_module_names():
    from tinyops_tflm.validation import describe_difference, make_inputs, validate
    from tinyops_tflm.validation import compare
    assert (validate, make_inputs, describe_difference) == (
        compare.validate, compare.make_inputs, compare.describe_difference)
    with pytest.raises(AttributeError):
        tinyops_tflm.validation.no_such_name


def test_package_uses_only_new_paths():
    # Importing every module must not go through an old path (an alias in
    # sys.modules would mean some module still imports the flat layout).
    out = _child(
        "import importlib, pkgutil, sys, tinyops_tflm\n"
        "from tinyops_tflm import _moved\n"
        "for m in pkgutil.walk_packages(tinyops_tflm.__path__, 'tinyops_tflm.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(k for k in sys.modules if _moved.new_path(k)))\n")
    assert out.strip() == "[]"


def test_python_dash_m():
    for mod in ("tinyops_tflm", "tinyops_tflm.cli"):
        out = _child(f"import runpy, sys; sys.argv = ['x', '--version']; "
                     f"runpy.run_module('{mod}', run_name='__main__', alter_sys=True)")
        assert out.startswith("tinyops-tflm ")
