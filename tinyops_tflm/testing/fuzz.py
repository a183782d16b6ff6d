"""Fuzzing the model reader and the plan loader: the target, its seeds, mutators.

One target, :func:`run_input`, takes either a ``.tflite`` flatbuffer or a
plan case (plan bytes, then the contents of its constant regions) and drives
it as far as it goes: read, plan, load, run. Every rejection must be a
:class:`~tinyops_tflm.errors.TinyOpsError` whose message names what is wrong
(:func:`names_a_field`); anything else escapes as a finding. Used by the
coverage-guided atheris target (``tools/fuzz_target.py``), by the bounded CI
run (``tests/test_fuzz_models.py``) and by ``benchmarks/fuzz_long.py``.

Mutators know the flatbuffer layout of a TFLite model and the plan format
(``csrc/runtime/plan_format.h``): besides bit flips, byte writes and
truncations they overwrite one located field (an offset, a vtable entry, a
tensor shape, a buffer index, an opcode, a plan record field) with a value at
an edge, so corruption reaches past the outermost checks.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TinyOpsError

PLAN_MAGIC = b"TOPL"
#: Regions of a fuzzed plan are bound at the size the plan asks for, up to this.
MAX_REGION_BYTES = 16 << 20
#: Models whose activations need more host memory than this are read and
#: planned but not run (a valid model may be that large; the fuzz run stays small).
MAX_RUN_BYTES = 32 << 20
#: Models of more multiply-accumulates than this are read and planned, not run.
MAX_RUN_MACS = 200_000_000

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fuzz_corpus"

_HEADER = struct.Struct("<16I")
_REGION = struct.Struct("<IIII")


# --------------------------------------------------------------------------
# The target
# --------------------------------------------------------------------------

# A rejection names the object at fault (tensor 3, op 2, buffers[1], region 0,
# the plan header, ...) or the field/limit it broke.
_NAMED = re.compile(
    r"\b(tensors?|ops?|operators?|operator_codes|buffers?|subgraphs?|model|graph|regions?|plan|"
    r"schedules?|vtable|table|offset|field|header|identifier|root|inputs?|outputs?|shape|"
    r"quantization|scales?|zero point|padding|stride\w*|dilation\w*|filter\w*|axis|dims?|"
    r"activation|options|opcode|builtin|type|version|magic|bytes|memory|SRAM|budget)\b",
    re.IGNORECASE,
)


def names_a_field(message: str) -> bool:
    """Whether a rejection message says what is wrong (not just that something is)."""
    return len(message) >= 12 and _NAMED.search(message) is not None


class FuzzFinding(AssertionError):
    """A rejection that is not a TinyOpsError naming its field (the real
    findings, crashes and hangs, end the process)."""


def run_model(data: bytes, board: str | None = None, budget: str = "24K") -> str:
    """Read, plan, load and run one model; returns "ran" or why it did not run."""
    from ..frontend.metrics import op_macs
    from ..frontend.reader import read_model
    from ..runtime.interpreter import Interpreter

    graph = read_model(data)
    if sum(t.nbytes for t in graph.tensors if t.data is None) > MAX_RUN_BYTES:
        return "read only (large)"
    kwargs = {} if board is None else {"board": board, "sram_budget": budget}
    interp = Interpreter(graph, **kwargs)
    # counted once the engine accepted the shapes
    if sum(op_macs(graph, op) for op in graph.operators) > MAX_RUN_MACS:
        return "loaded (large)"
    inputs = [np.zeros(graph.tensors[t].shape, graph.tensors[t].dtype) for t in graph.inputs]
    interp.run(*inputs)
    return "ran"


def split_plan_case(data: bytes) -> tuple[bytes, list[tuple[int, bytes | None]]]:
    """Plan bytes and the region bindings a plan case asks for: each region at
    its recorded size (capped at MAX_REGION_BYTES); constant regions filled, in
    order, from the bytes after the plan."""
    plan_len = len(data)
    records: list[tuple[int, int]] = []
    if len(data) >= _HEADER.size:
        h = _HEADER.unpack_from(data, 0)
        total, num_regions = h[2], h[3]
        if _HEADER.size <= total <= len(data):
            plan_len = total
        for r in range(min(num_regions, 16)):
            at = _HEADER.size + r * _REGION.size
            if at + _REGION.size > plan_len:
                break
            kind, nbytes, _memory, _flags = _REGION.unpack_from(data, at)
            records.append((kind, nbytes))
    extra = data[plan_len:]
    regions: list[tuple[int, bytes | None]] = []
    for kind, nbytes in records:
        size = min(nbytes, MAX_REGION_BYTES)
        contents = None
        if kind == 1 and extra:
            contents, extra = extra[:size], extra[size:]
        regions.append((size, contents))
    return data[:plan_len], regions


def run_plan(data: bytes) -> str:
    """Load and run one plan case; returns "ran"."""
    from ..runtime.engine import core, translate_core_error

    plan, regions = split_plan_case(data)
    _core = core()
    try:
        engine = _core.HostEngine(plan, regions, "sync")
        engine.invoke()
    except _core.CoreError as err:
        raise translate_core_error(err) from None
    return "ran"


def run_input(data: bytes, board: str | None = None) -> str:
    """The fuzz target: an outcome string, or a TinyOpsError naming the field.
    Any other exception (or a TinyOpsError whose message names nothing) is a
    :class:`FuzzFinding`; crashes and hangs end the process."""
    try:
        if data[:4] == PLAN_MAGIC:
            return run_plan(data)
        return run_model(data, board)
    except TinyOpsError as err:
        if not names_a_field(str(err)):
            raise FuzzFinding(f"{type(err).__name__} names no field: {err!r}") from err
        raise
    except Exception as err:  # noqa: BLE001 - everything else is what fuzzing looks for
        raise FuzzFinding(f"{type(err).__name__} instead of a TinyOpsError: {err}") from err


def rejection_kind(err: TinyOpsError) -> str:
    """A short label of what a rejection names, for run summaries: the class
    and the first object or field word of its message."""
    words = _NAMED.findall(str(err))
    return f"{type(err).__name__}: {words[0].lower() if words else '?'}"


# --------------------------------------------------------------------------
# Seeds
# --------------------------------------------------------------------------


def load_corpus(folder: str | Path | None = None, fresh_plans: bool = True) -> list[tuple[str, bytes]]:
    """The seeds of a corpus folder: (file name, bytes), models and plan cases.

    With ``fresh_plans`` the stored plan cases are replaced by plans the
    current planner writes for the same models (:data:`PLAN_SEEDS`): a plan
    stored before a change of what a tiling needs is rejected early and would
    leave the loader's deeper checks and the kernels unexercised."""
    root = Path(folder) if folder is not None else CORPUS
    seeds = [(p.name, p.read_bytes()) for p in sorted(root.iterdir()) if p.is_file()]
    if not fresh_plans:
        return seeds
    models = dict(seeds)
    fresh = dict(plan_seeds(models))
    return [(name, fresh.get(name, data)) for name, data in seeds] + [
        (name, data) for name, data in fresh.items() if name not in models
    ]


