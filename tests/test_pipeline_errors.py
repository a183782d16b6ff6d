"""Bad input to build-net / train / quantize / evaluate gets a named error,
never a crash; unreadable images are skipped and counted.

Uses the bundled demo model (64x64 int8, 10 classes, no sidecar), tiny
drawn datasets and the demo architecture at 32x32 (one 1-epoch training on
8 images).  About 30 s, mostly TensorFlow."""

from __future__ import annotations

import json
import shutil
from importlib import resources

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tinyops_tflm.cli.app import main  # noqa: E402
from tinyops_tflm.errors import DataFolderError, EmptyClassError, NetConfigError, PreprocessingError, TinyOpsError  # noqa: E402
from tinyops_tflm.testing.shapes import encode_png, write_dataset  # noqa: E402
from tinyops_tflm.workflow.evaluate import evaluate, prepare_input  # noqa: E402
from tinyops_tflm.workflow.imagedata import list_image_folder  # noqa: E402

DEMO = str(resources.files("tinyops_tflm") / "data" / "demo_tiny.tflite")


@pytest.fixture
def demo(tmp_path):
    p = tmp_path / "demo.tflite"
    shutil.copy(DEMO, p)
    return p


def test_missing_empty_and_malformed_data_folders(tmp_path):
    with pytest.raises(DataFolderError, match="does not exist"):
        list_image_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFolderError, match="no class sub-folders.*empty"):
        list_image_folder(tmp_path / "empty")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.png").write_bytes(encode_png(np.zeros((8, 8, 3), np.uint8)))
    with pytest.raises(DataFolderError, match="1 images directly"):
        list_image_folder(flat)
    with pytest.raises(DataFolderError, match="not a directory"):
        list_image_folder(flat / "a.png")


def test_class_folder_without_images_is_named(tmp_path):
    root = write_dataset(tmp_path / "d", per_class=2, seed=0, size=16, classes=2)
    (root / "zebra").mkdir()
    (root / "zebra" / "notes.txt").write_text("no images here")
    with pytest.raises(EmptyClassError, match="'zebra'"):
        list_image_folder(root)


