"""Architecture -> trained -> int8 -> accuracy, end to end on a small real dataset.

The dataset is drawn by the test (tinyops_tflm.testing.shapes: 4 shape classes
with overlapping colours, 40x40 PNG for training, JPEG for validation); the
net is a narrow MobileNetV3-style OFA net config at 32x32 (h-swish, SE,
residuals).  `tinyops build-net` -> `train` (interrupted after a few epochs,
then resumed from its checkpoint folder) -> `quantize` -> `evaluate`:
the int8 model, run by this engine, must be far above chance and within 2
points of the float model, its outputs byte-equal to tflite-micro's on a
sample, and the same evaluation on a local Ray cluster must give identical
per-image results.  About 1.5-2 minutes on 2 cores, most of it TensorFlow.
"""

from __future__ import annotations

import json
import os
import time

import pytest

pytest.importorskip("tensorflow")

from tinyops_tflm.cli.app import main  # noqa: E402
from tinyops_tflm.testing.shapes import CLASSES, write_dataset  # noqa: E402

EPOCHS = 16
INTERRUPT_AFTER = 5

TINY_NET = {
    "name": "tiny-mbv3",
    "resolution": 32,
    "bn": {"momentum": 0.1, "eps": 1e-3},
    "first_conv": {
        "name": "ConvLayer",
        "kernel_size": 3,
        "stride": 2,
        "out_channels": 16,
        "use_bn": True,
        "act_func": "h_swish",
    },
    "blocks": [
        {
            "mobile_inverted_conv": {
                "name": "MBInvertedConvLayer",
                "out_channels": 16,
                "kernel_size": 3,
                "stride": 1,
                "expand_ratio": 1,
                "act_func": "relu",
            },
            "shortcut": {"name": "IdentityLayer"},
        },
        {
            "mobile_inverted_conv": {
                "name": "MBInvertedConvLayer",
                "out_channels": 24,
                "kernel_size": 3,
                "stride": 2,
                "expand_ratio": 4,
                "act_func": "relu",
            },
            "shortcut": None,
        },
        {
            "mobile_inverted_conv": {
                "name": "MBInvertedConvLayer",
                "out_channels": 24,
                "kernel_size": 5,
                "stride": 1,
                "expand_ratio": 3,
                "act_func": "relu",
                "use_se": True,
            },
            "shortcut": {"name": "IdentityLayer"},
        },
        {
            "mobile_inverted_conv": {
                "name": "MBInvertedConvLayer",
                "out_channels": 40,
                "kernel_size": 3,
                "stride": 2,
                "expand_ratio": 4,
                "act_func": "h_swish",
                "use_se": True,
            },
            "shortcut": None,
        },
    ],
    "final_expand_layer": {
        "name": "ConvLayer",
        "kernel_size": 1,
        "stride": 1,
        "out_channels": 96,
        "use_bn": True,
        "act_func": "h_swish",
    },
    "feature_mix_layer": {
        "name": "ConvLayer",
        "kernel_size": 1,
        "stride": 1,
        "out_channels": 128,
        "use_bn": False,
        "act_func": "h_swish",
        "bias": False,
    },
    "classifier": {"name": "LinearLayer", "in_features": 128, "out_features": 1000, "bias": True},
}


