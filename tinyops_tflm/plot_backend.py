"""matplotlib for the commands that draw (estimate --plot, report,
reproduce-paper --plot): it is the optional [plot] extra, so a missing
install says which extra brings it instead of failing on the import."""

from __future__ import annotations

from typing import Any

from .errors import MissingDependencyError

PLOT_EXTRA = "plot"  # pyproject.toml [project.optional-dependencies]


def pyplot(purpose: str) -> Any:
    """matplotlib.pyplot on the file-only Agg backend; `purpose` (e.g.
    "tinyops estimate --plot") starts the message when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError(
            f"{purpose} needs matplotlib, which is not installed: pip install 'tinyops-tflm[{PLOT_EXTRA}]'"
        ) from None
    return plt
