"""The bytes of a model file, with errors that name the path: the one place
both the reader and the interpreters' ``from_file`` open a .tflite file."""

from __future__ import annotations

import os

from ..errors import ModelFileError, ModelFileNotFound


def read_model_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read `path`; a missing file raises ModelFileNotFound (also a
    FileNotFoundError), a directory or an unreadable file ModelFileError."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ModelFileNotFound(f"model file {name!r} does not exist") from None
    except IsADirectoryError:
        raise ModelFileError(f"{name!r} is a directory, not a .tflite model file") from None
    except OSError as e:
        raise ModelFileError(f"cannot read model file {name!r}: {e}") from e
