"""The model-pipeline subcommands of the `tinyops` CLI: build-net, train,
quantize, evaluate (architecture -> trained -> int8 -> accuracy)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .util import EXIT_MISMATCH, EXIT_OK, print_json


def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_net(
    arch: str,
    out: str | os.PathLike,
    width: float | None = None,
    resolution: int | None = None,
    classes: int | None = None,
    seed: int = 0,
):
    """Keras model of a zoo row, a bundled net config name or a net config
    JSON file, written to ``out`` (.keras) with its preprocessing sidecar."""
    _quiet_tf()
    from ..errors import NetConfigError
    from ..frontend import netbuild
    from ..validation import zoo
    from ..workflow.imagedata import Preprocessing, write_sidecar

    out = Path(out)
    if out.suffix != ".keras":
        raise NetConfigError(f"--out must end in .keras (got {str(out)!r})")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    zoo_names = set(zoo.list_models()) | set(zoo.paper_models()) | set(zoo.ALIASES)
    if arch in zoo_names:
        model = zoo.keras_model(arch, width, resolution, batch_size=None, num_classes=classes)
    else:
        if arch.endswith(".json") or os.path.sep in arch or Path(arch).is_file():
            config, name = netbuild.load_net_config(arch), Path(arch).stem
        else:
            try:
                config, name = netbuild.net_config(arch), arch
            except NetConfigError:
                raise NetConfigError(
                    f"{arch!r} is neither a zoo model ({', '.join(sorted(zoo_names))}), "
                    "a bundled net config nor a net config .json file"
                ) from None
        safe = "".join(c if c.isalnum() else "_" for c in name)
        model = netbuild.ofa_net(
            config, 1.0 if width is None else width, resolution, batch_size=None, name=safe, num_classes=classes
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    from ..workflow.train import save_model

    save_model(model, out)
    res = int(model.input_shape[1])
    write_sidecar(out, Preprocessing(resolution=res), None, architecture=arch, width=width)
    return model


def _say(args):
    """Progress lines: stdout, or stderr under --json (stdout is the JSON)."""
    stream = sys.stderr if getattr(args, "json", False) else sys.stdout
    return lambda line: print(line, file=stream, flush=True)


def cmd_build_net(args) -> int:
    model = build_net(args.arch, args.out, args.width, args.resolution, args.classes, args.seed)
    info = {
        "out": str(args.out),
        "name": model.name,
        "input_shape": list(model.input_shape),
        "classes": int(model.output_shape[-1]),
        "parameters": int(model.count_params()),
        "seed": args.seed,
    }
    if args.json:
        print_json({"ok": True, **info})
    else:
        print(
            f"wrote {args.out}: {model.name}, input {info['input_shape']}, {info['classes']} "
            f"classes, {info['parameters']} parameters (random initialisation, seed {args.seed})"
        )
    return EXIT_OK


def cmd_train(args) -> int:
    _quiet_tf()
    from ..workflow.train import TrainConfig, train

    cfg = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        lr_decay=args.lr_decay,
        wd=args.wd,
        batch=args.batch,
        nesterov=args.nesterov,
        label_smoothing=args.label_smoothing,
        warmup_epochs=args.warmup_epochs,
        min_scale=args.min_scale,
        bn_images=args.bn_images,
        seed=args.seed,
        deterministic=args.deterministic,
    )
    r = train(args.model, args.data, args.out, val=args.val, checkpoint=args.checkpoint, config=cfg, log=_say(args))
    if args.json:
        print_json(
            {
                "ok": True,
                "out": str(r.out),
                "classes": r.classes,
                "history": r.history,
                "best_epoch": r.best_epoch,
                "best_top1": r.best_top1,
                "final_val_top1": r.final_val_top1,
            }
        )
    return EXIT_OK


def cmd_quantize(args) -> int:
    _quiet_tf()
    from ..workflow.quantize import quantize

    r = quantize(args.model, args.calibration, args.out, num_samples=args.num_samples, seed=args.seed, log=_say(args))
    if args.json:
        print_json(
            {
                "ok": True,
                "out": str(r.out),
                "bytes": r.size,
                "calibration_images": r.calibration_images,
                "unreadable": r.unreadable,
            }
        )
    return EXIT_OK


def cmd_evaluate(args) -> int:
    _quiet_tf()
    from ..errors import TflmMismatchError
    from ..workflow.evaluate import evaluate

    if args.address is not None and args.backend != "ray":
        raise ValueError("--address needs --backend ray")
    try:
        result = evaluate(
            args.model,
            args.data,
            workers=args.workers,
            backend=args.backend,
            address=args.address,
            cache_dir=False if args.no_cache else args.cache,
            check_tflm=args.check_tflm,
            chunk=args.chunk,
            resolution=args.resolution,
        )
    except TflmMismatchError as err:  # results differ: exit 1, like validate
        print(f"tinyops: error: {err}", file=sys.stderr)
        if args.json:
            print_json(
                {
                    "ok": False,
                    "error": str(err),
                    "error_type": type(err).__name__,
                    "hint": None,
                    "exit_code": EXIT_MISMATCH,
                }
            )
        return EXIT_MISMATCH
    if args.json:
        print_json({"ok": True, **result.to_dict()})
    else:
        print(result.summary())
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("build-net", help="Keras model (random init) of a zoo row or an OFA/ProxylessNAS net config")
    b.add_argument(
        "arch",
        help="zoo model name (e.g. mbv3-w0.50-r112), bundled net config name "
        "(mbv3-w1.00-r224) or net config .json file",
    )
    b.add_argument("--width", type=float, default=None, help="width multiplier (OFA make_divisible 8)")
    b.add_argument("--resolution", type=int, default=None, help="input resolution")
    b.add_argument("--classes", type=int, default=None, help="classifier outputs (default: the config's)")
    b.add_argument("--seed", type=int, default=0, help="initialisation seed (0)")
    b.add_argument("--out", required=True, help="output .keras file")
    b.add_argument("--json", action="store_true", help="machine-readable output")
    b.set_defaults(func=cmd_build_net)

    t = sub.add_parser("train", help="train a .keras model on an image folder (one sub-folder per class)")
    t.add_argument("model", help=".keras model (e.g. from build-net)")
    t.add_argument("--data", required=True, help="training image folder")
    t.add_argument("--val", default=None, help="validation image folder (per-epoch top-1, best checkpoint)")
    t.add_argument("--epochs", type=int, default=150, help="(150)")
    t.add_argument("--lr", type=float, default=0.05, help="initial learning rate (0.05)")
    t.add_argument("--lr-decay", choices=("cos", "none"), default="cos", help="cosine to 0 (cos)")
    t.add_argument("--wd", type=float, default=4e-5, help="weight decay, not on BN/bias (4e-5)")
    t.add_argument("--batch", type=int, default=256, help="(256)")
    t.add_argument("--nesterov", action="store_true", help="Nesterov momentum (OFA's choice; off)")
    t.add_argument("--label-smoothing", type=float, default=0.0, help="e.g. 0.1 (0)")
    t.add_argument("--warmup-epochs", type=int, default=0, help="linear warm-up epochs (0)")
    t.add_argument("--min-scale", type=float, default=None, help="random-resized-crop minimum area fraction (0.08)")
    t.add_argument(
        "--bn-images", type=int, default=2000, help="training images for the final BN re-estimation (2000; 0 skips it)"
    )
    t.add_argument("--checkpoint", default=None, help="checkpoint folder, resumed if it exists (default: OUT.ckpt)")
    t.add_argument("--seed", type=int, default=0, help="(0)")
    t.add_argument(
        "--deterministic", action="store_true", help="one input-pipeline thread so a run repeats exactly (slower)"
    )
    t.add_argument("--out", required=True, help="trained .keras file")
    t.add_argument("--json", action="store_true", help="JSON summary on stdout (per-epoch lines go to stderr)")
    t.set_defaults(func=cmd_train)

    q = sub.add_parser("quantize", help="full-int8 post-training quantization of a .keras model")
    q.add_argument("model", help=".keras model")
    q.add_argument("--calibration", required=True, help="image folder for calibration")
    q.add_argument("--num-samples", type=int, default=500, help="calibration images (500)")
    q.add_argument("--seed", type=int, default=0, help="calibration image draw (0)")
    q.add_argument("--out", required=True, help="output .tflite (+ .tflite.json sidecar)")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=cmd_quantize)

    e = sub.add_parser("evaluate", help="top-1/top-5 of an int8 .tflite (on this engine) or a .keras model")
    e.add_argument("model", help="int8 .tflite or .keras")
    e.add_argument("--data", required=True, help="image folder (one sub-folder per class)")
    e.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: one per 256 images, at most one per CPU; 1 = in this process)",
    )
    e.add_argument("--backend", choices=("local", "ray"), default="local")
    e.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    e.add_argument(
        "--check-tflm",
        type=int,
        default=0,
        metavar="N",
        help="re-run N images in tflite-micro and require byte-equal outputs",
    )
    e.add_argument(
        "--resolution",
        type=int,
        default=None,
        help="input resolution when the model has no sidecar (default: the model's)",
    )
    e.add_argument("--cache", default=None, help="result cache folder (default: ~/.cache/tinyops_tflm/eval)")
    e.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    e.add_argument("--chunk", type=int, default=16, help="images per task (16)")
    e.add_argument(
        "--json", action="store_true", help='print JSON: {"ok", "top1": %%, "top5": %%, "images": n, "unreadable", ...}'
    )
    e.set_defaults(func=cmd_evaluate)
