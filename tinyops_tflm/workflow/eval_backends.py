"""Where evaluation chunks run: this process, local worker processes, or Ray.

Every backend takes the same chunks (lists of (path, bytes, read error)) and
yields each chunk's per-image results as they complete; results depend only
on the chunk's images, never on the backend, the worker or the order.  At
most ``2 x parallelism`` chunks are in flight, so the driver holds only that
many chunks' file bytes at once (ImageNet's validation set is 6.4 GB).

Local workers are *spawned* (not forked: the driver may have TensorFlow's
threads running).  Ray: ``address`` connects to a running cluster
(``ray start --head`` elsewhere; workers must have tinyops-tflm installed);
a Ray instance already initialised in this process is used as it is; else a
private local one is started with ``workers`` CPUs and shut down afterwards
(as ``tinyops explore --backend ray`` does).  The
model's bytes go to the object store once; each Ray worker process loads the
model on its first chunk and keeps it.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from typing import Callable, Iterable, Iterator

from ..errors import MissingDependencyError
from . import eval_runner

Chunk = list  # [(path, bytes | None, error | None)]


def run_inprocess(chunks: Iterable[Chunk], key: str, kind: str, model: bytes, prep: dict) -> Iterator[list[dict]]:
    runner = eval_runner.get_runner(key, kind, model, prep, worker=False)
    for chunk in chunks:
        yield runner.run(chunk)


def run_local(
    chunks: Iterable[Chunk], workers: int, key: str, kind: str, model: bytes, prep: dict
) -> Iterator[list[dict]]:
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=eval_runner.init_local_worker,
        initargs=(key, kind, model, prep),
    ) as pool:
        yield from _bounded(chunks, 2 * workers, lambda c: pool.submit(eval_runner.run_local_chunk, c), _wait_futures)


def _wait_futures(pending: set) -> tuple[list, set]:
    done, rest = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
    return [f.result() for f in done], set(rest)


def _bounded(chunks: Iterable[Chunk], limit: int, submit: Callable, wait: Callable) -> Iterator[list[dict]]:
    it = iter(chunks)
    pending: set = set()
    exhausted = False
    while True:
        while not exhausted and len(pending) < limit:
            try:
                pending.add(submit(next(it)))
            except StopIteration:
                exhausted = True
        if not pending:
            return
        done, pending = wait(pending)
        yield from done


def run_ray(
    chunks: Iterable[Chunk], workers: int | None, address: str | None, key: str, kind: str, model: bytes, prep: dict
) -> Iterator[list[dict]]:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("--backend ray needs Ray: pip install 'tinyops-tflm[distributed]'") from None
    import logging

    own = not ray.is_initialized()
    if own:
        kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        if address:
            ray.init(address=address, **kwargs)
        else:  # in flight: 2 chunks of encoded images per CPU and the model
            ray.init(address="local", num_cpus=workers, object_store_memory=256 * 2**20, **kwargs)
    try:
        remote = ray.remote(num_cpus=1)(eval_runner.run_ray_chunk)
        model_ref = ray.put(model)
        cpus = int(ray.cluster_resources().get("CPU", 1)) or 1

        def wait(pending: set):
            done, rest = ray.wait(list(pending), num_returns=1)
            return ray.get(done), set(rest)

        yield from _bounded(chunks, 2 * cpus, lambda c: remote.remote(key, kind, model_ref, prep, c), wait)
    finally:
        if own:
            ray.shutdown()
