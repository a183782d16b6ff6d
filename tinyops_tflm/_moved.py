"""Module paths from before the package was grouped by layer (0.1.0 had one
flat package): ``tinyops_tflm.reader`` is ``tinyops_tflm.frontend.reader`` and
so on. An import of an old path yields the module at its new path, the same
object (so monkeypatching either name patches both), without a second copy."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

# old top-level name -> new path below tinyops_tflm. The old `validation` and
# `cli` modules are now packages of those names (validation/__init__.py keeps
# validate & co. reachable; cli.main is the entry point).
MOVED = {
    "reader": "frontend.reader",
    "ir": "frontend.ir",
    "ops": "frontend.ops",
    "netbuild": "frontend.netbuild",
    "metrics": "frontend.metrics",
    "boards": "planning.boards",
    "board_timing": "planning.board_timing",
    "partition": "planning.partition",
    "plan_writer": "planning.plan_writer",
    "latency": "planning.latency",
    "schedules": "planning.schedules",
    "fitting": "planning.fitting",
    "engine": "runtime.engine",
    "interpreter": "runtime.interpreter",
    "tflm": "runtime.tflm",
    "export": "firmware.export",
    "emulate": "firmware.emulate",
    "cycles": "firmware.cycles",
    "cycle_check": "firmware.cycle_check",
    "baremetal": "firmware.baremetal",
    "project": "firmware.project",
    "boardmodel": "firmware.boardmodel",
    "oracle": "validation.oracle",
    "oracle_limits": "validation.oracle_limits",
    "zoo": "validation.zoo",
    "zoo_table": "validation.zoo_table",
    "paper": "workflow.paper",
    "design_space": "workflow.design_space",
    "explore": "workflow.explore",
    "train": "workflow.train",
    "quantize": "workflow.quantize",
    "evaluate": "workflow.evaluate",
    "eval_backends": "workflow.eval_backends",
    "eval_cache": "workflow.eval_cache",
    "eval_runner": "workflow.eval_runner",
    "imagedata": "workflow.imagedata",
    "cli_util": "cli.util",
    "cli_cycles": "cli.cycles",
    "cli_estimate": "cli.estimate",
    "cli_explore": "cli.explore",
    "cli_firmware": "cli.firmware",
    "cli_paper": "cli.paper",
    "cli_pipeline": "cli.pipeline",
    "cli_report": "cli.report",
    "cli_zoo": "cli.zoo",
    "progress": "cli.progress",
    "report": "cli.report_text",
    "report_data": "cli.report_data",
    "report_html": "cli.report_html",
}

_PKG = __name__.rpartition(".")[0]


def new_path(fullname: str) -> str | None:
    """The current path of an old dotted module path, or None if it did not move."""
    head, _, rest = fullname.partition(".")
    if head != _PKG or not rest:
        return None
    top, _, tail = rest.partition(".")
    if top not in MOVED:
        return None
    return ".".join(filter(None, (_PKG, MOVED[top], tail)))


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if new_path(fullname) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        # The import machinery returns whatever sys.modules holds for the name
        # once exec_module finishes: the real module.
        sys.modules[module.__name__] = importlib.import_module(new_path(module.__name__))


def install() -> None:
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        # First, so an old submodule path (tinyops_tflm.boardmodel.run) is not
        # found a second time through the real package's __path__.
        sys.meta_path.insert(0, _Alias())
