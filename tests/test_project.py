"""Firmware projects that live with the user: `tinyops new-project`, `export
--project`, a plain CMake build from another directory, `emulate --project`
checking itself -- and nothing written into the installed package."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

import tinyops_tflm
from tinyops_tflm.cli.app import demo_model_path, main
from tinyops_tflm.firmware.export import source_root

TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-g++", "qemu-system-arm", "cmake", "ninja")


def package_digest() -> dict[str, str]:
    """sha256 of every file of the imported package and of the source tree the
    firmware is copied from (csrc/, ports/): the installed copy in CI."""
    roots = {Path(tinyops_tflm.__file__).resolve().parent, source_root() / "csrc", source_root() / "ports"}
    out = {}
    for root in roots:
        for f in sorted(root.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def built_project(tmp_path_factory):
    """From a directory outside the checkout: new-project, export, then the
    README's configure + build with plain CMake."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(
            f"firmware projects need {', '.join(missing)} (tools/run_tests.sh installs "
            "the Arm toolchain and QEMU; pip install cmake ninja)"
        )
    work = tmp_path_factory.mktemp("user")
    before = package_digest()
    model = work / "m.tflite"
    shutil.copy(demo_model_path(), model)
    cwd = Path.cwd()
    import os

    os.chdir(work)
    try:
        assert main(["new-project", "fw", "--board", "stm32f746"]) == 0
        assert main(["export", "m.tflite", "--project", "fw"]) == 0
        # Exporting again updates the model in place.
        assert main(["export", "m.tflite", "--project", "fw", "--name", "m"]) == 0
        cfg = subprocess.run(["cmake", "-S", "fw", "-B", "build", "-G", "Ninja"], capture_output=True, text=True)
        assert cfg.returncode == 0, cfg.stdout[-3000:] + cfg.stderr[-3000:]
        assert "1 registered model(s)" in cfg.stdout
        build = subprocess.run(["cmake", "--build", "build", "-j2"], capture_output=True, text=True)
        assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    finally:
        os.chdir(cwd)
    return work, before


def test_project_builds_and_package_is_untouched(built_project):
    work, before = built_project
    fw = work / "fw"
    for f in (
        "CMakeLists.txt",
        "CMakePresets.json",
        "README.md",
        "tinyops-project.json",
        "models/models.cmake",
        "models/m/m_int8_1.cc",
        "models/m/m.tflite",
        "tinyops/ports/stm32f746/port.cmake",
        "tinyops/ports/common/firmware.cmake",
        "tinyops/csrc/kernels/conv.cc",
    ):
        assert (fw / f).is_file(), f
    assert not (fw / "tinyops" / "ports" / "stm32f469").exists()
    assert (fw / "models" / "models.cmake").read_text().count('NAME "m"') == 1
    for elf in ("m_int8_1.elf", "m_int8_1.hex", "m_int8_1_qemu.elf", "selftest.elf"):
        assert (work / "build" / elf).is_file(), elf
    readme = (fw / "README.md").read_text()
    assert "STM32_Programmer_CLI" in readme and "tinyops emulate --project" in readme
    assert package_digest() == before, "something wrote into the installed package"


def test_emulate_project_checks_itself(built_project, capsys, monkeypatch):
    work, before = built_project
    argv = ["emulate", "--project", str(work / "fw"), "--build-dir", str(work / "build"), "--no-count"]
    assert main(argv + ["--validate"]) == 0
    out = capsys.readouterr().out
    assert "check vs host engine: BIT-EXACT" in out
    assert "check vs tflite-micro" in out and out.count("BIT-EXACT") == 2
    assert main(argv + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["results"][0]["checks"]["host"]["verdict"] == "BIT-EXACT"
    assert doc["results"][0]["checks"]["host"]["same_plan"] is True

    # A firmware that computed one wrong value: named, and exit code 1.
    import tinyops_tflm.firmware.project as project

    real = project.emulate_project

    def corrupted(*a, **kw):
        r = real(*a, **kw)
        y = r.outputs[0].reshape(-1)
        y[3] = y[3] ^ 1
        return r

    monkeypatch.setattr(project, "emulate_project", corrupted)
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "first differing index 3" in out
    assert package_digest() == before
