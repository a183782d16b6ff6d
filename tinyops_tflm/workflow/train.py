"""Training a Keras model on an image-folder dataset (``tinyops train``).

The recipe's defaults are the TinyOps paper's (its seed recipe, after OFA):
SGD with momentum 0.9, learning rate 0.05 with cosine decay to 0 over all
steps, weight decay 4e-5, batch 256, 150 epochs.  Weight decay is an L2
penalty ``wd/2 * sum(w**2)`` on convolution/linear kernels, so its gradient
``wd * w`` goes through momentum exactly like PyTorch SGD's ``weight_decay``;
BN parameters and biases are not decayed (OFA's ``no_decay_keys='bn#bias'``).

Input pipeline: tf.data over the file list, decoded in parallel, with
random-resized-crop + horizontal flip for training and resize + centre crop
for validation (:mod:`tinyops_tflm.workflow.imagedata`); images TensorFlow cannot
decode are dropped by the pipeline (TensorFlow logs each one).

Checkpoints (``--checkpoint DIR``): after every epoch the model and the
optimizer state are written as ``epoch-NNNN.keras`` + ``epoch-NNNN.opt.npz``
and ``state.json`` is replaced atomically to point at them (so a kill at
any moment leaves a consistent checkpoint); a later run with the same folder
resumes from it.  ``best.keras`` keeps the epoch with the best validation
top-1 (training top-1 without ``--val``).

At the end the batch-norm statistics are re-estimated over training images,
as OFA's ``set_running_statistics`` does: every BN's moving mean/variance
become the equal-weight average of its batch statistics over ``bn_images``
augmented training images, computed in training mode (so each BN sees its
input normalised by the earlier BNs' batch statistics, as during training).
The moving averages of a short or fast-changing run otherwise lag behind
the weights.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import DataFolderError, NetConfigError, PreprocessingError
from ..frontend.netbuild import all_layers
from .imagedata import (
    ImageFolder,
    Preprocessing,
    decode_image,
    eval_image,
    list_image_folder,
    read_sidecar,
    train_image,
    write_sidecar,
)

__all__ = ["TrainConfig", "TrainResult", "train", "load_keras_model", "save_model", "reestimate_batchnorm"]

_STATE = "state.json"


@dataclass
class TrainConfig:
    epochs: int = 150
    lr: float = 0.05
    lr_decay: str = "cos"  # "cos" or "none"
    wd: float = 4e-5
    batch: int = 256
    momentum: float = 0.9
    nesterov: bool = False
    label_smoothing: float = 0.0
    warmup_epochs: int = 0
    min_scale: float | None = None  # random-resized-crop minimum area (default: the preprocessing's)
    bn_images: int = 2000  # images for the final BN re-estimation (0: skip)
    seed: int = 0
    # One input-pipeline thread, elements in order: the random augmentation of
    # each image no longer depends on thread timing, so a run repeats exactly
    # (slower; for tests and comparisons).
    deterministic: bool = False

    def check(self) -> None:
        if self.epochs < 1 or self.batch < 1:
            raise ValueError(f"epochs and batch must be positive (got {self.epochs}, {self.batch})")
        if not self.lr > 0 or self.wd < 0 or not 0 <= self.label_smoothing < 1:
            raise ValueError("need lr > 0, wd >= 0 and 0 <= label smoothing < 1")
        if self.lr_decay not in ("cos", "none"):
            raise ValueError(f"lr decay must be 'cos' or 'none', got {self.lr_decay!r}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ValueError(f"warmup epochs must be in [0, epochs), got {self.warmup_epochs}")


@dataclass
class TrainResult:
    out: Path
    classes: list[str]
    epochs_run: int
    history: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    best_top1: float | None = None
    final_val_top1: float | None = None  # after BN re-estimation (None without --val)


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def load_keras_model(path: str | os.PathLike):
    """A ``.keras`` model (uncompiled); :class:`NetConfigError` if it is not one."""
    tf = _tf()
    p = Path(path)
    if not p.is_file():
        raise NetConfigError(f"model file {str(p)!r} does not exist")
    try:
        return tf.keras.models.load_model(p, compile=False)
    except Exception as err:  # Keras raises ValueError/OSError/zipfile errors alike
        raise NetConfigError(f"cannot load Keras model {str(p)!r}: {err}") from None


def model_preprocessing(model, model_path, min_scale: float | None = None) -> tuple[Preprocessing, list[str] | None]:
    """The preprocessing recorded beside ``model_path`` (else the defaults at
    the model's input resolution), checked against the model's input shape."""
    prep, classes, _ = read_sidecar(model_path)
    shape = list(model.input_shape)
    if prep is None:
        if len(shape) != 4 or shape[1] is None or shape[1] != shape[2]:
            raise PreprocessingError(
                f"model input shape {shape} is not [batch, R, R, 3] with a fixed square resolution R"
            )
        prep = Preprocessing(resolution=int(shape[1]))
    if min_scale is not None:
        prep = Preprocessing(
            **{**prep.to_dict(), "min_scale": float(min_scale), "mean": tuple(prep.mean), "std": tuple(prep.std)}
        )
    prep.check_input_shape(shape, f"model {Path(model_path).name}")
    return prep, classes


def _labels_for(data: ImageFolder, classes: list[str], what: str) -> list[int]:
    index = {c: i for i, c in enumerate(classes)}
    unknown = [c for c in data.classes if c not in index]
    if unknown:
        raise DataFolderError(
            f"{what} folder {str(data.root)!r} has classes the training data lacks: "
            + ", ".join(repr(c) for c in unknown[:5])
        )
    return [index[data.classes[label]] for _, label in data.files]


def _dataset(tf, paths, labels, num_classes, prep, batch, training, shuffle_seed=None, deterministic=False):
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(paths), np.asarray(labels, np.int32)))
    if training:
        ds = ds.shuffle(len(paths), seed=shuffle_seed, reshuffle_each_iteration=True)
    transform = train_image if training else eval_image

    def load(path, label):
        x = transform(decode_image(tf.io.read_file(path)), prep)
        return x, tf.one_hot(label, num_classes)

    if deterministic:
        ds = ds.map(load)  # sequential, in order
    else:
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    ds = ds.ignore_errors(log_warning=True)
    # Full batches only when there are enough images (a tiny last batch has
    # meaningless BN statistics); a set smaller than a batch is one batch.
    drop = training and len(paths) >= batch
    ds = ds.batch(batch, drop_remainder=drop)
    if training:  # endless: an epoch is steps_per_epoch batches, however many images failed
        ds = ds.repeat()
    return ds.prefetch(tf.data.AUTOTUNE)


def _set_weight_decay(tf, model, wd: float) -> None:
    """L2 wd/2 on every conv/depthwise/dense kernel (gradient wd*w)."""
    if wd <= 0:
        return
    reg = tf.keras.regularizers.L2(wd / 2)
    for layer in all_layers(model):
        for name in ("kernel", "depthwise_kernel"):
            v = getattr(layer, name, None)
            if v is not None and getattr(v, "trainable", False):
                v.regularizer = reg


def _compile(tf, model, cfg: TrainConfig, steps_per_epoch: int):
    total = max(1, cfg.epochs * steps_per_epoch)
    warm = cfg.warmup_epochs * steps_per_epoch
    if cfg.lr_decay == "cos":
        if warm:
            schedule = tf.keras.optimizers.schedules.CosineDecay(
                0.0, total - warm, alpha=0.0, warmup_target=cfg.lr, warmup_steps=warm
            )
        else:
            schedule = tf.keras.optimizers.schedules.CosineDecay(cfg.lr, total, alpha=0.0)
    else:
        schedule = cfg.lr
    opt = tf.keras.optimizers.SGD(schedule, momentum=cfg.momentum, nesterov=cfg.nesterov)
    model.compile(
        optimizer=opt,
        loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=cfg.label_smoothing),
        metrics=[tf.keras.metrics.CategoricalAccuracy(name="top1")],
    )
    opt.build(model.trainable_variables)
    return opt


def _current_lr(opt) -> float:
    lr = opt.learning_rate
    return float(lr.numpy() if hasattr(lr, "numpy") else lr)


def _evaluate(model, ds) -> tuple[float, float]:
    """(loss, top-1 fraction) on a finite dataset."""
    with warnings.catch_warnings():
        # the dataset's length is unknown (unreadable images are dropped), so
        # Keras warns when it ends
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        loss, top1 = model.evaluate(ds, verbose=0)
    return float(loss), float(top1)


def save_model(model, path: str | os.PathLike) -> None:
    """``model.save(path)`` without Keras' NumPy-2 deprecation noise."""
    with warnings.catch_warnings():
        # Keras' saving converts variables with np.array(copy=False), which
        # NumPy 2 deprecates; nothing to act on here
        warnings.filterwarnings("ignore", category=DeprecationWarning, message="__array__")
        model.save(path)


def _save_clean(tf, model, path: Path) -> None:
    """Save ``model`` without optimizer state or compile config (a clone)."""
    clean = tf.keras.models.clone_model(model)
    clean.set_weights(model.get_weights())
    tmp = path.with_name(path.stem + ".tmp.keras")
    save_model(clean, tmp)
    os.replace(tmp, path)


class _State:
    """The checkpoint folder: state.json + the files it names."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / _STATE

    def load(self) -> dict | None:
        if not self.path.is_file():
            return None
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise DataFolderError(f"corrupt checkpoint state {str(self.path)!r}: {err}") from None

    def save(self, state: dict) -> None:
        tmp = self.path.with_name(_STATE + ".tmp")
        tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


def _recipe_key(cfg: TrainConfig, classes: list[str], model_path: Path) -> dict:
    return {
        "epochs": cfg.epochs,
        "lr": cfg.lr,
        "lr_decay": cfg.lr_decay,
        "wd": cfg.wd,
        "batch": cfg.batch,
        "warmup_epochs": cfg.warmup_epochs,
        "classes": classes,
        "model": str(model_path.resolve()),
    }


def train(
    model_path: str | os.PathLike,
    data: str | os.PathLike,
    out: str | os.PathLike,
    val: str | os.PathLike | None = None,
    checkpoint: str | os.PathLike | None = None,
    config: TrainConfig | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train ``model_path`` (.keras) on the image folder ``data``; write the
    trained model (after BN re-estimation) to ``out`` with its sidecar.
    ``checkpoint`` defaults to ``<out>.ckpt``."""
    cfg = config or TrainConfig()
    cfg.check()
    model_path, out = Path(model_path), Path(out)
    ckpt = Path(checkpoint) if checkpoint is not None else out.with_name(out.name + ".ckpt")
    train_set = list_image_folder(data)
    val_set = list_image_folder(val) if val is not None else None
    classes = train_set.classes
    val_labels = _labels_for(val_set, classes, "validation") if val_set is not None else None

    tf = _tf()
    tf.keras.utils.set_random_seed(cfg.seed)
    model = load_keras_model(model_path)
    if model.input_shape[0] is not None:
        raise PreprocessingError(
            f"model {model_path.name} has a fixed batch size {model.input_shape[0]}; "
            "training needs a dynamic batch (build it with `tinyops build-net`)"
        )
    prep, _ = model_preprocessing(model, model_path, cfg.min_scale)
    from ..frontend.netbuild import set_num_classes

    if int(model.output_shape[-1]) != len(classes):
        log(f"classifier resized: {model.output_shape[-1]} -> {len(classes)} classes")
        model = set_num_classes(model, len(classes))

    n = len(train_set)
    steps = max(1, n // cfg.batch) if n >= cfg.batch else 1
    state_store = _State(ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    state = state_store.load()
    key = _recipe_key(cfg, classes, model_path)
    start_epoch, best_epoch, best_top1, history = 0, None, None, []
    if state is not None:
        if state.get("recipe") != key:
            raise DataFolderError(
                f"checkpoint folder {str(ckpt)!r} belongs to another run "
                f"({state.get('recipe')}); use another --checkpoint folder"
            )
        model = load_keras_model(ckpt / state["model"])
        start_epoch = int(state["epoch"])
        best_epoch, best_top1 = state.get("best_epoch"), state.get("best_top1")
        history = list(state.get("history", []))
        log(f"resuming from {ckpt / state['model']} (epoch {start_epoch}/{cfg.epochs})")

    _set_weight_decay(tf, model, cfg.wd)
    opt = _compile(tf, model, cfg, steps)
    if state is not None:
        with np.load(ckpt / state["optimizer"]) as z:
            saved = [z[f"v{i}"] for i in range(len(z.files))]
        if len(saved) != len(opt.variables) or any(
            tuple(s.shape) != tuple(v.shape) for s, v in zip(saved, opt.variables)
        ):
            raise DataFolderError(f"optimizer state in {str(ckpt)!r} does not fit the model")
        for v, s in zip(opt.variables, saved):
            v.assign(s)

    train_ds = _dataset(
        tf,
        [p for p, _ in train_set.files],
        [l for _, l in train_set.files],
        len(classes),
        prep,
        cfg.batch,
        training=True,
        shuffle_seed=cfg.seed,
        deterministic=cfg.deterministic,
    )
    val_ds = (
        _dataset(tf, [p for p, _ in val_set.files], val_labels, len(classes), prep, cfg.batch, training=False)
        if val_set is not None
        else None
    )
    log(
        f"training {model_path.name}: {n} images, {len(classes)} classes, "
        f"{prep.resolution}x{prep.resolution}, batch {cfg.batch} ({steps} steps/epoch), "
        f"epochs {start_epoch + 1}..{cfg.epochs}, lr {cfg.lr} {cfg.lr_decay}, wd {cfg.wd}"
    )

    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        h = model.fit(train_ds, epochs=epoch + 1, initial_epoch=epoch, steps_per_epoch=steps, shuffle=False, verbose=0)
        row = {
            "epoch": epoch + 1,
            "loss": float(h.history["loss"][-1]),
            "top1": 100.0 * float(h.history["top1"][-1]),
            "lr": _current_lr(opt),
        }
        if val_ds is not None:
            vl, vt = _evaluate(model, val_ds)
            row["val_loss"], row["val_top1"] = float(vl), 100.0 * float(vt)
        row["seconds"] = round(time.perf_counter() - t0, 2)
        history.append(row)
        metric = row.get("val_top1", row["top1"])
        name = f"epoch-{epoch + 1:04d}"
        save_model(model, ckpt / f"{name}.keras")
        np.savez(ckpt / f"{name}.opt.npz", **{f"v{i}": v.numpy() for i, v in enumerate(opt.variables)})
        if best_top1 is None or metric > best_top1:
            best_epoch, best_top1 = epoch + 1, metric
            _save_clean(tf, model, ckpt / "best.keras")
            write_sidecar(ckpt / "best.keras", prep, classes, best_epoch=best_epoch, top1=best_top1)
        previous = state_store.load()
        state_store.save(
            {
                "recipe": key,
                "epoch": epoch + 1,
                "model": f"{name}.keras",
                "optimizer": f"{name}.opt.npz",
                "best_epoch": best_epoch,
                "best_top1": best_top1,
                "history": history,
            }
        )
        if previous is not None and previous.get("model") != f"{name}.keras":
            for f in (previous.get("model"), previous.get("optimizer")):
                if f:
                    (ckpt / f).unlink(missing_ok=True)
        log(
            f"epoch {epoch + 1}/{cfg.epochs}: loss {row['loss']:.4f}, train top-1 {row['top1']:.2f} %"
            + (f", val top-1 {row['val_top1']:.2f} %" if "val_top1" in row else "")
            + f", lr {row['lr']:.5f}, {row['seconds']:.1f} s"
        )

    final_val = None
    if cfg.bn_images > 0:
        bn_ds = _dataset(
            tf,
            [p for p, _ in train_set.files],
            [l for _, l in train_set.files],
            len(classes),
            prep,
            min(cfg.batch, 200),
            training=True,
            shuffle_seed=cfg.seed + 1,
            deterministic=cfg.deterministic,
        )
        seen = reestimate_batchnorm(model, bn_ds, cfg.bn_images)
        log(f"batch-norm statistics re-estimated over {seen} training images")
    if val_ds is not None:
        final_val = 100.0 * float(_evaluate(model, val_ds)[1])
        log(f"final val top-1 {final_val:.2f} % (best epoch {best_epoch}: {best_top1:.2f} % before BN re-estimation)")
    out.parent.mkdir(parents=True, exist_ok=True)
    _save_clean(tf, model, out)
    write_sidecar(
        out,
        prep,
        classes,
        trained={
            "data": str(Path(data).resolve()),
            "epochs": cfg.epochs,
            "val_top1": final_val,
            "best_epoch": best_epoch,
        },
    )
    log(f"wrote {out}")
    return TrainResult(out, classes, len(history), history, best_epoch, best_top1, final_val)


def reestimate_batchnorm(model, dataset, max_images: int) -> int:
    """Set every BatchNormalization's moving mean/variance to the average of
    its batch statistics over ``max_images`` images of ``dataset`` (batches
    of (x, y)), computed in training mode (dropout off): batch k is blended
    in with weight 1/k (momentum (k-1)/k), which is an equal-weight average.
    Returns the number of images used."""
    tf = _tf()
    layers = all_layers(model)
    bns = [l for l in layers if isinstance(l, tf.keras.layers.BatchNormalization)]
    drops = [(l, l.rate) for l in layers if isinstance(l, tf.keras.layers.Dropout)]
    saved = [bn.momentum for bn in bns]
    for l, _ in drops:
        l.rate = 0.0
    seen = k = 0
    try:
        for x, _ in dataset:
            if seen >= max_images:
                break
            x = x[: max_images - seen]
            k += 1
            for bn in bns:
                bn.momentum = (k - 1) / k
            model(x, training=True)
            seen += int(x.shape[0])
    finally:
        for bn, m in zip(bns, saved):
            bn.momentum = m
        for l, r in drops:
            l.rate = r
    return seen