#: Plan cases of the corpus: name -> (model seed, board or None, SRAM budget).
PLAN_SEEDS = {
    "plan_demo_host.plan": ("model_demo_tiny.tflite", None, None),
    "plan_demo_stm32f746.plan": ("model_demo_tiny.tflite", "stm32f746", "16K"),
    "plan_conv2d_host.plan": ("model_conv2d.tflite", None, None),
    "plan_depthwise_stm32f469.plan": ("model_depthwise_conv2d.tflite", "stm32f469", "8K"),
}


def plan_case(model: bytes, board: str | None = None, budget: str | None = None) -> bytes:
    """A plan case for ``model``: the plan, then its constant regions' contents."""
    from ..runtime.interpreter import Interpreter

    interp = Interpreter.from_bytes(model, board=board, sram_budget=budget)
    if interp.plan is None:
        return interp.written.plan + interp.written.constants
    plan = interp.plan
    return plan.plan_bytes + b"".join(c for _size, c in plan.regions_for_engine() if c is not None)


def plan_seeds(models: dict[str, bytes]) -> list[tuple[str, bytes]]:
    """The plan cases of :data:`PLAN_SEEDS` whose model is among ``models``."""
    return [
        (name, plan_case(models[m], board, budget)) for name, (m, board, budget) in PLAN_SEEDS.items() if m in models
    ]


