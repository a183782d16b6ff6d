"""Cortex-M4 / Cortex-M7 int8 kernels: guest instructions per MAC, before and after.

For each kernel class of issue 11 this prints the guest instructions per
multiply-accumulate of the ops alone on both emulated cores (stm32f469 =
Cortex-M4F, stm32f746 = Cortex-M7), measured with `tinyops emulate`'s
instruction counts (the project's QEMU TCG plugin counts every executed guest
instruction), for two builds of the firmware in the same run:

  before  the firmware sources of a base commit (--base, default below): a
          detached git worktree of the base commit with this checkout's QEMU
          plugin (ports/common/qemu_plugin: both builds run under the same
          cycle model) is the firmware source tree (TINYOPS_SOURCE_DIR), with
          its own firmware cache. (HEAD with the base's csrc/kernels served
          until the runtime reached the kernels through op descriptors; the
          old kernels no longer link against it. The base's runtime and
          ports differ from HEAD's in bookkeeping outside the kernels' loops.)
  after   this checkout.

Both builds run the plans this checkout's host engine makes; ops run alone
from an unpartitioned plan (no DMA in their counts). The classes:

  * from the paper model mbv3-w1.00-r160 (tinyops_tflm.validation.zoo, the TinyOps
    paper's MbV3 at width 1.0, 160x160): every 1x1 convolution over more
    than one pixel (all have >= 16 input channels), depthwise 3x3 at stride
    1 and 2, and the 3x3 stride-2 stem on 3 input channels;
  * single-op models with the quantization of such layers (input zero point
    -128, per-channel weights, ReLU6): FULLY_CONNECTED 1280 -> 1000 and
    960 -> 1280, depthwise 5x5 and 7x7 at strides 1 and 2;
  * the whole paper model, once with each op alone (unpartitioned plan) and
    once with the default plan of the board (partitioned: the emulated
    DMA's copies, CPU copies in QEMU, are left out of the counts, as a
    board's DMA engine does them).

With the emulator's cycle model (emulate(..., cycles=True), the QEMU cycle
model of tinyops_tflm.planning.board_timing), modelled cycles per MAC of each op in the
board's default plan are printed as well, and the whole model's modelled
latency, and where those cycles go: each class's share of the paper model's
modelled cycles on each board (the ops no class covers -- ADD, MEAN, ... --
as "other ops"), which says which kernel a further speed-up has to come
from. Targets are those of issue 11. Needs the Arm toolchain and QEMU (see
README); takes several minutes.

    python benchmarks/cortex_m_kernels.py [--base REF] [--detail]
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The main commit just before the issue-11 Arm kernels landed.
DEFAULT_BASE = "3ae4936"
BOARDS = [("stm32f469", "cortex-m4"), ("stm32f746", "cortex-m7")]
PAPER_MODEL = "mbv3-w1.00-r160"
TARGETS = {
    "1x1 conv, K >= 16": 1.15,
    "FULLY_CONNECTED": 1.25,
    "depthwise 3x3 s1": 3.0,
    "depthwise 3x3 s2": 3.0,
    "depthwise 5x5 / 7x7": 3.0,
    "3x3 s2 conv, 3 input channels": 2.2,
    f"whole {PAPER_MODEL}, ops alone": 1.5,
    f"whole {PAPER_MODEL}, default plan": 1.5,
}


@dataclass
class Count:
    instructions: int = 0
    cycles: int | None = None
    macs: int = 0
    layers: list = field(default_factory=list)  # (name, instructions, cycles, macs)

    def add(self, name, instructions, cycles, macs):
        self.instructions += instructions
        if cycles is not None:
            self.cycles = (self.cycles or 0) + cycles
        self.macs += macs
        self.layers.append((name, instructions, cycles, macs))


def _class_of(graph, op) -> str | None:
    t = graph.tensors
    if op.name == "CONV_2D":
        w = t[op.inputs[1]].shape
        x = t[op.inputs[0]].shape
        if w[1] == 1 and w[2] == 1:
            return "1x1 conv, K >= 16" if x[1] * x[2] > 1 and w[3] >= 16 else "1x1 conv, 1 pixel"
        if w[3] == 3 and w[1] == 3 and op.options.get("stride_w") == 2:
            return "3x3 s2 conv, 3 input channels"
        return "other conv"
    if op.name == "DEPTHWISE_CONV_2D":
        w = t[op.inputs[1]].shape
        s = op.options.get("stride_w")
        if w[1] == 3:
            return f"depthwise 3x3 s{s}"
        return "depthwise 5x5 / 7x7"
    if op.name == "FULLY_CONNECTED":
        return "FULLY_CONNECTED"
    return None


def _synthetic_ops() -> list[bytes]:
    from tinyops_tflm.testing import single_op as so

    rng = np.random.default_rng(11)
    q = dict(per_channel=True, bias=True, in_scale=0.05, in_zp=-128)
    models = [
        so.fully_connected(rng, input_shape=(1, 1280), units=1000, activation="NONE", out_zp=0, **q)[0],
        so.fully_connected(rng, input_shape=(1, 960), units=1280, activation="RELU6", out_zp=-128, **q)[0],
    ]
    for k, s, shape in [
        (5, 1, (1, 20, 20, 120)),
        (5, 2, (1, 40, 40, 72)),
        (7, 1, (1, 20, 20, 96)),
        (7, 2, (1, 40, 40, 48)),
    ]:
        models.append(
            so.depthwise_conv2d(
                rng,
                input_shape=shape,
                depth_multiplier=1,
                kernel=k,
                stride=s,
                dilation=1,
                padding="SAME",
                activation="RELU6",
                out_zp=-128,
                **q,
            )[0]
        )
    return models


def _emulate(data: bytes, board: str, partitioned: bool, cycles: bool):
    from tinyops_tflm.firmware.emulate import emulate

    kw = {"cycles": True} if cycles else {}
    return emulate(data, board, partitioned=partitioned, **kw)


def _op_cycles(o):
    return getattr(o, "cycles", None)


OTHER_OPS = "other ops"


def measure(board: str, cycles: bool) -> tuple[dict[str, Count], dict[str, int]]:
    """Counts per class on `board` with the firmware sources in effect:
    instructions of each op alone (the paper model's unpartitioned plan: no
    DMA), and, with the cycle model, modelled cycles of each op in the
    board's default plan (weights streamed as the board would; DMA the CPU
    waits for included). Also returns the paper model's modelled cycles
    in the default plan by class (empty without the cycle model)."""
    from tinyops_tflm.frontend.metrics import op_macs
    from tinyops_tflm.frontend.reader import read_model
    from tinyops_tflm.testing.merge import merge_models
    from tinyops_tflm.validation import zoo

    counts: dict[str, Count] = {}
    shares: dict[str, int] = {}
    model = zoo.cached(PAPER_MODEL)
    synthetic = merge_models(_synthetic_ops())
    whole_alone = f"whole {PAPER_MODEL}, ops alone"
    whole_plan = f"whole {PAPER_MODEL}, default plan"
    for data, whole in ((model, True), (synthetic, False)):
        graph = read_model(data)
        alone = _emulate(data, board, partitioned=False, cycles=False)
        if alone.invoke_instructions is None:
            raise SystemExit("no instruction counts: the QEMU plugin needs a host C compiler")
        planned = _emulate(data, board, partitioned=True, cycles=True) if cycles else None
        for i, op in enumerate(graph.operators):
            cls = _class_of(graph, op)
            cyc = _op_cycles(planned.ops[i]) if planned is not None else None
            if whole and cyc is not None:
                shares[cls or OTHER_OPS] = shares.get(cls or OTHER_OPS, 0) + cyc
            if cls is None:
                continue
            counts.setdefault(cls, Count()).add(f"op {i} {op.name}", alone.ops[i].instructions, cyc, op_macs(graph, op))
        if whole:
            macs = sum(op_macs(graph, op) for op in graph.operators)
            counts.setdefault(whole_alone, Count()).add("invoke", alone.invoke_instructions, None, macs)
            if planned is None:
                planned = _emulate(data, board, partitioned=True, cycles=False)
            counts.setdefault(whole_plan, Count()).add(
                "invoke", planned.invoke_instructions, getattr(planned, "invoke_cycles", None), macs
            )
    return counts, shares


def _shares_line(shares: dict[str, int]) -> str:
    total = sum(shares.values())
    parts = sorted(shares.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{cls} {100 * c / total:.1f} %" for cls, c in parts) if total else "-"


@contextlib.contextmanager
def _base_tree(ref: str):
    """`ref` with HEAD's QEMU plugin, as a detached worktree (removed afterwards)."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True)
    if sha.returncode != 0:
        raise SystemExit(f"--base {ref}: not a commit of {ROOT} ({sha.stderr.strip()})")
    tmp = Path(tempfile.mkdtemp(prefix="tinyops-base-"))
    path = tmp / "src"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), ref], check=True)
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()
        subprocess.run(["git", "-C", str(path), "checkout", "-q", head, "--", "ports/common/qemu_plugin"], check=True)
        yield path, sha.stdout.strip()
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _pair(before: Count | None, after: Count | None, value) -> str:
    def one(c):
        if c is None or not c.macs or value(c) is None:
            return f"{'-':>6}"
        return f"{value(c) / c.macs:6.3f}"

    return f"{one(before)} -> {one(after)}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default=DEFAULT_BASE, help="commit of the 'before' kernels")
    ap.add_argument("--detail", action="store_true", help="also print every layer")
    args = ap.parse_args()

    from tinyops_tflm.firmware.emulate import cache_dir, emulate
    from tinyops_tflm.testing.environ import environ

    cycles = "cycles" in inspect.signature(emulate).parameters
    after_cache = cache_dir()
    results: dict[str, dict[str, dict[str, Count]]] = {"before": {}, "after": {}}
    shares: dict[str, dict[str, int]] = {}
    with _base_tree(args.base) as (base_src, base_sha):
        for board, core in BOARDS:
            with environ(TINYOPS_SOURCE_DIR=str(base_src), TINYOPS_FW_CACHE=str(base_src.parent / "fw-cache")):
                results["before"][board], _ = measure(board, cycles)
            with environ(TINYOPS_SOURCE_DIR=str(ROOT), TINYOPS_FW_CACHE=str(after_cache)):
                results["after"][board], shares[board] = measure(board, cycles)

    print(
        "Cortex-M int8 kernels: guest instructions per MAC of each op alone (`tinyops emulate`,"
        " QEMU instruction counts, unpartitioned plan)"
        + (
            ", and modelled cycles per MAC of the op in the board's default plan (QEMU cycle"
            " model, tinyops_tflm.planning.board_timing)"
            if cycles
            else ""
        )
        + f"; before = {args.base} ({base_sha}), after = this checkout"
    )
    what = "instr/MAC" + (" | cycles/MAC" if cycles else "")
    cols = "".join(f" | {board} ({core}): {what} before -> after" for board, core in BOARDS)
    print(f"{'class':<40}{'MACs':>9}{cols} | target (instructions/MAC)")
    classes = list(TARGETS) + sorted({k for b in results["after"].values() for k in b} - set(TARGETS))
    for cls in classes:
        macs = next((b[cls].macs for b in results["after"].values() if cls in b), 0)
        line = f"{cls:<40}{macs / 1e6:>8.2f}M"
        for board, _ in BOARDS:
            before = results["before"][board].get(cls)
            after = results["after"][board].get(cls)
            line += " | " + _pair(before, after, lambda c: c.instructions)
            if cycles:
                line += " | " + _pair(before, after, lambda c: c.cycles)
        target = TARGETS.get(cls)
        if target is not None:
            ok = all(
                results["after"][b].get(cls)
                and results["after"][b][cls].instructions / results["after"][b][cls].macs <= target
                for b, _ in BOARDS
            )
            line += f" | <= {target} {'met' if ok else 'NOT met'}"
        print(line)
    if cycles:
        plan = f"whole {PAPER_MODEL}, default plan"
        for board, core in BOARDS:
            from tinyops_tflm.planning.boards import get_board

            hz = get_board(board).clock_hz
            for tag in ("before", "after"):
                c = results[tag][board].get(plan)
                if c is not None and c.cycles is not None and hz:
                    print(
                        f"{board} ({core}) {tag}: {PAPER_MODEL} default plan, modelled"
                        f" {c.cycles:,} cycles = {1e3 * c.cycles / hz:.0f} ms at"
                        f" {hz / 1e6:.0f} MHz"
                    )
        print(f"Where the modelled cycles of {PAPER_MODEL}'s default plan go (after):")
        for board, core in BOARDS:
            print(f"  {board} ({core}): {_shares_line(shares[board])}")
    if args.detail:
        for board, core in BOARDS:
            print(f"\n{board} ({core}), per layer: instructions/MAC before -> after")
            for cls in classes:
                after = results["after"][board].get(cls)
                before = results["before"][board].get(cls)
                if not after:
                    continue
                for k, (name, ins, _cyc, macs) in enumerate(after.layers):
                    b = before.layers[k][1] / macs if before and macs else float("nan")
                    print(f"  {cls:<34} {name:<24} {macs:>11,} MACs  {b:6.3f} -> {ins / macs:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
