"""Cost of TinyOps partitioning on the host, for MobileNetV3-Large a1.0 r160.

Prints, measured in the same run:
  - host time of the partitioned run (SRAM budget, default 128K, synchronous
    and asynchronous DMA engines) against the unpartitioned run (target < 1.5x);
  - external-memory traffic per inference against the minimum, where the
    minimum moves every external weight byte once and every external
    activation byte once (written by its producer; reads by consumers cost
    extra and are counted in the traffic);
  - and that the partitioned output equals the unpartitioned one.

    python benchmarks/partition_overhead.py [--board stm32f746] [--sram-budget 128K]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import median_ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--board", default="stm32f746")
    ap.add_argument("--sram-budget", default="128K")
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()

    from tinyops_tflm import Interpreter
    from tinyops_tflm.frontend.reader import read_model
    from tinyops_tflm.planning.boards import QSPI, SDRAM, parse_size
    from tinyops_tflm.validation import zoo
    from tinyops_tflm.validation.compare import make_inputs

    graph = read_model(zoo.cached("mobilenet_v3_large_r160"))
    x = make_inputs(graph, 1, seed=0)[0]
    budget = parse_size(args.sram_budget)
    flat = Interpreter(graph)
    sync = Interpreter(graph, board=args.board, sram_budget=budget, dma="sync")
    asyn = Interpreter(graph, board=args.board, sram_budget=budget, dma="async")
    for it in (flat, sync, asyn):
        it.set_input(x[0], 0)
    t_flat = median_ms(flat.invoke, args.runs)
    t_sync = median_ms(sync.invoke, args.runs)
    t_async = median_ms(asyn.invoke, args.runs)
    exact = all(np.array_equal(flat.get_output(0), it.get_output(0)) for it in (sync, asyn))

    plan = sync.plan
    external = {SDRAM, QSPI}
    weights = sum(p.nbytes for p in plan.placements if p.constant and p.memory in external)
    acts = sum(p.nbytes for p in plan.placements if not p.constant and p.memory in external)
    stats = sync.stats["ops"]
    ext_read = sum(b for o in stats for m, b in o["dma_read_bytes"].items() if m in external)
    ext_write = sum(b for o in stats for m, b in o["dma_write_bytes"].items() if m in external)
    traffic = ext_read + ext_write
    minimum = weights + acts

    print(f"partitioning overhead, MobileNetV3-Large a1.0 r160 on {args.board}, SRAM budget {budget} B")
    print(f"  unpartitioned host run     {t_flat:8.2f} ms")
    print(f"  partitioned, sync DMA      {t_sync:8.2f} ms   {t_sync / t_flat:5.2f}x (target < 1.5x)")
    print(f"  partitioned, async DMA     {t_async:8.2f} ms   {t_async / t_flat:5.2f}x")
    print(f"  SRAM high-water {sync.stats['sram_high_water']} B of {budget} B budget")
    print(
        f"  external traffic {traffic} B (read {ext_read}, written {ext_write}); minimum {minimum} B "
        f"(external weights {weights} + external activations {acts}): {traffic / max(1, minimum):.2f}x"
    )
    print(f"  outputs {'equal' if exact else 'DIFFERENT'} to the unpartitioned run")
    return 0 if exact else 1


if __name__ == "__main__":
    raise SystemExit(main())
