"""The firmware subcommands of the `tinyops` CLI: export and emulate."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np


def _load_inputs(path: str | None) -> list[np.ndarray] | None:
    """One .npy per single-input model; a .npz (arr_0, arr_1, ... in order) otherwise."""
    if path is None:
        return None
    loaded = np.load(path, allow_pickle=False)
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            return [loaded[k] for k in sorted(loaded.files, key=lambda k: (len(k), k))]
    return [loaded]


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_model

    result = export_model(args.model, args.board, args.name, args.out,
                          sram_budget=args.sram_budget, inputs=_load_inputs(args.input),
                          partitioned=not args.unpartitioned, register=not args.no_register)
    print(result.report())
    print(f"  registered in {result.out_dir / 'models.cmake'}" if not args.no_register
          else "  (not registered)")
    port_dir = Path("ports") / result.port
    print(f"  build: cmake -S {port_dir} -B build/fw-{result.port} -G Ninja"
          + ("" if args.out is None else f" -DTINYOPS_MODELS_DIR={Path(args.out).resolve()}")
          + f" && cmake --build build/fw-{result.port} -j2   (-> {result.symbol}.elf, "
          f"{result.symbol}_qemu.elf)")
    return 0


def cmd_emulate(args: argparse.Namespace) -> int:
    from .emulate import emulate

    result = emulate(args.model, args.board, inputs=_load_inputs(args.input),
                     sram_budget=args.sram_budget, partitioned=not args.unpartitioned,
                     count_instructions=not args.no_count, timeout=args.timeout, jobs=args.jobs)
    print(result.report().replace(result.model_name, os.path.basename(args.model), 1))
    if args.output:
        np.save(args.output, result.outputs[0])
        for i, y in enumerate(result.outputs[1:], start=1):
            stem, ext = os.path.splitext(args.output)
            np.save(f"{stem}_{i}{ext or '.npy'}", y)
        print(f"  wrote {args.output}")
    if args.log:
        Path(args.log).write_text(result.log)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    boards = "stm32f469, stm32f746 (or stm32f469-paper)"
    e = sub.add_parser("export", help="export a model into a firmware port (C++ sources + registration)")
    e.add_argument("model", help=".tflite file")
    e.add_argument("--board", required=True, help=boards)
    e.add_argument("--name", required=True, help="registered name, e.g. mbv3-w1.00-r160")
    e.add_argument("--out", default=None, help="models directory (default: ports/<board>/models)")
    e.add_argument("--sram-budget", default=None, help="internal SRAM for the plan (e.g. 256K)")
    e.add_argument("--input", default=None, help=".npy (or .npz for several inputs) the firmware "
                                                 "runs (default: the demo's deterministic input)")
    e.add_argument("--unpartitioned", action="store_true",
                   help="one arena + one constant blob, run in place (TFLM-style)")
    e.add_argument("--no-register", action="store_true", help="do not add to models.cmake")
    e.set_defaults(func=cmd_export)

    m = sub.add_parser("emulate", help="build the emulated firmware and run a model under QEMU")
    m.add_argument("model", help=".tflite file")
    m.add_argument("--board", default="stm32f746", help=boards)
    m.add_argument("--input", default=None, help=".npy input (default: the demo's input)")
    m.add_argument("--output", default=None, help="write the output array to this .npy")
    m.add_argument("--sram-budget", default=None, help="internal SRAM for the plan (e.g. 128K)")
    m.add_argument("--unpartitioned", action="store_true", help="run the unpartitioned plan")
    m.add_argument("--no-count", action="store_true", help="skip the instruction-count plugin")
    m.add_argument("--timeout", type=float, default=900.0, help="seconds before QEMU is stopped")
    m.add_argument("--jobs", type=int, default=2, help="parallel compile jobs (2)")
    m.add_argument("--log", default=None, help="save the firmware's console output here")
    m.set_defaults(func=cmd_emulate)
