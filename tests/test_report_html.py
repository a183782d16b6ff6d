"""`tinyops report`: one self-contained HTML page, checked in headless Chromium
(Debian's `chromium`, installed by tools/run_tests.sh)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import numpy as np
import pytest

from tinyops_tflm.cli.app import demo_model_path, main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.fail(
            "headless Chromium is needed to render the report: apt-get install "
            "chromium (tools/run_tests.sh installs it)"
        )
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert (
        main(
            [
                "report",
                demo_model_path(),
                "--board",
                "stm32f746",
                "--sram-budget",
                "32K",
                "--inputs",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


def test_report_is_self_contained(report):
    text = report.read_text()
    assert "<table id='layers'>" in text
    # No external resources: every image is inline PNG data that decodes.
    srcs = re.findall(r'<img alt="([^"]*)" src="([^"]+)"', text)
    assert {a for a, _ in srcs} >= {
        "latency breakdown per op",
        "memory map of sram",
        "memory map of sdram",
        "memory map of flash",
    }
    for _, src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(https?:|file:|/)', text)
    assert "BIT-EXACT" in text and "(modelled)" in text and "not a board measurement" in text


def test_report_renders_in_headless_chromium(report, tmp_path):
    shot = tmp_path / "shot.png"
    proc = chromium([f"--screenshot={shot}", "--window-size=1280,2400", report.as_uri()], tmp_path)
    assert shot.is_file(), proc.stderr[-2000:]
    import matplotlib.image

    img = (matplotlib.image.imread(str(shot))[:, :, :3] * 255).round().astype(np.int16)
    non_white = np.mean(img.min(axis=2) < 235)
    assert non_white > 0.05, f"screenshot nearly blank ({non_white:.1%} non-white)"
    # The plots rendered: plenty of pixels in their bar colours (#4C72B0, #DD8452).
    for rgb in ((0x4C, 0x72, 0xB0), (0xDD, 0x84, 0x52)):
        near = np.all(np.abs(img - np.array(rgb)) < 24, axis=2).mean()
        assert near > 0.002, f"colour {rgb} covers only {near:.3%} of the page"

    dom = chromium(["--dump-dom", report.as_uri()], tmp_path).stdout
    table = re.search(r'<table id="layers">(.*?)</table>', dom, re.S)
    assert table, "no per-layer table in the rendered DOM"
    rows = re.findall(r"<tr>", table.group(1))
    assert len(rows) == 1 + 34  # header + one row per op of the demo model
    assert "CONV_2D" in table.group(1) and "sdram" in table.group(1)
