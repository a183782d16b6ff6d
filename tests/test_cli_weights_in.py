"""`--weights-in {sdram,qspi}`: every command that plans for a board takes it,
the plan (and the firmware export) puts weights beyond flash where it says,
JSON records the choice, and a board that lacks the memory is a named error."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest
from support.firmware import arm_tools_missing, skip_without

from tinyops_tflm.cli.app import demo_model_path, main
from tinyops_tflm.errors import WeightsPlacementError
from tinyops_tflm.firmware.builds import board_key
from tinyops_tflm.firmware.export import SECTIONS, load_export
from tinyops_tflm.planning import boards
from tinyops_tflm.planning.boards import QSPI, SDRAM, get_board

DEMO = demo_model_path()
PLANNING_COMMANDS = ["plan", "demo", "estimate", "report", "export", "emulate", "explore"]
SDRAM_WEIGHTS = SECTIONS[(SDRAM, 1)]  # the read-only SDRAM region copied from QSPI at boot

zoo = pytest.importorskip("tinyops_tflm.validation.zoo")


def run_json(capsys, argv: list[str], code: int = 0) -> dict:
    assert main(argv) == code, capsys.readouterr()
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def mbv3(tmp_path_factory):
    """A model whose weights miss the F746's internal flash by about 1.8 MB."""
    path = tmp_path_factory.mktemp("mbv3") / "mobilenet_v3_small_r224.tflite"
    path.write_bytes(zoo.cached("mobilenet_v3_small_r224"))
    return str(path)


