"""The `tinyops cycles` subcommand: a bare-metal ELF under the board cycle model."""

from __future__ import annotations

import argparse


def cmd_cycles(args: argparse.Namespace) -> int:
    from ..firmware.cycles import run_cycles

    run = run_cycles(args.elf, args.board, timeout=args.timeout, allow_nonzero_exit=args.allow_exit_code)
    if args.json:
        from .util import print_json

        print_json({"ok": True, **run.to_dict()})
    else:
        print(run.report())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("cycles", help="run a semihosted bare-metal ELF under the board cycle model")
    c.add_argument(
        "elf",
        help="ELF built for the board's QEMU machine (code at 0x0, data at "
        "0x20000000; mps2-an386 for stm32f469, mps2-an500 for stm32f746)",
    )
    c.add_argument("--board", required=True, help="stm32f469 or stm32f746")
    c.add_argument("--json", action="store_true", help="one JSON object on stdout")
    c.add_argument("--timeout", type=float, default=600.0, help="seconds before QEMU is stopped")
    c.add_argument(
        "--allow-exit-code", action="store_true", help="report a run that exits with a non-zero code instead of failing"
    )
    c.set_defaults(func=cmd_cycles)