class _Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from tinyops_tflm.workflow.train import TrainConfig, train

    d = tmp_path_factory.mktemp("pipeline")
    train_dir = write_dataset(d / "train", per_class=80, seed=1)
    val_dir = write_dataset(d / "val", per_class=60, seed=2, fmt="jpg")
    cfg_path = d / "tiny.json"
    cfg_path.write_text(json.dumps(TINY_NET))
    net, trained, tflite = d / "net.keras", d / "trained.keras", d / "trained.tflite"
    ckpt = d / "ckpt"

    assert main(["build-net", str(cfg_path), "--out", str(net)]) == 0

    # First run: stopped after INTERRUPT_AFTER epochs (as a kill would), then resumed by the CLI.
    lines = []

    def stop_early(line):
        lines.append(line)
        if line.startswith(f"epoch {INTERRUPT_AFTER}/"):
            raise _Interrupt

    # Deterministic input pipeline: the run (and the float/int8 comparison
    # below) repeats exactly instead of varying with thread timing.
    cfg = TrainConfig(epochs=EPOCHS, batch=32, min_scale=0.35, bn_images=640, deterministic=True)
    with pytest.raises(_Interrupt):
        train(net, train_dir, trained, val=val_dir, checkpoint=ckpt, config=cfg, log=stop_early)
    assert not trained.exists()
    assert json.loads((ckpt / "state.json").read_text())["epoch"] == INTERRUPT_AFTER
    assert (
        main(
            [
                "train",
                str(net),
                "--data",
                str(train_dir),
                "--val",
                str(val_dir),
                "--epochs",
                str(EPOCHS),
                "--batch",
                "32",
                "--min-scale",
                "0.35",
                "--bn-images",
                "640",
                "--checkpoint",
                str(ckpt),
                "--deterministic",
                "--out",
                str(trained),
            ]
        )
        == 0
    )
    assert (
        main(["quantize", str(trained), "--calibration", str(train_dir), "--num-samples", "200", "--out", str(tflite)])
        == 0
    )
    return {
        "dir": d,
        "train": train_dir,
        "val": val_dir,
        "net": net,
        "trained": trained,
        "tflite": tflite,
        "ckpt": ckpt,
        "first_run": lines,
    }


@pytest.fixture(scope="module")
def local_eval(pipeline):
    """The int8 evaluation on 2 local worker processes: (result, per-image results)."""
    from tinyops_tflm.workflow.evaluate import evaluate

    cache = pipeline["dir"] / "cache-local2"
    r = evaluate(pipeline["tflite"], pipeline["val"], workers=2, cache_dir=cache)
    assert (r.backend, r.workers, r.from_cache) == ("local", 2, 0)
    return r, _cache_entries(cache)


