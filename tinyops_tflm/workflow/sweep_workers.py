"""Where the sweep's tasks run: local worker processes (spawned) or Ray
tasks. A task is one model and its pending (board, schedule) jobs; each
finished task's records go to the caller's ``on_result``."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

from ..errors import MissingDependencyError
from .candidate_cost import _error_record, evaluate_model
from .candidates import ModelSpec


def _task(payload: dict) -> list[dict]:
    """One unit of work (a model and its pending candidates); module level so
    worker processes and Ray can import it.  TensorFlow's converter writes
    notes straight to the process's stdout/stderr; a worker's are discarded
    (failures come back as records)."""
    import contextlib

    quiet = _silenced_fds() if payload.get("quiet") else contextlib.nullcontext()
    with quiet:
        return evaluate_model(payload["model"], [tuple(j) for j in payload["jobs"]], payload.get("cache_dir"))


class _silenced_fds:
    """File descriptors 1 and 2 sent to /dev/null, restored on exit."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = [os.dup(1), os.dup(2)]
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        return False


def _run_local(tasks: list[dict], workers: int, on_result: Callable[[dict, list[dict]], None]) -> None:
    """Worker processes (spawned: TensorFlow does not survive fork).  A task
    whose worker dies is retried once in a fresh pool, then recorded failed."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    todo, attempts = list(tasks), {id(t): 0 for t in tasks}
    while todo:
        broken: list[dict] = []
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx) as pool:
            futures = {pool.submit(_task, t): t for t in todo}
            for f in as_completed(futures):
                t = futures[f]
                try:
                    on_result(t, f.result())
                except BrokenProcessPool:
                    broken.append(t)
                except Exception as err:  # noqa: BLE001 - pickling errors and the like
                    on_result(t, _task_failed(t, err))
        todo = []
        for t in broken:
            attempts[id(t)] += 1
            if attempts[id(t)] >= 2:
                on_result(t, _task_failed(t, RuntimeError("worker process died (twice)")))
            else:
                todo.append(t)


def _task_failed(task: dict, err: BaseException) -> list[dict]:
    spec = ModelSpec(**task["model"])
    base = dict(spec.to_dict(), model=spec.name)
    return [_error_record(base, b, s, err, *w) for b, s, *w in task["jobs"]]


def _run_ray(
    tasks: list[dict], workers: int, address: str | None, on_result: Callable[[dict, list[dict]], None]
) -> None:
    """Ray tasks, one CPU each.  Joins the cluster at ``address`` (or the one
    this process is already connected to); without one, starts a private
    local instance with ``workers`` CPUs and stops it at the end."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("--backend ray needs Ray: pip install 'tinyops-tflm[distributed]'") from None
    import logging

    own = not ray.is_initialized()
    if own:
        kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        if address:
            ray.init(address=address, **kwargs)
        else:  # a small object store: tasks pass a few KB of JSON
            ray.init(address="local", num_cpus=workers, object_store_memory=100 * 2**20, **kwargs)
    try:
        remote = ray.remote(num_cpus=1, max_retries=1)(_task)
        pending = {remote.remote(t): t for t in tasks}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            t = pending.pop(done[0])
            try:
                res = ray.get(done[0])
            except Exception as err:  # noqa: BLE001 - a worker lost twice, etc.
                res = _task_failed(t, err)
            on_result(t, res)
    finally:
        if own:
            ray.shutdown()
