"""Firmware projects that live with the user, outside the installed package.

``tinyops new-project DIR --board stm32f746`` writes a standalone CMake
firmware project::

    DIR/CMakeLists.txt          the project: toolchain, then the port (tinyops/ports/<port>/port.cmake)
    DIR/CMakePresets.json       configure/build presets (VS Code CMake Tools, `cmake --preset`)
    DIR/README.md               build, flash and emulate steps for this project
    DIR/tinyops-project.json    board, port and the tinyops-tflm version the sources came from
    DIR/models/models.cmake     the model list `tinyops export --project DIR` maintains
    DIR/tinyops/                a copy of the engine (csrc/) and the port (ports/common, ports/<port>)

The sources are copied from the installed package (or the checkout, see
:func:`tinyops_tflm.firmware.export.source_root`); after that the project needs only the
Arm toolchain and CMake. ``tinyops export MODEL --project DIR`` adds or updates
a model (C++ sources plus a copy of the .tflite and the fixed input, so
``tinyops emulate --project DIR`` can check the firmware against the host
engine). Nothing here writes into the installed package.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..errors import ProjectError
from ..frontend.model_bytes import read_model_bytes
from .export import ExportResult, export_model, load_export
from .ports import port_for, source_root

if TYPE_CHECKING:
    from ..planning.boards import Board

__all__ = [
    "ProjectError",
    "Project",
    "new_project",
    "load_project",
    "add_model",
    "default_model_name",
    "emulate_project",
    "PROJECT_FILE",
]

PROJECT_FILE = "tinyops-project.json"
FORMAT = 1
# Copied from the source root into DIR/tinyops/ (the port directory is added per board).
_COPIED = ("csrc", "ports/common")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "models", "build*", ".*")


@dataclass
class Project:
    root: Path
    board: str  # planner board (tinyops_tflm.planning.boards), e.g. stm32f746
    port: str  # firmware port directory under tinyops/ports/
    version: str  # tinyops-tflm version the sources were copied from

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    def model_names(self) -> list[str]:
        """Exported models, in the order models.cmake lists them."""
        reg = self.models_dir / "models.cmake"
        if not reg.is_file():
            return []
        return re.findall(r'^tinyops_register_model\(NAME "([^"]+)"', reg.read_text(), re.M)

    def build_commands(self, build_dir: Path | None = None, jobs: int = 2) -> list[str]:
        """Configure + build, with absolute paths (they work from any directory)."""
        build = (build_dir or self.build_dir).resolve()
        return [f"cmake -S {_q(self.root.resolve())} -B {_q(build)} -G Ninja", f"cmake --build {_q(build)} -j{jobs}"]


def _q(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


def _version() -> str:
    from .. import __version__

    return __version__


def load_project(directory: str | os.PathLike) -> Project:
    root = Path(directory).resolve()
    manifest = root / PROJECT_FILE
    if not manifest.is_file():
        raise ProjectError(
            f"{root} is not a tinyops firmware project (no {PROJECT_FILE}); "
            f"create one with `tinyops new-project {root} --board stm32f746`"
        )
    try:
        meta = json.loads(manifest.read_text())
        return Project(root, meta["board"], meta["port"], meta.get("tinyops_version", "?"))
    except (ValueError, KeyError) as err:
        raise ProjectError(f"{manifest}: unreadable project description ({err})") from None


def _cmake_name(root: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", root.resolve().name) or "firmware"
    return name if not name[0].isdigit() else "fw_" + name


def new_project(directory: str | os.PathLike, board: str, *, update: bool = False) -> Project:
    """Write a firmware project for `board` into `directory` (new or empty).
    `update=True` refreshes an existing project's copied sources and generated
    files from this installation, keeping its models."""
    from ..planning.boards import get_board

    b = get_board(board)
    port = port_for(b)
    root = Path(directory).resolve()
    if update:
        old = load_project(root)
        if old.port != port.port:
            raise ProjectError(f"{root} is a {old.port} project; cannot update it to {port.port}")
    elif root.exists() and (not root.is_dir() or any(root.iterdir())):
        hint = (
            " (it is a firmware project already: --update refreshes its sources)"
            if (root / PROJECT_FILE).is_file()
            else ""
        )
        raise ProjectError(f"{root} exists and is not empty{hint}; give a new directory")
    src = source_root()
    root.mkdir(parents=True, exist_ok=True)

    # Sources: replaced as a whole, so an update leaves no stale files behind.
    staging = root / ".tinyops.new"
    shutil.rmtree(staging, ignore_errors=True)
    for rel in (*_COPIED, f"ports/{port.port}"):
        shutil.copytree(src / rel, staging / rel, ignore=_IGNORED)
    # The TFLM example's default model (used only with -DTINYOPS_TFLM_DIR).
    demo = resources.files("tinyops_tflm") / "data" / "demo_tiny.tflite"
    (staging / "tinyops_tflm" / "data").mkdir(parents=True)
    (staging / "tinyops_tflm" / "data" / "demo_tiny.tflite").write_bytes(demo.read_bytes())
    if (root / "tinyops").exists():
        shutil.rmtree(root / "tinyops")
    os.replace(staging, root / "tinyops")

    project = Project(root, b.name, port.port, _version())
    (root / "models").mkdir(exist_ok=True)
    reg = root / "models" / "models.cmake"
    if not reg.is_file():
        reg.write_text("# The project's model list, maintained by `tinyops export --project`.\n")
    (root / "CMakeLists.txt").write_text(_cmakelists(project))
    (root / "CMakePresets.json").write_text(_presets())
    (root / "README.md").write_text(_readme(project))
    gitignore = root / ".gitignore"
    if not gitignore.is_file():
        gitignore.write_text("build/\n")
    (root / PROJECT_FILE).write_text(
        json.dumps(
            {
                "format": FORMAT,
                "board": b.name,
                "port": port.port,
                "qemu_machine": port.qemu_machine,
                "tinyops_version": project.version,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
            indent=1,
        )
        + "\n"
    )
    return project


def _cmakelists(p: Project) -> str:
    return f"""# Firmware project for {p.board}, made by `tinyops new-project` (tinyops-tflm {p.version}).
