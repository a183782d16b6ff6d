"""Export a model into a firmware port: C++ sources + registration.

``tinyops export MODEL.tflite --board stm32f746 --name mbv3-w1.00-r160`` plans
the model for the board (the partitioned planner of :mod:`tinyops_tflm.planning.partition`
by default), then writes, named after the model (``<name>_int8_1``)::

    <out>/<name>/<name>_int8_1.h            the header the firmware includes
    <out>/<name>/<name>_int8_1.cc           plan bytes, fixed input, RAM regions, ModelDesc
    <out>/<name>/<name>_int8_1_<memory>.cc  one per constant region (flash, qspi)
    <out>/<name>/<name>_int8_1.json         what was exported (for tools and tests)
    <out>/models.cmake                      the port's model list (registration)

``<out>`` is required: a firmware project's ``models/`` folder (``tinyops
new-project``, see :mod:`tinyops_tflm.firmware.project`) or any directory given to a
port's CMake as ``-DTINYOPS_MODELS_DIR``; nothing is ever written into the
installed package. Every array
is 32-byte aligned and lives in the linker section of the memory its plan
region was placed in (see ports/common/ld/sections.ld). The bytes used per
memory are printed against the board's capacities, and a model that does not
fit is refused with those numbers (:class:`~tinyops_tflm.errors.BudgetError`).

The one place a plan region becomes a physical memory + section is
:func:`map_regions`: a partitioned plan names each region's memory itself; an
unpartitioned plan (``partitioned=False``: one arena, one constant blob, as
TFLM would run it) is mapped by fit: constants to internal flash when they fit
its budget else QSPI, the arena to internal SRAM when it fits the SRAM budget
else SDRAM.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import BudgetError, FirmwareSourceMissing, TinyOpsError
from ..frontend.ir import Graph
from ..frontend.model_bytes import read_model_bytes
from ..planning.boards import CCM, FLASH, QSPI, SDRAM, SRAM, Board, get_board, parse_size
from ..planning.plan_writer import PLAN_LAYOUT
from .ports import PORTS, PortInfo, model_symbol, port_for, source_root

__all__ = [
    "PortInfo",
    "PORTS",
    "RegionExport",
    "ExportResult",
    "export_model",
    "map_regions",
    "port_for",
    "source_root",
    "model_symbol",
    "plan_regions",
    "FirmwareSourceMissing",
    "load_export",
]

# Memory codes of the plan format (csrc/dma_partition/schedule.h MemoryKind).
MEMORY_NAMES = {0: SRAM, 1: CCM, 2: FLASH, 3: SDRAM, 4: QSPI, 5: "host"}
MEMORY_CODES = {v: k for k, v in MEMORY_NAMES.items()}
REGION_ARENA, REGION_CONSTANT = 0, 1

# (memory, region kind) -> linker section (ports/common/ld/sections.ld).
SECTIONS = {
    (SRAM, REGION_ARENA): ".bss.tinyops_sram",
    (CCM, REGION_ARENA): ".bss.tinyops_fast",
    (SDRAM, REGION_ARENA): ".bss.tinyops_sdram",
    (FLASH, REGION_CONSTANT): ".tinyops_flash",
    (QSPI, REGION_CONSTANT): ".tinyops_qspi",
    (SDRAM, REGION_CONSTANT): ".tinyops_sdram_qdata",  # copied from QSPI at boot
}
ALIGN = 32
_ENUMERATORS = {SRAM: "kSram", CCM: "kCcm", FLASH: "kFlash", SDRAM: "kSdram", QSPI: "kQspi"}


# ---------------------------------------------------------------------------
# Region mapping


@dataclass
class RegionExport:
    """One plan region as the firmware binds it."""

    index: int
    kind: str  # "arena" or "constant"
    memory: str  # sram, ccm, flash, sdram, qspi
    section: str
    nbytes: int  # bytes the plan records for the region (the array's size)
    symbol: str = ""


def plan_regions(plan: bytes) -> list[tuple[int, int, int]]:
    """(kind, bytes, memory code) of every region in serialized plan bytes."""
    layout = PLAN_LAYOUT
    magic, version, total, n = struct.unpack_from("<4I", plan, 0)
    if magic != layout["magic"]:
        raise ValueError("not a tinyops plan (bad magic)")
    at = layout["header_bytes"]
    if version < 2:  # v1 regions: kind, bytes (host memory)
        return [struct.unpack_from("<II", plan, at + 8 * i) + (layout["memory_host"],) for i in range(n)]
    return [struct.unpack_from("<III", plan, at + layout["region_bytes"] * i) for i in range(n)]


def map_regions(plan: bytes, board: Board, sram_budget: int, flash_free: int) -> list[RegionExport]:
    """Physical memory and linker section of every plan region.

    Regions a partitioned plan placed keep their memory. Host regions of an
    unpartitioned plan go by fit: the arena to SRAM if it fits `sram_budget`
    else SDRAM; constants to flash if they fit `flash_free` else QSPI.
    """
    out = []
    for i, (kind, nbytes, code) in enumerate(plan_regions(plan)):
        memory = MEMORY_NAMES.get(code)
        if memory is None:
            raise ValueError(f"plan region {i} has unknown memory code {code}")
        if memory == "host":
            if kind == REGION_ARENA:
                memory = SRAM if nbytes <= sram_budget else SDRAM
            else:
                memory = FLASH if nbytes <= flash_free else QSPI
        if kind not in (REGION_ARENA, REGION_CONSTANT):
            raise ValueError(f"plan region {i} has unknown kind {kind}")
        section = SECTIONS.get((memory, kind))
        if section is None:
            raise NotImplementedError(
                f"plan region {i}: a {'constant' if kind else 'arena'} region in {memory} has no firmware section"
            )
        if not board.has(memory):
            raise ValueError(f"plan region {i} is in {memory}, which {board.name} does not have")
        out.append(RegionExport(i, "constant" if kind == REGION_CONSTANT else "arena", memory, section, int(nbytes)))
    return out


# ---------------------------------------------------------------------------
# Export


@dataclass
class ExportResult:
    name: str
    base: str
    symbol: str
    board: str
    port: str
    partitioned: bool
    sram_budget: int
    out_dir: Path
    model_dir: Path
    files: list[Path]
    regions: list[RegionExport]
    plan_bytes: int
    plan_section: str
    input_section: str
    input_bytes: int
    usage: dict[str, int]  # bytes per memory (plan, inputs included)
    capacity: dict[str, int]  # what the port allows per memory
    inputs: list[np.ndarray] = field(default_factory=list)
    output_shapes: list[tuple[int, ...]] = field(default_factory=list)
    output_dtypes: list[str] = field(default_factory=list)
    plan_sha256: str = ""
    # Where weights that miss internal flash live (Board.weights_in); exports
    # written before this was recorded used the default, SDRAM.
    weights_in: str = SDRAM

    def plan_board(self) -> Board:
        """The board as the export planned for it (its weights' placement included)."""
        from ..planning.boards import WEIGHTS_IN

        b = get_board(self.board)
        return b.with_weights_in(self.weights_in) if self.weights_in in WEIGHTS_IN else b

    def report(self) -> str:
        from ..frontend.metrics import human_bytes

        lines = [
            f"tinyops export: {self.name} for {self.board} "
            f"({'partitioned' if self.partitioned else 'unpartitioned'} plan, "
            f"SRAM budget {human_bytes(self.sram_budget)}, weights beyond flash in {self.weights_in})",
            f"  {'memory':<8}{'used':>12}{'capacity':>12}{'':>7}  contents",
        ]
        for mem in (SRAM, CCM, FLASH, SDRAM, QSPI):
            if mem not in self.capacity:
                continue
            what = [f"region {r.index} ({r.kind})" for r in self.regions if r.memory == mem and r.nbytes]
            if mem == QSPI:
                boot = SECTIONS[(SDRAM, REGION_CONSTANT)]
                what += [f"region {r.index}'s boot copy" for r in self.regions if r.section == boot and r.nbytes]
            section = SECTIONS.get((mem, REGION_CONSTANT))
            if self.plan_section == section:
                what.append("plan")
            if self.input_section == section and self.input_bytes:
                what.append("input")
            used, cap = self.usage.get(mem, 0), self.capacity[mem]
            share = f"{100.0 * used / cap:5.1f}%" if cap else ""
            lines.append(
                f"  {mem:<8}{human_bytes(used):>12}{human_bytes(cap):>12}{share:>7}  {', '.join(what) if what else '-'}"
            )
        lines.append(f"  sources: {self.model_dir}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready description (what `tinyops export --json` prints)."""
        return {
            "name": self.name,
            "base": self.base,
            "symbol": self.symbol,
            "board": self.board,
            "port": self.port,
            "partitioned": self.partitioned,
            "sram_budget": self.sram_budget,
            "weights_in": self.weights_in,
            "out_dir": str(self.out_dir),
            "model_dir": str(self.model_dir),
            "files": [str(f) for f in self.files],
            "regions": [asdict(r) for r in self.regions],
            "plan_bytes": self.plan_bytes,
            "plan_sha256": self.plan_sha256,
            "plan_section": self.plan_section,
            "input_section": self.input_section,
            "input_bytes": self.input_bytes,
            "usage": dict(self.usage),
            "capacity": dict(self.capacity),
            "inputs": [{"shape": list(x.shape), "dtype": x.dtype.name} for x in self.inputs],
            "outputs": [{"shape": list(s), "dtype": d} for s, d in zip(self.output_shapes, self.output_dtypes)],
        }


def load_export(model_dir: str | os.PathLike) -> ExportResult:
    """The ExportResult of an earlier export, from the ``<base>.json`` it wrote
    into `model_dir` (plus the ``<base>_input.npz`` of the fixed input when
    present: `tinyops export --project` keeps one for emulator checks)."""
    model_dir = Path(model_dir)
    metas = sorted(model_dir.glob("*_int8_1.json"))
    if len(metas) != 1:
        raise TinyOpsError(
            f"{model_dir}: expected one exported model description (<name>_int8_1.json), found {len(metas)}"
        )
    meta = json.loads(metas[0].read_text())
    inputs: list[np.ndarray] = []
    npz = model_dir / f"{meta['base']}_input.npz"
    if npz.is_file():
        with np.load(npz, allow_pickle=False) as z:
            inputs = [z[f"arr_{i}"] for i in range(len(z.files))]
    return ExportResult(
        name=meta["name"],
        base=meta["base"],
        symbol=meta["symbol"],
        board=meta["board"],
        port=meta["port"],
        partitioned=meta["partitioned"],
        sram_budget=meta["sram_budget"],
        out_dir=model_dir.parent,
        model_dir=model_dir,
        files=[],
        regions=[RegionExport(**r) for r in meta["regions"]],
        plan_bytes=meta["plan_bytes"],
        plan_section=meta["plan_section"],
        input_section=meta["input_section"],
        input_bytes=sum(x.nbytes for x in inputs),
        usage=meta["usage"],
        capacity=meta["capacity"],
        inputs=inputs,
        output_shapes=[tuple(o["shape"]) for o in meta["outputs"]],
        output_dtypes=[o["dtype"] for o in meta["outputs"]],
        plan_sha256=meta["plan_sha256"],
        weights_in=meta.get("weights_in", SDRAM),
    )


def _load_graph(model: str | os.PathLike | bytes | Graph) -> tuple[Graph, bytes | None]:
    from ..frontend.reader import read_model

    if isinstance(model, Graph):
        return model, None
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
    else:
        data = read_model_bytes(model)
    return read_model(data), data


def _check_inputs(graph: Graph, inputs: Sequence[np.ndarray] | None) -> list[np.ndarray]:
    from ..validation.compare import make_inputs

    if inputs is None:
        return [np.ascontiguousarray(x) for x in make_inputs(graph, 1, seed=0)[0]]
    inputs = list(inputs)
    if len(inputs) != len(graph.inputs):
        raise ValueError(f"the model takes {len(graph.inputs)} inputs, got {len(inputs)}")
    out = []
    for i, (x, t) in enumerate(zip(inputs, graph.inputs)):
        tensor = graph.tensors[t]
        x = np.asarray(x)
        if x.dtype != tensor.dtype or tuple(x.shape) != tuple(tensor.shape):
            raise ValueError(
                f"input {i} '{tensor.name}' expects {list(tensor.shape)} "
                f"{tensor.dtype.name}, got {list(x.shape)} {x.dtype.name}"
            )
        out.append(np.ascontiguousarray(x))
    return out


def _words(data: bytes) -> str:
    """C initializer of `data` as little-endian uint32 words, 8 a line."""
    pad = (-len(data)) % 4
    words = np.frombuffer(data + b"\0" * pad, dtype="<u4")
    if words.size == 0:
        return "0"
    text = np.char.mod("0x%08x", words)
    rows = [",".join(text[i : i + 8]) for i in range(0, text.size, 8)]
    return ",\n".join(rows)


def _array(name: str, section: str, data: bytes | None, nbytes: int, *, extern: bool = False) -> str:
    link = "extern " if extern else "static "
    if data is None:  # RAM region: zeroed at boot
        return f'{link}uint8_t {name}[{max(nbytes, 1)}] __attribute__((section("{section}"), aligned({ALIGN})));\n'
    n_words = max(1, (len(data) + 3) // 4)
    return (
        f'{link}const uint32_t {name}[{n_words}] __attribute__((section("{section}"), '
        f"aligned({ALIGN}))) = {{\n{_words(data)}\n}};\n"
    )


def _update_registry(out_dir: Path, name: str, symbol: str, model_dir: str, board: str, sram_budget: int) -> Path:
    path = out_dir / "models.cmake"
    header = (
        "# The port's model list, maintained by `tinyops export` (one line a model).\n"
        "# Each registered model builds <symbol>.elf (board) and <symbol>_qemu.elf.\n"
    )
    lines = path.read_text().splitlines() if path.is_file() else []
    keep = [ln for ln in lines if ln.strip() and not ln.startswith("#") and f'NAME "{name}"' not in ln]
    keep.append(
        f'tinyops_register_model(NAME "{name}" SYMBOL {symbol} DIR "{model_dir}" '
        f"BOARD {board} SRAM_BUDGET {sram_budget})"
    )
    tmp = path.with_suffix(".cmake.tmp")
    tmp.write_text(header + "\n".join(keep) + "\n")
    os.replace(tmp, path)
    return path


def _write_if_changed(path: Path, text: str) -> None:
    # Unchanged sources keep their timestamps, so rebuilds stay incremental.
    if path.is_file() and path.read_text() == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def export_model(
    model: str | os.PathLike | bytes | Graph,
    board: str | Board,
    name: str,
    out_dir: str | os.PathLike,
    *,
    sram_budget: int | str | None = None,
    inputs: Sequence[np.ndarray] | None = None,
    partitioned: bool = True,
    register: bool = True,
    qspi_capacity: int | None = None,
) -> ExportResult:
    """Plan `model` for `board` and write its firmware sources (see the module
    docstring). `inputs` is the fixed input the runner feeds (default: the
    host demo's deterministic input, ``make_inputs(graph, 1, seed=0)[0]``).
    `qspi_capacity` overrides the port's QSPI size (the emulated boards have
    less). Raises BudgetError, with the numbers, when the model does not fit."""
    from ..planning.plan_writer import write_plan

    if out_dir is None:
        # The old default (the source tree's ports/<board>/models) wrote into
        # the installed package; a destination is now always explicit.
        raise ValueError(
            "export_model needs out_dir: a firmware project's models/ folder "
            "(tinyops new-project) or a directory for -DTINYOPS_MODELS_DIR"
        )
    b = get_board(board)
    port = port_for(b)
    base, symbol = model_symbol(name)
    graph, data = _load_graph(model)
    xs = _check_inputs(graph, inputs)
    budget = b.default_sram_budget if sram_budget is None else parse_size(sram_budget)
    flash_budget = b.flash_budget  # flash minus what the firmware image needs

    if partitioned:
        from ..planning.partition import plan_model

        plan = plan_model(graph, b, budget)
        plan_bytes = plan.plan_bytes
        contents = list(plan.region_contents)
    else:
        written = write_plan(graph)
        plan_bytes = written.plan
        contents = [None, written.constants]

    input_bytes = sum(x.nbytes for x in xs)
    plan_len = len(plan_bytes)
    # Unpartitioned constants may use the flash left after the plan and input.
    regions = map_regions(plan_bytes, b, budget, flash_budget - plan_len - input_bytes)
    for r in regions:
        r.symbol = f"{symbol}_region{r.index}"

    capacity = {
        SRAM: budget,
        FLASH: flash_budget,
        SDRAM: b.memory(SDRAM).capacity,
        QSPI: qspi_capacity or b.memory(QSPI).capacity,
    }
    if b.has(CCM):
        capacity[CCM] = b.memory(CCM).capacity
    usage = {m: 0 for m in capacity}
    for r in regions:
        usage[r.memory] = usage.get(r.memory, 0) + r.nbytes
        if r.section == SECTIONS[(SDRAM, REGION_CONSTANT)]:
            usage[QSPI] += r.nbytes  # its load image, copied at boot
    # Plan and input: internal flash while it has room, else QSPI.
    plan_section = input_section = SECTIONS[(FLASH, REGION_CONSTANT)]
    if usage[FLASH] + plan_len > flash_budget:
        plan_section = SECTIONS[(QSPI, REGION_CONSTANT)]
        usage[QSPI] += plan_len
    else:
        usage[FLASH] += plan_len
    if usage[FLASH] + input_bytes > flash_budget:
        input_section = SECTIONS[(QSPI, REGION_CONSTANT)]
        usage[QSPI] += input_bytes
    else:
        usage[FLASH] += input_bytes

    result = ExportResult(
        name=name,
        base=base,
        symbol=symbol,
        board=b.name,
        port=port.port,
        partitioned=partitioned,
        sram_budget=budget,
        out_dir=Path(),
        model_dir=Path(),
        files=[],
        regions=regions,
        plan_bytes=plan_len,
        plan_section=plan_section,
        input_section=input_section,
        input_bytes=input_bytes,
        usage=usage,
        capacity=capacity,
        inputs=xs,
        output_shapes=[tuple(graph.tensors[t].shape) for t in graph.outputs],
        output_dtypes=[graph.tensors[t].dtype.name for t in graph.outputs],
        plan_sha256=hashlib.sha256(plan_bytes).hexdigest(),
        # An unpartitioned plan's one constant blob goes to flash, else QSPI.
        weights_in=b.weights_in if partitioned else (QSPI if b.has(QSPI) else FLASH),
    )

    over = [m for m in capacity if usage.get(m, 0) > capacity[m]]
    if over:
        detail = "; ".join(f"{m}: {usage[m]:,} bytes needed, {capacity[m]:,} available" for m in over)
        raise BudgetError(f"{name} does not fit {b.name}: {detail}\n{result.report()}")

    # ---- write -------------------------------------------------------------
    out = Path(out_dir)
    model_dir = out / name
    model_dir.mkdir(parents=True, exist_ok=True)
    result.out_dir, result.model_dir = out, model_dir
    guard = re.sub(r"[^0-9A-Za-z_]", "_", base).upper() + "_H_"
    origin = f"sha256 {hashlib.sha256(data).hexdigest()[:16]}" if data is not None else "graph"
    head = (
        f"// Generated by `tinyops export` (tinyops-tflm) -- do not edit.\n"
        f"// Model {name} ({origin}) for {b.name}: "
        f"{'partitioned' if partitioned else 'unpartitioned'} plan, SRAM budget {budget} bytes.\n"
    )

    files: list[Path] = []
    h = [
        head,
        f"#ifndef {guard}\n#define {guard}\n\n#include <cstdint>\n\n",
        '#include "tinyops_port/model.h"\n\n',
        f"#define {symbol.upper()}_PLAN_BYTES {plan_len}u\n",
        f"#define {symbol.upper()}_NUM_REGIONS {len(regions)}u\n",
    ]
    for r in regions:
        h.append(
            f"#define {symbol.upper()}_REGION{r.index}_BYTES {r.nbytes}u  // {r.kind} in {r.memory} ({r.section})\n"
        )
    h.append(
        f"\n// The model: plan, region bindings and the fixed input.\n"
        f"extern const tinyops_port::ModelDesc {symbol}_model;\n\n#endif  // {guard}\n"
    )
    hpath = model_dir / f"{base}.h"
    _write_if_changed(hpath, "".join(h))
    files.append(hpath)

    cc = [head, f'#include "{base}.h"\n\n']
    for r in regions:
        if r.kind == "constant":
            blob = contents[r.index]
            if blob is None or len(blob) != r.nbytes:
                raise TinyOpsError(f"plan region {r.index}: constant contents missing")
            part = model_dir / f"{base}_{r.memory}{r.index}.cc"
            _write_if_changed(
                part,
                head + "#include <cstdint>\n\n" + f"// Region {r.index}: "
                f"{r.nbytes} bytes of constants in {r.memory}.\n"
                + _array(r.symbol, r.section, blob, r.nbytes, extern=True),
            )
            files.append(part)
            cc.append(f"extern const uint32_t {r.symbol}[];\n")
    cc.append("\nnamespace {\n\n")
    cc.append(f"// The plan ({plan_len} bytes).\n")
    cc.append(_array(f"{symbol}_plan", plan_section, plan_bytes, plan_len))
    for i, x in enumerate(xs):
        cc.append(f"// Input {i}: {list(x.shape)} {x.dtype.name}.\n")
        cc.append(_array(f"{symbol}_input{i}", input_section, x.tobytes(), x.nbytes))
    for r in regions:
        if r.kind == "arena":
            cc.append(f"// Region {r.index}: {r.nbytes} bytes of {r.memory}, zeroed at boot.\n")
            cc.append(_array(r.symbol, r.section, None, r.nbytes))
    cc.append("\nconst tinyops_port::RegionDesc kRegions[] = {\n")
    for r in regions:
        ptr = f"const_cast<uint32_t*>({r.symbol})" if r.kind == "constant" else r.symbol
        cc.append(
            f"    {{{REGION_CONSTANT if r.kind == 'constant' else REGION_ARENA}u, "
            f"tinyops_port::Memory::{_ENUMERATORS[r.memory]}, "
            f"{ptr}, {r.nbytes}u}},\n"
        )
    cc.append("};\n\nconst tinyops_port::InputDesc kInputs[] = {\n")
    for i, x in enumerate(xs):
        cc.append(f"    {{reinterpret_cast<const uint8_t*>({symbol}_input{i}), {x.nbytes}u}},\n")
    if not xs:
        cc.append("    {nullptr, 0u},\n")
    cc.append("};\n\n}  // namespace\n\n")
    cc.append(
        f"extern const tinyops_port::ModelDesc {symbol}_model = {{\n"
        f'    "{name}", "{b.name}",\n'
        f"    reinterpret_cast<const uint8_t*>({symbol}_plan), {plan_len}u,\n"
        f"    kRegions, {len(regions)}u, kInputs, {len(xs)}u}};\n"
    )
    ccpath = model_dir / f"{base}.cc"
    _write_if_changed(ccpath, "".join(cc))
    files.append(ccpath)

    meta = {
        "name": name,
        "base": base,
        "symbol": symbol,
        "board": b.name,
        "port": port.port,
        "partitioned": partitioned,
        "sram_budget": budget,
        "weights_in": result.weights_in,
        "plan_bytes": plan_len,
        "plan_sha256": result.plan_sha256,
        "plan_section": plan_section,
        "input_section": input_section,
        "regions": [asdict(r) for r in regions],
        "inputs": [{"shape": list(x.shape), "dtype": x.dtype.name} for x in xs],
        "outputs": [{"shape": list(s), "dtype": d} for s, d in zip(result.output_shapes, result.output_dtypes)],
        "usage": usage,
        "capacity": capacity,
        "ops": [op.name for op in graph.operators],
    }
    jpath = model_dir / f"{base}.json"
    _write_if_changed(jpath, json.dumps(meta, indent=1) + "\n")
    files.append(jpath)
    # Stale constant files of an earlier export of the same name.
    for old in model_dir.glob(f"{base}_*.cc"):
        if old not in files:
            old.unlink()
    if register:
        files.append(_update_registry(out, name, symbol, name, port.port, budget))
    result.files = files
    return result
