"""Worker pools and Dask clients shared by the sweep and the DSE evaluations."""

from __future__ import annotations

import os
import signal

from .errors import AxhwError
from .tools import die_with_parent

__all__ = ["DASK_CONNECT_TIMEOUT", "dask_client", "pool_worker_init"]

DASK_CONNECT_TIMEOUT = "10s"


def pool_worker_init(parent: int) -> None:
    """Process-pool worker set-up: die with the parent (even after kill -9 of the parent alone,
    which would otherwise leave the worker running under init); Ctrl-C is the parent's to
    handle. The runner spawns workers with SIGINT and SIGTERM blocked (a signal during start-up
    stays pending): SIGINT is ignored first, then both are unblocked, so a pending Ctrl-C is
    dropped and a pending SIGTERM ends the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def dask_client(address):
    """A connected dask.distributed Client, or a one-line AxhwError (missing package, unreachable
    scheduler). An API caller may pass a Cluster object instead of an address."""
    try:
        from distributed import Client  # noqa: PLC0415
    except ImportError:
        raise AxhwError("--dask-scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    if not isinstance(address, str):
        return Client(address)
    try:
        return Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AxhwError(f"cannot reach Dask scheduler {address}: {reason}") from None
