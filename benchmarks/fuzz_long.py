#!/usr/bin/env python3
"""Long fuzz run of the model reader and the plan loader: >= 10,000 corrupted
models and plans, 0 crashes, 0 hangs, every rejection a TinyOpsError naming
what is wrong.

Each case is one seed of tests/fuzz_corpus/ (several model families and plan
cases) under one mutation (tinyops_tflm.testing.fuzz.MUTATIONS: bit flips,
byte writes, truncations, one or several located fields -- flatbuffer
offsets, vtables, tensor shapes, buffer indices, opcodes, plan records --
set to edge values), read, planned (every fourth model case for a board,
partitioned), loaded and run. Cases run in worker processes, one at a time
with a per-case timeout: a worker that dies is a crash, one that overruns a
hang; both are saved with their case number and the run goes on in a new
worker. Cases are numbered and reproducible (--seed; --case N reruns one).

    python benchmarks/fuzz_long.py [--cases 10000] [--workers 2] [--timeout 30]

Workers inherit the environment: with TINYOPS_CORE pointing at a sanitizer
build (tests/test_sanitizers.py makes one) and
LD_PRELOAD=$(g++ -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0,
a memory error or undefined behaviour ends a worker and counts as a crash.

Exit status 0 only when there was no crash, no hang and no finding.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import re
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, sys
import numpy as np
from tinyops_tflm.errors import TinyOpsError
from tinyops_tflm.testing import fuzz
seeds = fuzz.load_corpus(sys.argv[1])
run_seed = int(sys.argv[2])
out = sys.stdout
sys.stdout = sys.stderr  # only the protocol goes to the parent's pipe
for line in sys.stdin:
    case = int(line)
    name, data, kind, board = fuzz.long_case(seeds, run_seed, case)
    rng = np.random.default_rng([run_seed, case, 1])
    buf, label = fuzz.mutate(data, kind, rng)
    rec = {"case": case, "seed": name, "mutation": label, "board": board}
    try:
        rec["outcome"] = fuzz.run_input(buf, board)
    except fuzz.FuzzFinding as err:
        rec["outcome"], rec["finding"] = "finding", str(err)
    except TinyOpsError as err:
        rec["outcome"], rec["rejection"] = "rejected", fuzz.rejection_kind(err)
        rec["message"] = str(err)[:300]
    out.write(json.dumps(rec) + "\n")
    out.flush()
"""


def _template(message: str) -> str:
    """A rejection message without its particulars, to count kinds of message."""
    t = re.sub(r"'[^']*'|\"[^\"]*\"|b'[^']*'", "'…'", message)
    t = re.sub(r"\[[^\]]*\]", "[…]", t)
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "N", t)