# --------------------------------------------------------------------------
# Field maps
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    pos: int
    size: int  # bytes: 1, 2, 4 or 8
    label: str  # e.g. "tensor.shape", "vtable.entry", "plan.op.opcode"


_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")

# TFLite schema tables the walker follows: slot -> (label, kind[, sub-table]).
# kinds: scalar sizes 1/2/4/8; "tab" sub-table; "vtab" vector of tables;
# "v1"/"v4"/"v8" scalar vectors; "str".
_SCHEMA: dict[str, dict[int, tuple]] = {
    "model": {
        4: ("version", 4),
        6: ("operator_codes", "vtab", "opcode"),
        8: ("subgraphs", "vtab", "subgraph"),
        10: ("description", "str"),
        12: ("buffers", "vtab", "buffer"),
    },
    "opcode": {
        4: ("deprecated_builtin_code", 1),
        6: ("custom_code", "str"),
        8: ("version", 4),
        10: ("builtin_code", 4),
    },
    "buffer": {4: ("data", "v1"), 6: ("offset", 8), 8: ("size", 8)},
    "subgraph": {
        4: ("tensors", "vtab", "tensor"),
        6: ("inputs", "v4"),
        8: ("outputs", "v4"),
        10: ("operators", "vtab", "operator"),
        12: ("name", "str"),
    },
    "tensor": {
        4: ("shape", "v4"),
        6: ("type", 1),
        8: ("buffer", 4),
        10: ("name", "str"),
        12: ("quantization", "tab", "quant"),
        14: ("is_variable", 1),
        16: ("sparsity", "tab", None),
        18: ("shape_signature", "v4"),
    },
    "quant": {
        4: ("min", "v4"),
        6: ("max", "v4"),
        8: ("scale", "v4"),
        10: ("zero_point", "v8"),
        12: ("details_type", 1),
        16: ("quantized_dimension", 4),
    },
    "operator": {
        4: ("opcode_index", 4),
        6: ("inputs", "v4"),
        8: ("outputs", "v4"),
        10: ("builtin_options_type", 1),
        12: ("builtin_options", "tab", "options"),
        14: ("custom_options", "v1"),
        16: ("custom_options_format", 1),
    },
    "options": {},  # any table: every present field, taken as a 4-byte (or shorter) scalar
}
_MAX_FIELDS = 20000


