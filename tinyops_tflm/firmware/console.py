"""The firmware runner's console protocol (ports/common/src/runner.cc): output
bytes as hex lines with a declared size and FNV-1a checksum, one line per op,
and DONE with the status."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import EmulationError
from .export import ExportResult


@dataclass
class OpCount:
    index: int
    name: str
    instructions: int | None
    tiles: int | None = None
    transfers: int | None = None
    dma_bytes: int | None = None
    # With the cycle model (emulate(..., cycles=True)): modelled cycles of the
    # op and its stalls by cause ("mem", "fetch", "branch", "dma").
    cycles: int | None = None
    stalls: dict[str, int] = field(default_factory=dict)
    # DMA model during the op: engine cycles of the jobs started, jobs, bytes
    dma_model: dict[str, int] = field(default_factory=dict)

    @property
    def stall_dma(self) -> int:
        return self.stalls.get("dma", 0)

    @property
    def stall_mem(self) -> int:
        return self.stalls.get("mem", 0)

    def to_dict(self) -> dict:
        d = {"op": self.index, "name": self.name, "instructions": self.instructions}
        if self.cycles is not None:
            d["cycles"] = self.cycles
            d.update({f"stall_{k}": v for k, v in self.stalls.items()})
            d.update({f"dma_model_{k}": v for k, v in self.dma_model.items()})
        if self.tiles is not None:
            d.update(tiles=self.tiles, transfers=self.transfers, dma_bytes=self.dma_bytes)
        return d


_OP_RE = re.compile(r"^op (\d+) (\S+) cycles=(\d+)(?: tiles=(\d+) transfers=(\d+) dma_bytes=(\d+))?$")


def stack_use(log: str) -> tuple[int | None, int | None]:
    """(bytes used, stack size) from the runner's `stack used=` line (None, None
    for firmware that does not print it)."""
    m = re.search(r"^\s*stack used=(\d+) size=(\d+)\s*$", log, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def parse_log(log: str, export: ExportResult) -> tuple[list[np.ndarray], list[OpCount]]:
    """Outputs and per-op lines of the runner's console protocol
    (ports/common/src/runner.cc)."""
    hexes: dict[int, list[str]] = {}
    declared: dict[int, tuple[int, str]] = {}
    ops: list[OpCount] = []
    done = None
    for line in log.splitlines():
        line = line.strip()
        if line.startswith("out") and " " in line and line[3 : line.index(" ")].isdigit():
            k = int(line[3 : line.index(" ")])
            hexes.setdefault(k, []).append(line[line.index(" ") + 1 :])
        elif line.startswith("output "):
            m = re.match(r"output (\d+) bytes=(\d+) fnv1a32=([0-9a-f]+)", line)
            if m:
                declared[int(m.group(1))] = (int(m.group(2)), m.group(3))
        elif line.startswith("op "):
            m = _OP_RE.match(line)
            if m:
                tiles = int(m.group(4)) if m.group(4) else None
                ops.append(
                    OpCount(
                        int(m.group(1)),
                        m.group(2),
                        None,
                        tiles,
                        int(m.group(5)) if m.group(5) else None,
                        int(m.group(6)) if m.group(6) else None,
                    )
                )
        elif line.startswith("DONE"):
            done = line
    used, size = stack_use(log)
    if size and used >= size:
        raise EmulationError(
            f"the firmware's stack overflowed its {size} bytes (every painted word was overwritten); "
            "a kernel's stack buffers or the call depth exceed the port's __stack_size"
        )
    if done != "DONE status=0":
        raise EmulationError("the firmware did not finish cleanly:\n" + "\n".join(log.strip().splitlines()[-25:]))
    outputs = []
    for i, (shape, dtype) in enumerate(zip(export.output_shapes, export.output_dtypes)):
        if i not in hexes or i not in declared:
            raise EmulationError(f"the firmware printed no output {i}")
        raw = bytes.fromhex("".join(hexes[i]))
        nbytes, fnv = declared[i]
        h = 2166136261
        for byte in raw:
            h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
        if len(raw) != nbytes or f"{h:08x}" != fnv:
            raise EmulationError(
                f"output {i}: console bytes do not match the firmware's checksum ({len(raw)} of {nbytes} bytes)"
            )
        arr = np.frombuffer(raw, dtype=np.dtype(dtype))
        if arr.size != int(np.prod(shape)):
            raise EmulationError(f"output {i}: {arr.size} values, shape {list(shape)} expected")
        outputs.append(arr.reshape(shape).copy())
    return outputs, ops


def read_console(
    exit_code: int, console: str, export: ExportResult, firmware: str
) -> tuple[list[np.ndarray], list[OpCount]]:
    """parse_log of a finished run; a non-zero exit is the failure to report
    instead, with the console's last lines (`firmware` names what ran)."""
    if exit_code != 0:
        raise EmulationError(
            f"{firmware} exited with code {exit_code}:\n" + "\n".join(console.strip().splitlines()[-25:])
        )
    return parse_log(console, export)
