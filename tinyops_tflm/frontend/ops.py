"""The TFLite builtin operators the engine implements.

Read from the engine's op registry (csrc/runtime/op_registry.cc: one
descriptor per op, csrc/include/tinyops/op_descriptor.h), so an op added
there needs no change here. Names and codes are the TFLite schema's
``BuiltinOperator`` values (csrc/include/tinyops/builtin_ops.h).
"""

from __future__ import annotations

from ..runtime.engine import load_core


def _descriptors() -> list[dict]:
    return list(load_core().op_descriptors())


#: Every registered op's descriptor (name, code, cost_class, tiled,
#: served_in_tflm), in registry order.
OP_DESCRIPTORS: dict[str, dict] = {d["name"]: d for d in _descriptors()}

SUPPORTED_OPS: dict[str, int] = {
    name: d["code"] for name, d in sorted(OP_DESCRIPTORS.items(), key=lambda kv: kv[1]["code"])
}

OP_NAMES: dict[int, str] = {code: name for name, code in SUPPORTED_OPS.items()}

#: The latency estimator's cost-table family of each op (before the
#: shape refinement of conv and depthwise in latency.cost_class).
COST_CLASSES: dict[str, str] = {name: d["cost_class"] for name, d in OP_DESCRIPTORS.items()}

#: Builtins the TFLM adapter (csrc/tflm) serves, in its slot order.
TFLM_SERVED_OPS: tuple[str, ...] = tuple(name for name, d in OP_DESCRIPTORS.items() if d["served_in_tflm"])