def model_fields(buf: bytes) -> list[Field]:
    """Located fields of a TFLite flatbuffer (best effort on corrupt input)."""
    n = len(buf)
    out: list[Field] = []
    seen: set[int] = set()

    def table(pos: int, kind: str | None) -> None:
        if pos in seen or pos < 0 or pos + 4 > n or len(out) > _MAX_FIELDS:
            return
        seen.add(pos)
        out.append(Field(pos, 4, f"{kind}.vtable_offset"))
        vt = pos - _I32.unpack_from(buf, pos)[0]
        if vt < 0 or vt + 4 > n:
            return
        vsize = _U16.unpack_from(buf, vt)[0]
        out.append(Field(vt, 2, "vtable.size"))
        out.append(Field(vt + 2, 2, "vtable.table_size"))
        fields = _SCHEMA.get(kind or "options", {})
        for slot in range(4, min(vsize, 64), 2):
            if vt + slot + 2 > n:
                break
            off = _U16.unpack_from(buf, vt + slot)[0]
            spec = fields.get(slot)
            name = f"{kind}.{spec[0]}" if spec else f"{kind}.slot{slot}"
            out.append(Field(vt + slot, 2, f"vtable.entry({name})"))
            if off == 0 or pos + off + 1 > n:
                continue
            p = pos + off
            if spec is None:
                out.append(Field(p, 4 if p + 4 <= n else 1, name))
                continue
            k = spec[1]
            if isinstance(k, int):
                if p + k <= n:
                    out.append(Field(p, k, name))
                continue
            if p + 4 > n:
                continue
            out.append(Field(p, 4, f"{name}.offset"))
            target = p + _U32.unpack_from(buf, p)[0]
            if k == "tab":
                if spec[2] is not None:
                    table(target, spec[2])
                continue
            if target + 4 > n:
                continue
            length = _U32.unpack_from(buf, target)[0]
            out.append(Field(target, 4, f"{name}.length"))
            elem = {"v1": 1, "v4": 4, "v8": 8, "vtab": 4, "str": 1}[k]
            count = min(length, (n - target - 4) // elem, 4096)
            if k in ("v4", "v8"):
                out.extend(Field(target + 4 + i * elem, elem, f"{name}[]") for i in range(count))
            elif k == "vtab":
                for i in range(count):
                    e = target + 4 + 4 * i
                    out.append(Field(e, 4, f"{name}[].offset"))
                    table(e + _U32.unpack_from(buf, e)[0], spec[2])

    if n >= 8:
        out.append(Field(0, 4, "root.offset"))
        out.append(Field(4, 4, "file_identifier"))
        table(_U32.unpack_from(buf, 0)[0], "model")
    return out


_TENSOR_FIELDS = (
    "type",
    "rank",
    "dims",
    "region",
    "offset",
    "bytes",
    "scale",
    "zero_point",
    "scales_offset",
    "num_scales",
    "quantized_dimension",
    "name_offset",
)
_HEADER_FIELDS = (
    "magic",
    "version",
    "total_bytes",
    "num_regions",
    "num_tensors",
    "num_ops",
    "num_inputs",
    "num_outputs",
    "pool_offset",
    "pool_bytes",
    "sram_region",
)


def plan_fields(buf: bytes) -> list[Field]:
    """Located fields of a plan (csrc/runtime/plan_format.h); the pool (operand
    lists, scales, names and schedules) is covered word by word."""
    from ..planning.plan_writer import _OP  # the OpRecord layout the writer packs

    n = len(buf)
    out: list[Field] = []
    if n < _HEADER.size:
        return out
    h = _HEADER.unpack_from(buf, 0)
    out.extend(Field(4 * i, 4, f"plan.header.{name}") for i, name in enumerate(_HEADER_FIELDS))
    at = _HEADER.size
    for _ in range(min(h[3], 16)):
        out.extend(
            Field(at + 4 * i, 4, f"plan.region.{f}")
            for i, f in enumerate(("kind", "bytes", "memory", "flags"))
            if at + 4 * i + 4 <= n
        )
        at += _REGION.size
    for _ in range(min(h[4], 4096)):
        if at + 64 > n:
            break
        out.append(Field(at, 1, "plan.tensor.type"))
        out.append(Field(at + 1, 1, "plan.tensor.rank"))
        out.extend(Field(at + 4 + 4 * d, 4, "plan.tensor.dims") for d in range(6))
        out.extend(Field(at + 28 + 4 * i, 4, f"plan.tensor.{f}") for i, f in enumerate(_TENSOR_FIELDS[3:]))
        at += 64
    for _ in range(min(h[5], 4096)):
        if at + _OP.size > n:
            break
        out.append(Field(at, 4, "plan.op.opcode"))
        out.append(Field(at + 4, 4, "plan.op.num_inputs"))
        out.append(Field(at + 8, 4, "plan.op.num_outputs"))
        out.append(Field(at + 12, 4, "plan.op.tensors_offset"))
        out.extend(Field(at + 16 + 4 * i, 4, "plan.op.options") for i in range((_OP.size - 32) // 4))
        out.append(Field(at + _OP.size - 16, 4, "plan.op.schedule_offset"))
        at += _OP.size
    pool, pool_bytes = h[8], h[9]
    for p in range(pool, min(pool + pool_bytes, n) - 3, 4):
        out.append(Field(p, 4, "plan.pool"))
    return out


# --------------------------------------------------------------------------
# Mutators
# --------------------------------------------------------------------------


def _edge_values(size: int, old: int, n: int, rng: np.random.Generator) -> int:
    bits = 8 * size
    mask = (1 << bits) - 1
    choices = [
        0,
        1,
        2,
        3,
        4,
        7,
        8,
        16,
        255,
        mask,
        mask >> 1,
        (mask >> 1) + 1,
        old + 1,
        old - 1,
        old * 2,
        old ^ (1 << int(rng.integers(0, bits))),
        n,
        n - 1,
        n + 1,
        n // 2,
        int(rng.integers(0, mask + 1, dtype=np.uint64)) if bits < 64 else int(rng.integers(0, 2**62)),
        -1,
        -2,
        -128,
        127,
        65535,
        65536,
    ]
    return choices[int(rng.integers(0, len(choices)))] & mask


def _write(buf: bytearray, f: Field, value: int) -> None:
    buf[f.pos : f.pos + f.size] = (value & ((1 << (8 * f.size)) - 1)).to_bytes(f.size, "little")


MUTATIONS = ("bitflip", "bytes", "truncate", "field", "fields")


def mutate(data: bytes, kind: str, rng: np.random.Generator) -> tuple[bytes, str]:
    """One mutated copy of ``data`` -> (bytes, label of what was changed)."""
    buf = bytearray(data)
    n = len(buf)
    if kind == "bitflip":
        k = int(rng.integers(1, 9))
        for _ in range(k):
            p = int(rng.integers(0, n))
            buf[p] ^= 1 << int(rng.integers(0, 8))
        return bytes(buf), f"bitflip x{k}"
    if kind == "bytes":
        k = int(rng.integers(1, 6))
        for _ in range(k):
            buf[int(rng.integers(0, n))] = int(rng.integers(0, 256))
        return bytes(buf), f"bytes x{k}"
    if kind == "truncate":
        cut = int(rng.integers(0, n))
        if rng.random() < 0.3:  # and pad back: lengths stay, contents end
            return bytes(buf[:cut]) + bytes(n - cut), "truncate+zero"
        return bytes(buf[:cut]), "truncate"
    fields = plan_fields(data) if data[:4] == PLAN_MAGIC else model_fields(data)
    if not fields:
        return mutate(data, "bitflip", rng)
    labels = []
    for _ in range(1 if kind == "field" else int(rng.integers(2, 5))):
        f = fields[int(rng.integers(0, len(fields)))]
        if f.pos + f.size > n:
            continue
        old = int.from_bytes(buf[f.pos : f.pos + f.size], "little")
        _write(buf, f, _edge_values(f.size, old, n, rng))
        labels.append(f.label)
    return bytes(buf), "field " + ",".join(labels)


def field_family(label: str) -> str:
    """The mutated field without indices: for summaries."""
    if not label.startswith("field "):
        return label.split(" ")[0]
    first = label[len("field ") :].split(",")[0]
    return "field:" + re.sub(r"\[\]|\.offset$|\.length$", "", first)


def long_case(seeds: list[tuple[str, bytes]], run_seed: int, case: int) -> tuple[str, bytes, str, str | None]:
    """Case ``case`` of a numbered run: (seed name, seed bytes, mutation kind,
    board or None). Seeds in turn; mutation kinds drawn with field-targeted
    ones most often; every fourth model case planned for a board."""
    name, data = seeds[case % len(seeds)]
    rng = np.random.default_rng([run_seed, case])
    kind = str(rng.choice(MUTATIONS, p=[0.2, 0.15, 0.15, 0.3, 0.2]))
    board = "stm32f746" if data[:4] != PLAN_MAGIC and (case // len(seeds)) % 4 == 3 else None
    return name, data, kind, board