def _constants_by_memory(plan: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in plan["tensors"]:
        if t["constant"] and t["memory"] is not None:
            out[t["memory"]] = out.get(t["memory"], 0) + t["nbytes"]
    return out


@pytest.mark.parametrize("command", PLANNING_COMMANDS)
def test_help_lists_the_option(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "-h"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--weights-in {sdram,qspi}" in out and "default: the board's" in out


def test_plan_places_weights_where_asked(mbv3, capsys):
    argv = ["plan", mbv3, "--board", "stm32f746", "--sram-budget", "128K", "--json"]
    default = run_json(capsys, argv)
    sdram = run_json(capsys, argv + ["--weights-in", "sdram"])
    qspi = run_json(capsys, argv + ["--weights-in", "qspi"])
    assert default["weights_in"] == sdram["weights_in"] == "sdram" and qspi["weights_in"] == "qspi"
    assert default["tensors"] == sdram["tensors"]

    in_sdram = _constants_by_memory(sdram)
    assert in_sdram.get(QSPI, 0) == 0 and in_sdram[SDRAM] > 1_000_000
    # The weights sit in their own SDRAM region, not in the arena's.
    weight_regions = {t["region"] for t in sdram["tensors"] if t["constant"] and t["memory"] == SDRAM}
    arena_regions = {t["region"] for t in sdram["tensors"] if not t["constant"] and t["memory"] == SDRAM}
    assert len(weight_regions) == 1 and not weight_regions & arena_regions

    in_qspi = _constants_by_memory(qspi)
    assert in_qspi.get(SDRAM, 0) == 0 and in_qspi[QSPI] == in_sdram[SDRAM]


def test_export_records_and_binds_the_placement(mbv3, tmp_path, capsys):
    from tinyops_tflm.frontend.reader import read_model_file
    from tinyops_tflm.planning.partition import plan_model

    def export(where: str) -> dict:
        out = tmp_path / where
        argv = ["export", mbv3, "--board", "stm32f746", "--out", str(out), "--no-register", "--name", "m"]
        return run_json(capsys, argv + ["--sram-budget", "128K", "--weights-in", where, "--json"])

    sdram, qspi = export("sdram"), export("qspi")
    assert sdram["weights_in"] == "sdram" and qspi["weights_in"] == "qspi"
    assert any(r["section"] == SDRAM_WEIGHTS and r["nbytes"] for r in sdram["regions"])
    assert not any(r["section"] == SDRAM_WEIGHTS for r in qspi["regions"])
    assert sdram["plan_sha256"] != qspi["plan_sha256"]
    # Read back (as emulate does for its host check), the export replans to the same plan.
    graph = read_model_file(mbv3)
    for x in (sdram, qspi):
        exp = load_export(x["model_dir"])
        assert exp.weights_in == x["weights_in"]
        plan = plan_model(graph, exp.plan_board(), exp.sram_budget)
        assert plan.to_dict()["weights_in"] == x["weights_in"]
        assert hashlib.sha256(plan.plan_bytes).hexdigest() == x["plan_sha256"]


def test_json_of_other_commands_records_the_choice(capsys, tmp_path):
    d = run_json(capsys, ["demo", "--inputs", "1", "--weights-in", "qspi", "--json"])
    assert d["ok"] and d["weights_in"] == "qspi"
    e = run_json(capsys, ["estimate", DEMO, "--weights-in", "qspi", "--json"])
    assert e["weights_in"] == "qspi" and e["ms"] > 0
    r = run_json(capsys, ["report", DEMO, "--no-validate", "--out", str(tmp_path / "r.html"), "--json"])
    assert r["plan"]["weights_in"] == "sdram"


def test_the_choice_keys_firmware_caches():
    f746 = get_board("stm32f746")
    assert board_key(f746.with_weights_in("sdram")) == board_key(f746)
    assert board_key(f746.with_weights_in("qspi")) != board_key(f746)


def test_sdram_on_a_board_without_sdram_is_a_named_error(monkeypatch, capsys):
    f746 = get_board("stm32f746")
    no_sdram = replace(f746, name="f746-no-sdram", memories=tuple(m for m in f746.memories if m.name != SDRAM))
    monkeypatch.setitem(boards.BOARDS, no_sdram.name, no_sdram)
    err = run_json(capsys, ["plan", DEMO, "--board", no_sdram.name, "--weights-in", "sdram", "--json"], code=2)
    assert err["error_type"] == "WeightsPlacementError"
    assert "f746-no-sdram" in err["error"] and "--weights-in sdram" in err["error"] and "no SDRAM" in err["error"]
    # Without SDRAM the board's default is QSPI, which it can also be asked for.
    assert no_sdram.weights_in == no_sdram.with_weights_in("qspi").weights_in == "qspi"
    with pytest.raises(WeightsPlacementError, match="has no QSPI"):
        replace(no_sdram, memories=tuple(m for m in no_sdram.memories if m.name != QSPI)).with_weights_in("qspi")


@pytest.mark.parametrize(
    "argv, says",
    [
        (["estimate", DEMO, "--schedule", "original"], "tinyops schedule"),
        (["export", DEMO, "--board", "stm32f746", "--out", "x", "--unpartitioned"], "--unpartitioned"),
        (["emulate", DEMO, "--unpartitioned"], "--unpartitioned"),
    ],
)
def test_combinations_the_option_cannot_apply_to(argv, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv + ["--weights-in", "qspi"]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_emulating_a_project_keeps_its_exported_placement(tmp_path, capsys):
    assert main(["new-project", str(tmp_path / "fw"), "--board", "stm32f746"]) == 0
    capsys.readouterr()
    assert main(["emulate", "--project", str(tmp_path / "fw"), "--weights-in", "qspi"]) == 2
    assert "tinyops export --weights-in" in capsys.readouterr().err


def test_explore_costs_the_tinyops_schedule_with_the_choice(mbv3):
    from tinyops_tflm.frontend.reader import read_model_file
    from tinyops_tflm.workflow import explore as ex
    from tinyops_tflm.workflow.candidate_cost import _cost, peak_activation_bytes, weight_bytes

    spec = ex.ModelSpec("mbv3", 1.0, 160)
    cands = ex.candidates_for([spec], ["stm32f746"], ["internal", "tinyops"], "qspi")
    assert [(c.schedule, c.weights_in) for c in cands] == [("internal", None), ("tinyops", "qspi")]
    default = ex.candidates_for([spec], ["stm32f746"], ["tinyops"])[0]
    assert default.weights_in is None and default.key("fp") != cands[1].key("fp")

    graph = read_model_file(mbv3)
    model = {"model": "m", "activation_bytes": peak_activation_bytes(graph), "weight_bytes": weight_bytes(graph)}
    sdram, qspi = (_cost(graph, model, "stm32f746", "tinyops", w) for w in ("sdram", "qspi"))
    assert sdram["weights_in"] == "sdram" and qspi["weights_in"] == "qspi"
    assert sdram["feasible"] and qspi["feasible"] and sdram["external_bytes"] == qspi["external_bytes"]
    assert qspi["latency_ms"] > sdram["latency_ms"]  # QSPI streams 4-6x slower than SDRAM


def test_explore_rejects_a_board_without_the_memory(monkeypatch):
    from tinyops_tflm.workflow import explore as ex

    f746 = get_board("stm32f746")
    no_sdram = replace(f746, name="f746-no-sdram", memories=tuple(m for m in f746.memories if m.name != SDRAM))
    monkeypatch.setitem(boards.BOARDS, no_sdram.name, no_sdram)
    with pytest.raises(WeightsPlacementError, match="f746-no-sdram"):
        ex.candidates_for([ex.ModelSpec("mbv3", 1.0, 160)], [no_sdram.name], ["tinyops"], "sdram")


@skip_without(arm_tools_missing(), "tests/test_cli_weights_in.py", "the emulated run through the CLI")
def test_emulate_runs_the_chosen_placement_and_checks_the_same_plan(mbv3, fw_cache, capsys):
    """The QEMU firmware with weights streamed from QSPI gives the host's bytes,
    and the host check replans with the export's placement (same plan)."""
    out = run_json(capsys, ["emulate", mbv3, "--board", "stm32f746", "--weights-in", "qspi", "--no-count", "--json"])
    (r,) = out["results"]
    assert out["ok"] and r["weights_in"] == "qspi"
    assert r["checks"]["host"]["verdict"] == "BIT-EXACT" and r["checks"]["host"]["same_plan"] is True
