"""The firmware subcommands of the `tinyops` CLI: new-project, export and emulate."""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

import numpy as np

from .util import EXIT_MISMATCH, EXIT_OK, add_weights_in, board_arg, print_json


def _load_inputs(path: str | None, model: str | None = None) -> list[np.ndarray] | None:
    """One .npy per single-input model; a .npz (arr_0, arr_1, ... in order)
    otherwise; or an image file, preprocessed as recorded for ``model``
    (its sidecar, see `tinyops quantize`) and quantized to its int8 input."""
    if path is None:
        return None
    from ..workflow.imagedata import IMAGE_EXTENSIONS

    if model is not None and path.lower().endswith(IMAGE_EXTENSIONS):
        from ..workflow.evaluate import prepare_input

        return [prepare_input(model, path)]
    loaded = np.load(path, allow_pickle=False)
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            return [loaded[k] for k in sorted(loaded.files, key=lambda k: (len(k), k))]
    return [loaded]


# ---------------------------------------------------------------------------
# new-project


def cmd_new_project(args: argparse.Namespace) -> int:
    from ..firmware.project import new_project

    project = new_project(args.directory, args.board, update=args.update)
    root = project.root.resolve()
    configure, build = project.build_commands()
    if args.json:
        print_json(
            {
                "ok": True,
                "project": str(root),
                "board": project.board,
                "port": project.port,
                "tinyops_version": project.version,
                "models_dir": str(project.models_dir.resolve()),
                "build_commands": [configure, build],
            }
        )
        return EXIT_OK
    print(
        f"tinyops new-project: {'updated' if args.update else 'created'} {root} "
        f"({project.board}, sources of tinyops-tflm {project.version})"
    )
    print(f"  add a model: tinyops export MODEL.tflite --project {root}")
    print(f"  build:       {configure} && {build}")
    print(f"  emulate:     tinyops emulate --project {root}")
    print(f"  see {root / 'README.md'} (flashing, IDEs)")
    return EXIT_OK


# ---------------------------------------------------------------------------
# export


