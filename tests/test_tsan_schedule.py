"""No missing DMA waits: partitioned runs on the asynchronous DMA engine under
ThreadSanitizer. The engine and a small driver (tests/cpp/tsan_schedule_driver.cc)
are compiled with -fsanitize=thread; any read of a tile buffer before its DMA
completes (or overwrite while a transfer still reads it) is a reported race."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support import cxx

from tinyops_tflm import Interpreter
from tinyops_tflm.frontend.reader import read_model
from tinyops_tflm.validation.compare import make_inputs

ROOT = Path(__file__).resolve().parent.parent


def _write_case(base: Path, data: bytes, budget: str) -> None:
    graph = read_model(data)
    interp = Interpreter(graph, board="stm32f746", sram_budget=budget)
    x = make_inputs(graph, 1, seed=0)[0][0]
    y = interp.run(x)[0]
    base.with_suffix(".plan").write_bytes(interp.plan.plan_bytes)
    lines = []
    for i, (size, contents) in enumerate(interp.plan.regions_for_engine()):
        lines.append(f"{size} {1 if contents is not None else 0}")
        if contents is not None:
            Path(f"{base}.r{i}").write_bytes(contents)
    base.with_suffix(".regions").write_text("\n".join(lines) + "\n")
    base.with_suffix(".io").write_text(f"{graph.inputs[0]} {graph.outputs[0]}\n")
    x.tofile(base.with_suffix(".x"))
    y.tofile(base.with_suffix(".y"))


@pytest.fixture(scope="module")
def driver():
    sources = cxx.engine_sources("kernels", "kernels/x86", "runtime", "dma_partition", "host")
    return cxx.build("tsan_schedule_driver.cc", sources, ["-O1", "-g", "-fsanitize=thread"], libs=["-lpthread"])


def _model(name: str) -> bytes:
    if name == "demo":
        from tinyops_tflm.cli.app import demo_model_path

        return Path(demo_model_path()).read_bytes()
    from tinyops_tflm.validation import zoo

    return zoo.cached(name)


@pytest.mark.parametrize("name,budget", [("demo", "16K"), ("demo", "12K"), ("mobilenet_v3_large_r160", "64K")])
def test_partitioned_runs_have_no_dma_races(driver, tmp_path, name, budget):
    base = tmp_path / "case"
    _write_case(base, _model(name), budget)
    for delay_us in ("0", "2"):
        proc = subprocess.run([str(driver), str(base), delay_us], capture_output=True, text=True, timeout=600)
        report = proc.stdout + proc.stderr
        assert "ThreadSanitizer" not in report, report[-4000:]
        assert proc.returncode == 0 and "ok" in proc.stdout, report[-2000:]
