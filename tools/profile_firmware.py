"""Where an emulated firmware's guest instructions go, by function.

    python tools/profile_firmware.py MODEL.tflite|ZOO_NAME [--board stm32f746]
        [--unpartitioned] [--top 25] [--blocks 0] [--json]

Runs the model's QEMU firmware (`tinyops_tflm.firmware.emulate`, instruction
counting mode) with the project's TCG plugin writing one line per translation
block -- its address, instruction count and executions -- and attributes each
block's executed instructions to the ELF function that contains it
(`arm-none-eabi-nm`). The counts are QEMU's executed guest instructions for
the whole run (boot, input load and the invoke), the emulated DMA's copies
included (memmove under CpuCopyDma::run; `tinyops emulate` leaves them out
and the tool says how many they are); use a single-op model
(tinyops_tflm.testing) to look at one kernel.
`--blocks N` also lists the N hottest blocks (function + offset), for reading
against `arm-none-eabi-objdump -d` of the ELF the tool names.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _model_bytes(name: str) -> bytes:
    path = Path(name)
    if path.is_file():
        return path.read_bytes()
    from tinyops_tflm.validation import zoo

    return zoo.cached(name)


def read_profile(path: Path) -> tuple[list[tuple[int, int, int]], int]:
    """(pc, instructions in the block, executions) per translated block, and
    the instructions of the emulated DMA's copies among them (which
    `tinyops emulate`'s counts leave out: the DMA engine's work on a board)."""
    rows, copies = [], 0
    for line in path.read_text().splitlines():
        if line.startswith("# dma_copy_insns "):
            copies = int(line.split()[-1])
            continue
        pc, n, count = line.split()
        rows.append((int(pc, 16), int(n), int(count)))
    return rows, copies


def by_function(rows, symbols: dict[str, tuple[int, int]]):
    """{function: executed instructions} and the hottest blocks, attributed
    to the function whose [address, address + size) holds the block's pc."""
    funcs = sorted((addr & ~1, size, name) for name, (addr, size) in symbols.items() if size > 0)
    starts = [f[0] for f in funcs]
    totals: dict[str, int] = {}
    blocks = []
    for pc, n, count in rows:
        i = bisect.bisect_right(starts, pc) - 1
        name, off = "?", pc
        if i >= 0 and pc < funcs[i][0] + funcs[i][1]:
            name, off = funcs[i][2], pc - funcs[i][0]
        totals[name] = totals.get(name, 0) + n * count
        blocks.append((n * count, name, off, n, count, pc))
    blocks.sort(reverse=True)
    return totals, blocks


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help=".tflite file or zoo model name")
    ap.add_argument("--board", default="stm32f746")
    ap.add_argument("--unpartitioned", action="store_true", help="run the unpartitioned plan")
    ap.add_argument("--top", type=int, default=25, help="functions to list")
    ap.add_argument("--blocks", type=int, default=0, help="also list the N hottest translation blocks")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from tinyops_tflm.firmware.emulate import emulate
    from tinyops_tflm.firmware.qemu import PROFILE_ENV
    from tinyops_tflm.firmware.toolchain import _symbols, find_tools

    data = _model_bytes(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        prof = Path(tmp) / "firmware.prof"
        os.environ[PROFILE_ENV] = str(prof)
        try:
            result = emulate(data, args.board, partitioned=not args.unpartitioned)
        finally:
            os.environ.pop(PROFILE_ENV, None)
        if not prof.exists():
            print("the plugin wrote no profile (was the run served from a cache?)", file=sys.stderr)
            return 1
        rows, copies = read_profile(prof)
    totals, blocks = by_function(rows, _symbols(find_tools(), Path(result.elf)))
    executed = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    if args.json:
        print(
            json.dumps(
                {
                    "board": args.board,
                    "elf": str(result.elf),
                    "executed_instructions": executed,
                    "dma_copy_instructions": copies,
                    "invoke_instructions": result.invoke_instructions,
                    "functions": [{"name": k, "instructions": v} for k, v in ranked[: args.top]],
                    "blocks": [
                        {"function": b[1], "offset": b[2], "pc": b[5], "insns": b[3], "executions": b[4]}
                        for b in blocks[: args.blocks]
                    ],
                },
                indent=2,
            )
        )
        return 0
    print(
        f"{args.board}: {executed:,} guest instructions executed, {copies:,} of them the emulated DMA's "
        f"copies (not counted by emulate; invoke: {result.invoke_instructions:,}); ELF {result.elf}"
    )
    for name, n in ranked[: args.top]:
        print(f"  {100.0 * n / executed:6.2f} %  {n:>14,}  {name}")
    if args.blocks:
        print("hottest blocks: instructions, function+offset, block size x executions")
        for total, name, off, n, count, pc in blocks[: args.blocks]:
            print(f"  {total:>14,}  {name}+{off:#x} ({pc:#x})  {n} x {count:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