# Build: see README.md. tinyops/ holds the engine and the {p.port} port (a copy;
# `tinyops new-project . --board {p.board} --update` refreshes it), models/ the
# models `tinyops export MODEL --project .` added.
cmake_minimum_required(VERSION 3.20)
set(TINYOPS_PORT_DIR ${{CMAKE_CURRENT_LIST_DIR}}/tinyops/ports/{p.port})
if(NOT CMAKE_TOOLCHAIN_FILE)
  set(CMAKE_TOOLCHAIN_FILE ${{TINYOPS_PORT_DIR}}/toolchain.cmake)
endif()
project({_cmake_name(p.root)} LANGUAGES C CXX ASM)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)  # for IDE indexing (compile_commands.json)
set(TINYOPS_MODELS_DIR ${{CMAKE_CURRENT_LIST_DIR}}/models CACHE PATH
    "Directory holding models.cmake and the exported model sources")
include(${{TINYOPS_PORT_DIR}}/port.cmake)
"""


def _presets() -> str:
    # Version 2 presets: CMake >= 3.20, the ports' minimum.
    return (
        json.dumps(
            {
                "version": 2,
                "configurePresets": [
                    {
                        "name": "firmware",
                        "displayName": "Board + QEMU firmware (Ninja)",
                        "generator": "Ninja",
                        "binaryDir": "${sourceDir}/build",
                    }
                ],
                "buildPresets": [{"name": "firmware", "configurePreset": "firmware", "jobs": 2}],
            },
            indent=2,
        )
        + "\n"
    )


def _readme(p: Project) -> str:
    from ..planning.boards import get_board

    board = get_board(p.board)
    port = port_for(board)
    root = p.root.resolve()
    configure, build = p.build_commands()
    return f"""# Firmware project: {board.description}

Made by `tinyops new-project` (tinyops-tflm {p.version}) at `{root}`.

| path | what |
|---|---|
| `CMakeLists.txt` | the project: the Arm toolchain, then the {p.port} port |
| `models/` | models added by `tinyops export MODEL --project .` (`models.cmake` lists them) |
| `tinyops/` | the engine (`csrc/`) and the port (`ports/`), copied from tinyops-tflm {p.version} |
| `tinyops-project.json` | board and version, read by `tinyops export/emulate --project` |

Needs: `arm-none-eabi-gcc` with newlib and libstdc++ (Debian/Ubuntu:
`apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib`),
CMake >= 3.20 and Ninja; `qemu-system-arm` to emulate.

## Add a model

```sh
tinyops export MODEL.tflite --project {_q(root)} [--name NAME] [--sram-budget 256K]
```

writes `models/NAME/` (C++ arrays in the linker sections of the memories the
plan chose, the plan, a fixed input) and registers it in `models/models.cmake`.
Exporting the same name again updates it.

## Build

```sh
{configure}
{build}
```

or `cmake --preset firmware && cmake --build --preset firmware` in this folder.
Each model NAME gives `build/SYMBOL.elf` (+ `.hex`, `.map`) for the board and
`build/SYMBOL_qemu.elf` for QEMU `{port.qemu_machine}` (SYMBOL: `NAME_int8_1` with
non-identifier characters as `_`); `selftest.elf` brings the board up without a
model. Options: `-DTINYOPS_BUILD_QEMU=OFF`, `-DTINYOPS_FW_OPT=-O3`.

