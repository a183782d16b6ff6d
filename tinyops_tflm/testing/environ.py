"""Environment variables set for a while (the firmware build cache and CMake
arguments are read from the environment by tinyops_tflm.firmware)."""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def environ(**values: str | None):
    """Sets each variable given a string (None leaves it as it is) and puts
    every named variable back as it was afterwards, unset ones included."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