def cmd_export(args: argparse.Namespace) -> int:
    from ..firmware.export import export_model
    from ..firmware.ports import port_for
    from ..firmware.project import add_model, default_model_name, load_project

    if (args.project is None) == (args.out is None):
        raise ValueError(
            "tinyops export needs exactly one destination: --project DIR (a "
            "firmware project, see `tinyops new-project DIR --board B`) or --out "
            "DIR (a models directory for a port's -DTINYOPS_MODELS_DIR)"
        )
    _check_weights_in(args)
    inputs = _load_inputs(args.input, args.model)
    if args.project is not None:
        project = load_project(args.project)
        board = args.board or project.board
        result = add_model(
            project,
            args.model,
            args.name,
            board=board_arg(board, args.weights_in),
            sram_budget=args.sram_budget,
            inputs=inputs,
            partitioned=not args.unpartitioned,
        )
        commands = project.build_commands()
    else:
        if args.board is None:
            raise ValueError("--out needs --board (stm32f469, stm32f746 or stm32f469-paper)")
        out = Path(args.out).resolve()
        result = export_model(
            args.model,
            board_arg(args.board, args.weights_in),
            args.name or default_model_name(args.model),
            out,
            sram_budget=args.sram_budget,
            inputs=inputs,
            partitioned=not args.unpartitioned,
            register=not args.no_register,
        )
        from ..firmware.ports import source_root

        port_src = (source_root() / "ports" / port_for(result.board).port).resolve()
        build = Path(args.build_dir or Path.cwd() / "build" / f"fw-{result.port}").resolve()
        commands = [f"cmake -S {port_src} -B {build} -G Ninja -DTINYOPS_MODELS_DIR={out}", f"cmake --build {build} -j2"]
    targets = [f"{result.symbol}.elf", f"{result.symbol}_qemu.elf"]
    if args.json:
        print_json(
            {
                "ok": True,
                **result.to_dict(),
                "registered": not args.no_register,
                "project": None if args.project is None else str(Path(args.project).resolve()),
                "build_commands": commands,
                "targets": targets,
            }
        )
        return EXIT_OK
    print(result.report())
    print(f"  registered in {result.out_dir / 'models.cmake'}" if not args.no_register else "  (not registered)")
    print(f"  build: {commands[0]} && {commands[1]}")
    print(f"     -> {', '.join(targets)}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# emulate


def _check(result, data: bytes | None, validate: bool) -> dict:
    """Compare an emulated run's outputs with the host engine (same plan, same
    input) and, with `validate`, with the pinned tflite-micro interpreter."""
    from ..frontend.reader import read_model
    from ..runtime.interpreter import Interpreter

    checks: dict = {}
    exp = result.export
    if data is None:
        checks["host"] = {"verdict": "NOT CHECKED", "reason": f"no {exp.name}.tflite beside the exported sources"}
        return checks
    if not exp.inputs:
        checks["host"] = {"verdict": "NOT CHECKED", "reason": "the fixed input was not saved"}
        return checks
    graph = read_model(data)
    if exp.partitioned:
        interp = Interpreter(graph, board=exp.plan_board(), sram_budget=exp.sram_budget)
        same_plan = hashlib.sha256(interp.plan.plan_bytes).hexdigest() == exp.plan_sha256
    else:
        interp = Interpreter(graph)
        same_plan = hashlib.sha256(interp.written.plan).hexdigest() == exp.plan_sha256
    host = interp.run(*exp.inputs)
    checks["host"] = _compare(result.outputs, host, "host engine")
    checks["host"]["same_plan"] = same_plan
    if validate:
        from ..validation.oracle import OracleError, oracle_version, run_tflm
        from ..validation.oracle_limits import known_limits

        label = f"tflite-micro {oracle_version()}"
        try:
            theirs = run_tflm(data, [exp.inputs])[0]
        except OracleError as err:
            checks["tflm"] = {
                "verdict": "NOT VALIDATED",
                "against": label,
                "error": str(err),
                "oracle_limits": [lim.to_dict() for lim in known_limits(graph)],
            }
        else:
            checks["tflm"] = _compare(result.outputs, theirs, label)
    return checks


def _compare(ours: list[np.ndarray], theirs: list[np.ndarray], against: str) -> dict:
    from ..validation.compare import first_difference

    diffs = []
    for i, (a, b) in enumerate(zip(ours, theirs)):
        d = first_difference(a, b)
        if d is not None:
            diffs.append({"output": i, **d})
    if len(ours) != len(theirs):
        diffs.append(
            {
                "output": None,
                "index": None,
                "position": None,
                "ours": f"{len(ours)} outputs",
                "theirs": f"{len(theirs)} outputs",
                "num_different": None,
                "size": None,
            }
        )
    return {"verdict": "BIT-EXACT" if not diffs else "MISMATCH", "against": against, "differences": diffs}


def _check_lines(checks: dict) -> list[str]:
    from ..validation.compare import describe_difference

    lines = []
    for c in checks.values():
        against = c.get("against", "host engine")
        if c["verdict"] == "BIT-EXACT":
            lines.append(f"  check vs {against}: BIT-EXACT")
        elif c["verdict"] == "MISMATCH":
            for d in c["differences"]:
                where = f"output {d['output']}" if d["output"] is not None else "outputs"
                lines.append(
                    f"  check vs {against}: MISMATCH, {where}: "
                    + describe_difference(d, "firmware", against.split()[0])
                )
        else:
            why = c.get("reason") or c.get("error", "")
            lines.append(f"  check vs {against}: {c['verdict']} ({why})")
            for lim in c.get("oracle_limits", []):
                lines.append(f"    tflite-micro cannot run op {lim['op']} ({lim['name']}): {lim['reason']}")
        if c.get("same_plan") is False:
            lines.append(
                "    note: the exported plan differs from the one this tinyops makes "
                "(export the model again to update it)"
            )
    return lines


def _result_dict(result, checks: dict) -> dict:
    return {
        "model": result.model_name,
        "board": result.board,
        "machine": result.machine,
        "partitioned": result.export.partitioned,
        "sram_budget": result.export.sram_budget,
        "weights_in": result.export.weights_in,
        "elf": str(result.elf),
        "outputs": [
            {"shape": list(y.shape), "dtype": y.dtype.name, "sha256": hashlib.sha256(y.tobytes()).hexdigest()}
            for y in result.outputs
        ],
        "ops": [{**vars(o), **o.to_dict()} for o in result.ops],
        "instructions": {
            "invoke": result.invoke_instructions,
            "load": result.load_instructions,
            "program": result.program_instructions,
            "kind": "measured: guest instructions counted by the QEMU plugin",
        },
        **(
            {}
            if result.invoke_cycles is None
            else {
                "total_cycles": result.invoke_cycles,
                "ms": result.invoke_cycles / result.clock_hz * 1e3,
                "clock_hz": result.clock_hz,
                "load_cycles": result.load_cycles,
                "cycles_kind": "modelled: tinyops cycle model (ports/README.md), not a board measurement",
            }
        ),
        "stack": {"used": result.stack_used, "size": result.stack_size},
        "seconds": result.seconds,
        "checks": checks,
        "ok": all(c["verdict"] == "BIT-EXACT" for c in checks.values()),
    }


def cmd_emulate(args: argparse.Namespace) -> int:
    from ..firmware.emulate import emulate
    from ..frontend.model_bytes import read_model_bytes

    if args.board_model:
        return _cmd_board_model(args)
    runs = []  # (result, label, model bytes or None)
    if args.project is not None:
        from ..firmware.project import ProjectError, emulate_project, load_project

        if args.model is not None:
            raise ValueError("give either MODEL or --project DIR, not both (export the model into the project first)")
        if args.weights_in is not None:
            raise ValueError(
                "--weights-in applies when emulate plans MODEL; a project's models keep the placement "
                "they were exported with (export again with tinyops export --weights-in)"
            )
        project = load_project(args.project)
        names = [args.name] if args.name else project.model_names()
        if not names:
            raise ProjectError(
                f"{project.root} has no models yet; add one with `tinyops export MODEL.tflite --project {project.root}`"
            )
        for name in names:
            r = emulate_project(
                project,
                name,
                count_instructions=not args.no_count,
                timeout=args.timeout,
                jobs=args.jobs,
                cycles=args.cycles,
                build_dir=Path(args.build_dir) if args.build_dir else None,
            )
            tfl = project.models_dir / name / f"{name}.tflite"
            runs.append((r, name, tfl.read_bytes() if tfl.is_file() else None))
    else:
        if args.model is None:
            raise ValueError("tinyops emulate needs a MODEL.tflite or --project DIR")
        _check_weights_in(args)
        data = read_model_bytes(args.model)
        r = emulate(
            data,
            board_arg(args.board, args.weights_in),
            inputs=_load_inputs(args.input, args.model),
            sram_budget=args.sram_budget,
            partitioned=not args.unpartitioned,
            count_instructions=not args.no_count,
            timeout=args.timeout,
            jobs=args.jobs,
            cycles=args.cycles,
        )
        runs.append((r, os.path.basename(args.model), data))
    if args.output and len(runs) != 1:
        raise ValueError("--output needs a single model (use --name with --project)")

    results = []
    for r, label, data in runs:
        checks = _check(r, data, args.validate)
        results.append(_result_dict(r, checks))
        if not args.json:
            print(r.report().replace(r.model_name, label, 1))
            print("\n".join(_check_lines(checks)))
        if args.output:
            np.save(args.output, r.outputs[0])
            for i, y in enumerate(r.outputs[1:], start=1):
                stem, ext = os.path.splitext(args.output)
                np.save(f"{stem}_{i}{ext or '.npy'}", y)
            if not args.json:
                print(f"  wrote {args.output}")
        if args.log:
            Path(args.log).write_text(r.log)
    ok = all(res["ok"] for res in results)
    if args.json:
        out = {"ok": ok, "results": results}
        if len(results) == 1 and "total_cycles" in results[0]:
            out.update(total_cycles=results[0]["total_cycles"], ops=results[0]["ops"])
        print_json(out)
    return EXIT_OK if ok else EXIT_MISMATCH


# ---------------------------------------------------------------------------


def _cmd_board_model(args: argparse.Namespace) -> int:
    """`--board-model`: the board firmware on the register-level board model,
    outputs compared with the host engine byte for byte."""
    from ..firmware.boardmodel.run import emulate_board

    if args.model is None or args.project is not None:
        raise ValueError("--board-model needs a MODEL.tflite (not --project)")
    _check_weights_in(args)
    result = emulate_board(
        args.model,
        board_arg(args.board, args.weights_in),
        inputs=_load_inputs(args.input),
        sram_budget=args.sram_budget,
        partitioned=not args.unpartitioned,
        timeout=args.timeout,
        jobs=args.jobs,
    )
    print(result.report().replace(result.model_name, os.path.basename(args.model), 1))
    if args.output:
        np.save(args.output, result.outputs[0])
    if args.log:
        Path(args.log).write_text(result.run.console)
    return EXIT_OK if result.matches_host else EXIT_MISMATCH


def _check_weights_in(args: argparse.Namespace) -> None:
    if args.weights_in is not None and args.unpartitioned:
        raise ValueError(
            "--weights-in places a partitioned plan's weights; --unpartitioned keeps its one "
            "constant blob in flash, or in QSPI when it misses flash"
        )


def register(sub: argparse._SubParsersAction) -> None:
    boards = "stm32f469, stm32f746 (or stm32f469-paper)"

    n = sub.add_parser("new-project", help="create a standalone CMake firmware project for a board")
    n.add_argument("directory", help="new (or empty) directory")
    n.add_argument("--board", required=True, help=boards)
    n.add_argument(
        "--update",
        action="store_true",
        help="refresh an existing project's sources from this installation (keeps its models)",
    )
    n.add_argument("--json", action="store_true", help="machine-readable output")
    n.set_defaults(func=cmd_new_project)

    e = sub.add_parser("export", help="add a model to a firmware project (C++ sources + registration)")
    e.add_argument("model", help=".tflite file")
    e.add_argument("--project", default=None, help="firmware project (tinyops new-project)")
    e.add_argument("--out", default=None, help="or: a models directory for a port's -DTINYOPS_MODELS_DIR")
    e.add_argument("--board", default=None, help=f"{boards} (default: the project's board)")
    e.add_argument("--name", default=None, help="registered name, e.g. mbv3-w1.00-r160 (default: the file name)")
    e.add_argument("--sram-budget", default=None, help="internal SRAM for the plan (e.g. 256K)")
    add_weights_in(e)
    e.add_argument(
        "--input",
        default=None,
        help=".npy (or .npz for several inputs) the firmware "
        "runs, or an image (preprocessed as recorded at "
        "quantize time) (default: the demo's deterministic input)",
    )
    e.add_argument(
        "--unpartitioned", action="store_true", help="one arena + one constant blob, run in place (TFLM-style)"
    )
    e.add_argument("--no-register", action="store_true", help="with --out: do not add to models.cmake")
    e.add_argument("--build-dir", default=None, help="with --out: the build directory the printed commands use")
    e.add_argument("--json", action="store_true", help="machine-readable output")
    e.set_defaults(func=cmd_export)

    m = sub.add_parser(
        "emulate", help="build the emulated firmware, run it under QEMU and check its output against the host engine"
    )
    m.add_argument("model", nargs="?", default=None, help=".tflite file (or use --project)")
    m.add_argument("--project", default=None, help="run this firmware project's QEMU build of its models")
    m.add_argument("--name", default=None, help="with --project: only this model")
    m.add_argument("--build-dir", default=None, help="with --project: build directory (default: DIR/build)")
    m.add_argument("--board", default="stm32f746", help=boards)
    m.add_argument(
        "--input",
        default=None,
        help=".npy input or an image (preprocessed as recorded at quantize time) (default: the demo's input)",
    )
    m.add_argument("--output", default=None, help="write the output array to this .npy")
    m.add_argument("--sram-budget", default=None, help="internal SRAM for the plan (e.g. 128K)")
    add_weights_in(m)
    m.add_argument("--unpartitioned", action="store_true", help="run the unpartitioned plan")
    m.add_argument("--validate", action="store_true", help="also compare with the pinned tflite-micro interpreter")
    m.add_argument("--no-count", action="store_true", help="skip the instruction-count plugin")
    m.add_argument(
        "--cycles", action="store_true", help="run under the board's cycle model: per-op modelled cycles and stalls"
    )
    m.add_argument("--timeout", type=float, default=900.0, help="seconds before QEMU is stopped")
    m.add_argument("--jobs", type=int, default=2, help="parallel compile jobs (2)")
    m.add_argument("--log", default=None, help="save the firmware's console output here")
    m.add_argument("--json", action="store_true", help="machine-readable output")
    m.add_argument(
        "--board-model",
        action="store_true",
        help="run the board firmware (not the QEMU variant) on the register-level "
        "STM32 board model and compare with the host engine",
    )
    m.set_defaults(func=cmd_emulate)