class Worker:
    """One worker process; its stderr goes to a file (a pipe nobody reads could
    fill up and stall it)."""

    def __init__(self, corpus: Path, seed: int, env: dict[str, str]):
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(corpus), str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            env=env,
            cwd="/",
            bufsize=0,
        )
        self.case: int | None = None
        self.started = 0.0
        self.buf = b""

    def send(self, case: int) -> None:
        self.case, self.started = case, time.monotonic()
        self.proc.stdin.write(f"{case}\n".encode())

    def stop(self) -> str:
        """Kill it; the tail of what it wrote to stderr."""
        self.proc.kill()
        self.proc.wait()
        self.err.seek(0)
        return self.err.read().decode(errors="replace")[-1500:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per case before it counts as a hang")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", type=Path, default=ROOT / "tests" / "fuzz_corpus")
    ap.add_argument(
        "--save", type=Path, default=Path("fuzz_findings"), help="folder for the inputs of crashes, hangs and findings"
    )
    ap.add_argument("--messages", type=int, default=25, help="how many distinct rejection messages to list")
    ap.add_argument("--case", type=int, help="run this one case in this process and print its outcome")
    args = ap.parse_args(argv)

    if importlib.util.find_spec("tinyops_tflm") is None:  # not installed: the checkout's
        sys.path.insert(0, str(ROOT))
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    import numpy as np

    from tinyops_tflm.testing import fuzz

    seeds = fuzz.load_corpus(args.corpus)
    if args.case is not None:
        name, data, kind, board = fuzz.long_case(seeds, args.seed, args.case)
        buf, label = fuzz.mutate(data, kind, np.random.default_rng([args.seed, args.case, 1]))
        print(f"case {args.case}: {name}, {label}, board {board}")
        print(fuzz.run_input(buf, board))
        return 0

    env = dict(os.environ)  # workers import the package the way this script does
    workers = [Worker(args.corpus, args.seed, env) for _ in range(args.workers)]
    sel = selectors.DefaultSelector()
    for w in workers:
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)

    outcomes: collections.Counter[str] = collections.Counter()
    rejections: collections.Counter[str] = collections.Counter()
    by_mutation: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    by_seed: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    bad: list[str] = []
    examples: dict[str, str] = {}
    templates: collections.Counter[str] = collections.Counter()

    def save(kind: str, case: int, detail: str) -> None:
        name, data, mkind, board = fuzz.long_case(seeds, args.seed, case)
        buf, label = fuzz.mutate(data, mkind, np.random.default_rng([args.seed, case, 1]))
        args.save.mkdir(parents=True, exist_ok=True)
        (args.save / f"{kind}-{case}.bin").write_bytes(buf)
        bad.append(f"{kind} case {case} ({name}, {label}, board {board}): {detail}")
        outcomes[kind] += 1
        by_mutation[fuzz.field_family(label)][kind] += 1
        by_seed[name][kind] += 1

    next_case = 0
    done = 0
    t0 = time.monotonic()
    last_report = t0
    for w in workers:
        if next_case < args.cases:
            w.send(next_case)
            next_case += 1
    while done < args.cases:
        events = sel.select(timeout=1.0)
        now = time.monotonic()
        finished: list[Worker] = []
        for key, _ in events:
            w: Worker = key.data
            chunk = os.read(w.proc.stdout.fileno(), 65536)
            if not chunk:  # the worker died: the case in flight crashed it
                rc = w.proc.wait()
                save("crash", w.case, f"worker exit {rc}: {w.stop()}")
                finished.append(w)
                continue
            w.buf += chunk
            while b"\n" in w.buf and w.case is not None:
                line, w.buf = w.buf.split(b"\n", 1)
                rec = json.loads(line)
                kind = rec["outcome"]
                outcomes[kind] += 1
                by_mutation[fuzz.field_family(rec["mutation"])][kind] += 1
                by_seed[rec["seed"]][kind] += 1
                if kind == "rejected":
                    rejections[rec["rejection"]] += 1
                    examples.setdefault(rec["rejection"], rec["message"])
                    templates[_template(rec["message"])] += 1
                elif kind == "finding":
                    save("finding", rec["case"], rec["finding"])
                    outcomes["finding"] -= 1  # counted by save
                done += 1
                w.case = None
                if next_case < args.cases:
                    w.send(next_case)
                    next_case += 1
        for w in workers:
            if w.case is not None and w not in finished and now - w.started > args.timeout:
                save("hang", w.case, f"no answer after {args.timeout:.0f} s: {w.stop()[-300:]}")
                finished.append(w)
        for w in finished:
            done += 1
            sel.unregister(w.proc.stdout)
            workers.remove(w)
            nw = Worker(args.corpus, args.seed, env)
            sel.register(nw.proc.stdout, selectors.EVENT_READ, nw)
            workers.append(nw)
            if next_case < args.cases:
                nw.send(next_case)
                next_case += 1
        if now - last_report > 30:
            last_report = now
            print(f"  {done}/{args.cases} cases, {now - t0:.0f} s", flush=True)
    for w in workers:
        w.proc.stdin.close()
        w.proc.wait(timeout=30)
    elapsed = time.monotonic() - t0

    crashes, hangs, findings = outcomes["crash"], outcomes["hang"], outcomes["finding"]
    print(
        f"fuzz_long: {args.cases} cases from {len(seeds)} seeds ({args.corpus.name}), seed {args.seed}, "
        f"{args.workers} workers, {elapsed:.0f} s ({args.cases / elapsed:.0f} cases/s)"
    )
    print(f"outcomes: {dict(sorted(outcomes.items()))}")
    print(f"crashes: {crashes}  hangs: {hangs}  findings (not a TinyOpsError naming its field): {findings}")
    print("rejections by class and what the message names:")
    for k, v in rejections.most_common():
        print(f"  {v:6d}  {k:40s} e.g. {examples[k][:110]!r}")
    print(f"distinct rejection messages (numbers, names and quoted text elided): {len(templates)}; most common:")
    for k, v in templates.most_common(args.messages):
        print(f"  {v:6d}  {k[:150]}")
    print("by mutation:")
    for k in sorted(by_mutation, key=lambda k: -sum(by_mutation[k].values())):
        print(f"  {sum(by_mutation[k].values()):6d}  {k:45s} {dict(by_mutation[k])}")
    print("by seed:")
    for k in sorted(by_seed):
        print(f"  {sum(by_seed[k].values()):6d}  {k:35s} {dict(by_seed[k])}")
    for line in bad[:50]:
        print("  " + line[:1500])
    return 1 if crashes or hangs or findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