def _evaluate_json(capsys, *args) -> dict:
    capsys.readouterr()
    assert main(["evaluate", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _cache_entries(folder) -> dict:
    files = list(folder.glob("*.jsonl"))
    assert len(files) == 1, files
    out = {}
    for line in files[0].read_text().splitlines():
        e = json.loads(line)
        out[e["path"]] = e.get("top5", e.get("error"))
    return out


def test_build_net_follows_the_config(pipeline):
    from tinyops_tflm.workflow.imagedata import read_sidecar
    from tinyops_tflm.workflow.train import load_keras_model

    m = load_keras_model(pipeline["net"])
    assert list(m.input_shape) == [None, 32, 32, 3] and m.output_shape[-1] == 1000
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds.count("DepthwiseConv2D") == 4 and kinds.count("Add") == 2
    assert kinds.count("GlobalAveragePooling2D") == 3  # two SE blocks + the head
    prep, classes, _ = read_sidecar(pipeline["net"])
    assert prep.resolution == 32 and classes is None


def test_build_net_scales_a_zoo_row(tmp_path, capsys):
    capsys.readouterr()
    assert (
        main(
            [
                "build-net",
                "mbv3-w0.50-r112",
                "--resolution",
                "64",
                "--classes",
                "4",
                "--out",
                str(tmp_path / "m.keras"),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["input_shape"] == [None, 64, 64, 3] and out["classes"] == 4
    from tinyops_tflm.workflow.train import load_keras_model

    convs = [la for la in load_keras_model(tmp_path / "m.keras").layers if type(la).__name__ == "Conv2D"]
    # width 0.5 scales the 1280-channel final conv to 640; the classifier has 4 outputs
    assert tuple(convs[-1].kernel.shape) == (1, 1, 640, 4)
    assert tuple(convs[-2].kernel.shape)[-1] == 640


def test_training_resumed_from_its_checkpoint(pipeline):
    ckpt = pipeline["ckpt"]
    state = json.loads((ckpt / "state.json").read_text())
    assert state["epoch"] == EPOCHS and len(state["history"]) == EPOCHS
    assert [h["epoch"] for h in state["history"]] == list(range(1, EPOCHS + 1))
    assert sum(ln.startswith("epoch ") for ln in pipeline["first_run"]) == INTERRUPT_AFTER
    # only the latest epoch's files are kept, plus the best one
    assert sorted(p.name for p in ckpt.glob("epoch-*")) == [f"epoch-{EPOCHS:04d}.keras", f"epoch-{EPOCHS:04d}.opt.npz"]
    assert (ckpt / "best.keras").is_file()
    # the learning rate followed one cosine schedule across the interruption
    lrs = [h["lr"] for h in state["history"]]
    assert all(a > b for a, b in zip(lrs, lrs[1:])) and lrs[-1] < 1e-6
    from tinyops_tflm.workflow.imagedata import read_sidecar

    prep, classes, record = read_sidecar(pipeline["trained"])
    assert classes == list(CLASSES) and prep.min_scale == 0.35


def test_int8_accuracy_matches_float_and_tflm(pipeline, local_eval, capsys, tmp_path):
    val = pipeline["val"]
    flt = _evaluate_json(capsys, pipeline["trained"], "--data", val, "--workers", "1", "--cache", tmp_path / "float")
    q = _evaluate_json(
        capsys, pipeline["tflite"], "--data", val, "--workers", "1", "--cache", tmp_path / "int8", "--check-tflm", "6"
    )
    for r in (flt, q):
        assert isinstance(r["top1"], float) and isinstance(r["top5"], float)
        assert r["images"] == 4 * 60 and r["unreadable"] == 0
    assert (flt["kind"], q["kind"]) == ("float", "int8")
    assert q["top1"] >= 60.0, q  # chance is 25 %
    assert abs(q["top1"] - flt["top1"]) <= 2.0, (flt["top1"], q["top1"])
    assert q["tflm_checked"] == q["tflm_equal"] == 6
    # in this process or in 2 worker processes: the same per-image results
    assert _cache_entries(tmp_path / "int8") == local_eval[1]

    # export/emulate feed an image exactly as the evaluation preprocessed it
    from tinyops_tflm import Interpreter
    from tinyops_tflm.cli.firmware import _load_inputs
    from tinyops_tflm.firmware.export import export_model
    from tinyops_tflm.workflow.eval_runner import topk

    image = sorted(val.glob("triangle/*.jpg"))[3]
    x = _load_inputs(str(image), str(pipeline["tflite"]))
    exported = export_model(pipeline["tflite"], "stm32f746", "shapes", tmp_path / "fw", inputs=x, register=False)
    it = Interpreter.from_file(pipeline["tflite"])
    it.set_input(exported.inputs[0], 0)
    it.invoke()
    assert topk(it.get_output(0)) == _cache_entries(tmp_path / "int8")[str(image)]

    # resumable: a second run takes every result from the cache...
    again = _evaluate_json(capsys, pipeline["tflite"], "--data", val, "--workers", "1", "--cache", tmp_path / "int8")
    assert again["from_cache"] == again["images"] and again["top1"] == q["top1"]
    # ...and a run killed half-way (cache cut short, last line torn) redoes only the rest
    f = next((tmp_path / "int8").glob("*.jsonl"))
    lines = f.read_text().splitlines(keepends=True)
    f.write_text("".join(lines[:70]) + lines[70][:25])
    resumed = _evaluate_json(capsys, pipeline["tflite"], "--data", val, "--workers", "1", "--cache", tmp_path / "int8")
    assert resumed["from_cache"] == 70
    assert (resumed["top1"], resumed["top5"]) == (q["top1"], q["top5"])


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ray_backend_gives_identical_results(pipeline, local_eval, capsys, tmp_path):
    import ray

    val = pipeline["val"]
    local, local_entries = local_eval
    before = _descendants(os.getpid())
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        ray_procs = _descendants(os.getpid()) - before
        assert ray_procs, "ray.init started no processes?"
        # the CLI path, on the cluster this process started
        r = _evaluate_json(capsys, pipeline["tflite"], "--data", val, "--backend", "ray", "--cache", tmp_path / "ray")
        ray_procs |= _descendants(os.getpid()) - before
    finally:
        ray.shutdown()
    assert r["backend"] == "ray"
    assert (r["top1"], r["top5"], r["images"]) == (local.top1, local.top5, local.images)
    assert _cache_entries(tmp_path / "ray") == local_entries

    deadline = time.monotonic() + 30
    while any(_alive(p) for p in ray_procs) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in ray_procs if _alive(p)]
    assert not left, f"Ray left processes behind: {left}"