## Flash and run on the board

The ELF/HEX has internal-flash segments at 0x08000000 and, when the plan put
constants in QSPI, segments at 0x90000000. Program both with STM32CubeProgrammer
and the board's QSPI external loader (from its `ExternalLoader` folder), e.g.

```sh
STM32_Programmer_CLI -c port=SWD -el <loader for your board>.stldr -w build/SYMBOL.hex -v -rst
```

The runner prints per-op cycles, the total latency, the output bytes and
`DONE status=0` on the ST-LINK virtual COM port at 115200 8N1.

## Emulate

```sh
tinyops emulate --project {_q(root)} [--name NAME] [--validate]
```

builds `SYMBOL_qemu` in `build/`, runs it under `qemu-system-arm -M {port.qemu_machine}`
and compares its output bytes with the host engine (and with tflite-micro under
`--validate`): it prints BIT-EXACT or the first differing index and exits 1 on
a mismatch.

## IDEs

- **VS Code**: open this folder with the CMake Tools extension; it offers the
  `firmware` preset of `CMakePresets.json`. `build/compile_commands.json`
  serves IntelliSense/clangd.
- **STM32CubeIDE** (Eclipse, no CMake importer): File > New > Makefile Project
  with Existing Code on this folder (toolchain: MCU ARM GCC), then in
  Properties > C/C++ Build untick "Use default build command", set the build
  command to `cmake --build build` and the build directory to this folder;
  run the configure command above once first. Debug the ELF with an
  "STM32 C/C++ Application" launch configuration.

Upgrading tinyops-tflm: `tinyops new-project {_q(root)} --board {p.board} --update`
replaces `tinyops/` and the generated files and keeps `models/`; export the
models again so their plans match the new engine.
"""


def default_model_name(model: str | os.PathLike) -> str:
    """A registered name from a model file name: its stem with characters
    other than letters, digits and . _ + - replaced by '-'."""
    stem = Path(model).stem
    name = re.sub(r"[^A-Za-z0-9._+-]", "-", stem)
    if not name or not name[0].isalnum():
        name = "m" + name
    return name


def add_model(
    project: Project,
    model: str | os.PathLike,
    name: str | None = None,
    *,
    board: str | Board | None = None,
    sram_budget: int | str | None = None,
    inputs: Sequence[np.ndarray] | None = None,
    partitioned: bool = True,
) -> ExportResult:
    """Export `model` into the project (tinyops export --project). Besides the
    firmware sources, keeps the .tflite and the fixed input next to them, so
    the emulated firmware can be checked against the host engine later."""
    from ..planning.boards import get_board

    b = get_board(board or project.board)
    if port_for(b).port != project.port:
        raise ProjectError(
            f"{project.root} is a {project.port} project; --board {b.name} needs the {port_for(b).port} port"
        )
    name = name or default_model_name(model)
    data = read_model_bytes(model)
    result = export_model(
        data, b, name, project.models_dir, sram_budget=sram_budget, inputs=inputs, partitioned=partitioned
    )
    (result.model_dir / f"{name}.tflite").write_bytes(data)
    np.savez(result.model_dir / f"{result.base}_input.npz", *result.inputs)
    result.files += [result.model_dir / f"{name}.tflite", result.model_dir / f"{result.base}_input.npz"]
    return result


def emulate_project(
    project: Project,
    name: str,
    *,
    build_dir: Path | None = None,
    count_instructions: bool = True,
    timeout: float = 900.0,
    jobs: int = 2,
    cycles: bool = False,
):
    """Build the project's QEMU firmware of model `name` and run it; returns an
    EmulationResult (tinyops_tflm.firmware.emulate). `cycles`: under the board's cycle
    model (tinyops_tflm.planning.board_timing)."""
    from .builds import build_firmware
    from .emulate import build_and_emulate
    from .toolchain import find_tools

    if name not in project.model_names():
        known = ", ".join(project.model_names()) or "none yet"
        raise ProjectError(
            f"{project.root} has no model {name!r} (models: {known}); "
            f"add it with `tinyops export MODEL --project {project.root}`"
        )
    exported = load_export(project.models_dir / name)
    tools = find_tools()
    build = (build_dir or project.build_dir).resolve()

    def build_elf() -> Path:
        return build_firmware(
            project.board,
            project.models_dir.resolve(),
            build,
            f"{exported.symbol}_qemu",
            tools,
            jobs,
            qemu_only=False,
            source_dir=project.root.resolve(),
        )

    return build_and_emulate(
        build_elf,
        exported,
        exported.board,
        tools,
        {},
        count_instructions=count_instructions,
        cycles=cycles,
        timeout=timeout,
    )
