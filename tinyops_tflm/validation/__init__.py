"""Validation: the pinned tflite-micro oracle and its known limits,
bit-exact comparison (compare) and the model zoo."""

# `tinyops_tflm.validation` was one module before the package was grouped;
# its public functions stay reachable here without importing the engine eagerly.
_COMPARE = ("validate", "make_inputs", "first_difference", "describe_difference", "ValidationReport")


def __getattr__(name: str):
    if name in _COMPARE:
        from . import compare

        return getattr(compare, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