def test_unreadable_images_are_skipped_and_counted(tmp_path, demo):
    root = write_dataset(tmp_path / "d", per_class=3, seed=0, size=48, classes=2)
    (root / "circle" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    (root / "cross" / "empty.jpg").write_bytes(b"")
    r = evaluate(demo, root, workers=1, cache_dir=False)
    assert (r.images, r.unreadable) == (6, 2)
    assert sorted(p.rsplit("/", 1)[1] for p in r.unreadable_files) == ["broken.png", "empty.jpg"]
    # every image unreadable: a named error, not a division by zero
    bad = tmp_path / "bad" / "only"
    bad.mkdir(parents=True)
    (bad / "x.jpg").write_bytes(b"garbage")
    with pytest.raises(DataFolderError, match="none of its 1 images is readable"):
        evaluate(demo, tmp_path / "bad", workers=1, cache_dir=False)


def test_model_input_not_matching_preprocessing(tmp_path, demo):
    root = write_dataset(tmp_path / "d", per_class=1, seed=0, size=16, classes=2)
    with pytest.raises(PreprocessingError, match=r"input shape \[1, 64, 64, 3\].*resolution 32"):
        evaluate(demo, root, workers=1, cache_dir=False, resolution=32)
    # a sidecar recording another resolution than the model's input
    (tmp_path / "demo.tflite.json").write_text(
        json.dumps({"format": "tinyops-model-info", "version": 1, "preprocessing": {"resolution": 48}, "classes": None})
    )
    with pytest.raises(PreprocessingError, match="resolution 48"):
        evaluate(demo, root, workers=1, cache_dir=False)
    with pytest.raises(PreprocessingError):
        prepare_input(demo, next(root.glob("*/*.png")))
    # and through the CLI: exit status 2 and the message
    assert main(["evaluate", str(demo), "--data", str(root), "--workers", "1", "--no-cache"]) == 2


def test_folder_classes_unknown_to_the_model(tmp_path, demo):
    (tmp_path / "demo.tflite.json").write_text(
        json.dumps(
            {
                "format": "tinyops-model-info",
                "version": 1,
                "preprocessing": {"resolution": 64},
                "classes": [f"c{i}" for i in range(10)],
            }
        )
    )
    root = write_dataset(tmp_path / "d", per_class=1, seed=0, size=16, classes=1)
    with pytest.raises(DataFolderError, match="'circle'.*not classes of demo.tflite"):
        evaluate(demo, root, workers=1, cache_dir=False)


def test_not_a_model(tmp_path):
    root = write_dataset(tmp_path / "d", per_class=1, seed=0, size=16, classes=1)
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(TinyOpsError, match="neither a .tflite flatbuffer nor a .keras"):
        evaluate(junk, root, workers=1, cache_dir=False)


def test_bad_net_configs(tmp_path):
    from tinyops_tflm.cli.pipeline import build_net

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(NetConfigError, match="not valid JSON"):
        build_net(str(bad), tmp_path / "m.keras")
    bad.write_text(json.dumps({"first_conv": {}}))
    with pytest.raises(NetConfigError, match="lacks blocks, classifier"):
        build_net(str(bad), tmp_path / "m.keras")
    with pytest.raises(NetConfigError, match="neither a zoo model"):
        build_net("resnet-9000", tmp_path / "m.keras")
    with pytest.raises(NetConfigError, match="no width multiplier"):
        build_net("demo_tiny", tmp_path / "m.keras", width=0.5)


def test_train_and_quantize_reject_bad_input(tmp_path):
    from tinyops_tflm.cli.pipeline import build_net
    from tinyops_tflm.workflow.quantize import quantize
    from tinyops_tflm.workflow.train import TrainConfig, train

    net = tmp_path / "net.keras"
    build_net("demo_tiny", net, resolution=32)
    data = write_dataset(tmp_path / "train", per_class=2, seed=0, size=40, classes=2)
    val = write_dataset(tmp_path / "val", per_class=1, seed=1, size=40, classes=3)  # a third class
    cfg = TrainConfig(epochs=1, batch=4, bn_images=0)
    with pytest.raises(DataFolderError, match="classes the training data lacks: 'square'"):
        train(net, data, tmp_path / "t.keras", val=val, config=cfg, log=lambda s: None)
    # the recorded preprocessing does not fit the model's input
    side = json.loads((tmp_path / "net.keras.json").read_text())
    side["preprocessing"]["resolution"] = 48
    (tmp_path / "net.keras.json").write_text(json.dumps(side))
    with pytest.raises(PreprocessingError, match=r"\[None, 32, 32, 3\] does not match.*resolution 48"):
        train(net, data, tmp_path / "t.keras", config=cfg, log=lambda s: None)
    with pytest.raises(PreprocessingError, match="resolution 48"):
        quantize(net, data, tmp_path / "q.tflite", log=lambda s: None)
    # calibration images that are all unreadable
    (tmp_path / "net.keras.json").unlink()
    junk = tmp_path / "junk" / "a"
    junk.mkdir(parents=True)
    (junk / "1.png").write_bytes(b"junk")
    with pytest.raises(DataFolderError, match="no readable image"):
        quantize(net, tmp_path / "junk", tmp_path / "q.tflite", log=lambda s: None)


def test_unreadable_training_and_calibration_images_are_skipped(tmp_path):
    from tinyops_tflm.cli.pipeline import build_net
    from tinyops_tflm.workflow.quantize import quantize
    from tinyops_tflm.workflow.train import TrainConfig, train

    net = tmp_path / "net.keras"
    build_net("demo_tiny", net, resolution=32)
    data = write_dataset(tmp_path / "train", per_class=4, seed=0, size=40, classes=2)
    (data / "circle" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (data / "cross" / "empty.jpg").write_bytes(b"")
    r = train(net, data, tmp_path / "t.keras", config=TrainConfig(epochs=1, batch=4, bn_images=8), log=lambda s: None)
    assert r.epochs_run == 1 and r.classes == ["circle", "cross"]
    q = quantize(r.out, data, tmp_path / "q.tflite", num_samples=100, log=lambda s: None)
    assert (q.calibration_images, q.unreadable) == (8, 2)
