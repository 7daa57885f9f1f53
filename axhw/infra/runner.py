"""One way to run many independent tasks, used by `axhw sweep` (points) and `axhw dse` (evaluations).

- serially in this process, on a local process pool (spawned workers that die with the parent and
  ignore Ctrl-C, which is the parent's to handle), or on a Dask cluster;
- at most a few tasks in flight per worker, so memory stays flat however many tasks stream in;
- a tqdm progress bar (stderr, off when it is not a terminal);
- Ctrl-C and SIGTERM stop the workers and end the command with one line,
  ``interrupted; <how far>, re-run to resume``, and exit status 128 + signal (130 / 143).

Resume is the callers' content-hash cache (:mod:`axhw.infra.cache`): a finished task's result is stored
as soon as it arrives, so a re-run after Ctrl-C, SIGTERM or kill -9 recomputes nothing finished.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing import resource_tracker
from typing import Any

from .errors import AxhwError
from .parallel import dask_client, pool_worker_init

__all__ = ["Interrupted", "Runner", "Terminated", "interruptible"]

POOL_WINDOW = 2  # tasks in flight per local worker
DASK_WINDOW = 4  # tasks in flight per Dask worker thread


class Interrupted(AxhwError):
    """Ctrl-C or SIGTERM: finished work is cached, so running the command again resumes it. The
    CLI prints it as ``axhw: interrupted; ...`` (not an error) with exit status 128 + signal."""

    def __init__(self, done: str, signum: int):
        super().__init__(f"interrupted; {done}, re-run to resume")
        self.exit_code = 128 + signum


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that a run stops like on Ctrl-C (a BaseException,
    like KeyboardInterrupt, so that no task's error handling swallows it)."""


@contextlib.contextmanager
def interruptible(done: Callable[[], str]) -> Iterator[None]:
    """For the block, SIGTERM raises :class:`Terminated`; Ctrl-C or SIGTERM leave the block as
    :class:`Interrupted` saying ``done()`` (how far the work got). `finally` clauses inside run, so
    temporary files are removed on SIGTERM as on Ctrl-C. Outside the main thread (where Python
    cannot set handlers) the block runs as it is."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except (KeyboardInterrupt, Terminated) as exc:
        signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        raise Interrupted(done(), signum) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum, frame):
    raise Terminated


DEFERRED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back (not lose them) while workers are spawned.

    A worker inherits the blocked mask, ignores SIGINT and then unblocks both
    (:func:`axhw.infra.parallel.pool_worker_init`), so a Ctrl-C that reaches the process group while a
    worker starts up cannot kill it half-way (a traceback; a pending SIGTERM still ends it). The
    parent's own signals are recorded and acted on when the block ends, not in the middle of a
    spawn (which would leave the child reading a half-written start-up pipe: EOFError and a
    traceback). Both are needed: the mask alone is not enough, as multiprocessing unblocks
    SIGINT itself when it starts its resource tracker, and another thread may take a signal."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
                for sig in DEFERRED}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # pending signals land in `caught`
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for sig in dict.fromkeys(caught):
            handler = previous[sig]
            if callable(handler):
                handler(sig, None)  # default_int_handler, _raise_terminated: raise here
            elif handler in (signal.SIG_DFL, None):
                os.kill(os.getpid(), sig)  # the default action, now that it is unblocked


@dataclass
class Runner:
    """Where tasks run: `dask_scheduler` (an address, or a Cluster object from the API), else
    `jobs` local processes (1: here). Use it as a context manager: entering connects to Dask
    (an unreachable scheduler is a one-line error before any work); leaving closes what it
    opened."""

    jobs: int = 1
    dask_scheduler: Any = None
    progress: bool = True
    unit: str = "task"
    _client: Any = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.jobs < 1:
            raise AxhwError(f"--jobs {self.jobs}: must be at least 1")

    def __enter__(self) -> Runner:
        if self.dask_scheduler is not None:
            self._client = dask_client(self.dask_scheduler)
        return self

    def __exit__(self, *exc) -> None:
        if self._client is not None and isinstance(self.dask_scheduler, str):
            self._client.close()
        self._client = None

    def parallel(self, total: int | None) -> bool:
        """Whether `total` tasks leave this process (a Dask cluster, or a pool of >1 workers)."""
        return self.dask_scheduler is not None or (self.jobs > 1 and (total is None or total > 1))

    def run(self, fn: Callable[[Any], Any], items: Iterable, on_result: Callable[[Any, Any], None],
            *, total: int | None = None, desc: str | None = None,
            here: Callable[[Any], bool] | None = None,
            postfix: Callable[[], dict] | None = None) -> None:
        """``on_result(item, fn(item))`` for every item, in completion order. `fn` must pickle
        when the run is parallel; items for which ``here(item)`` is true run in this process
        (work that needs no worker). Ctrl-C / SIGTERM (see :func:`interruptible`) stop the
        workers and propagate."""
        if self.dask_scheduler is not None and self._client is None:
            raise RuntimeError("Runner.run on a Dask scheduler needs `with Runner(...)`")
        bar = None
        if self.progress and desc is not None:
            from tqdm import tqdm  # noqa: PLC0415

            bar = tqdm(total=total, desc=desc, unit=self.unit, dynamic_ncols=True, disable=None)

        def collect(item, result) -> None:
            on_result(item, result)
            if bar is not None:
                if postfix is not None:
                    bar.set_postfix(**postfix())
                bar.update(1)

        try:
            if self._client is not None:
                from distributed import wait  # noqa: PLC0415 - importable: dask_client checked

                window = DASK_WINDOW * max(1, sum(self._client.nthreads().values()))
                self._bounded(items, fn, here, collect, window, wait,
                              lambda item: self._client.submit(fn, item, pure=False))
            elif not self.parallel(total):
                for item in items:
                    collect(item, fn(item))
            else:
                self._run_pool(fn, items, here, collect)
        finally:
            if bar is not None:
                bar.close()

    def _run_pool(self, fn, items, here, collect) -> None:
        before = set(multiprocessing.active_children())
        # Started here, not by the first spawn (which unblocks SIGINT / SIGTERM to start it).
        resource_tracker.ensure_running()
        pool = cf.ProcessPoolExecutor(max_workers=self.jobs, initializer=pool_worker_init,
                                      initargs=(os.getpid(),),
                                      mp_context=multiprocessing.get_context("spawn"))

        def submit(item):
            with _signals_deferred():  # workers may be spawned here
                return pool.submit(fn, item)

        try:
            self._bounded(items, fn, here, collect, POOL_WINDOW * self.jobs, cf.wait, submit)
        except BaseException:
            # Workers ignore SIGINT and would finish their task first: stop them now (their
            # tasks are redone by the next run), and only them.
            workers = set(multiprocessing.active_children()) - before
            for child in workers:
                child.kill()
            for child in workers:
                child.join(5)  # reaped: no zombie left to an API caller
            # Waiting lets the executor's own thread see its broken pool and reap every process it
            # started, also one this snapshot missed (seen once in 13 runs under load).
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()

    @staticmethod
    def _bounded(items, fn, here, collect, window: int, wait, submit) -> None:
        """Submit items as results come back, at most `window` in flight."""
        pending: dict = {}

        def drain():
            done, _ = wait(list(pending), return_when=cf.FIRST_COMPLETED)
            for fut in done:
                collect(pending.pop(fut), fut.result())

        for item in items:
            if here is not None and here(item):
                collect(item, fn(item))
                continue
            while len(pending) >= window:
                drain()
            pending[submit(item)] = item
        while pending:
            drain()
