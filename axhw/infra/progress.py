"""Progress of long stages as lines on stderr, never stdout (ASAP7 characterization takes ~25 s).

The CLI turns it on when stderr is a terminal or with ``axhw -v``; library code calls
``step("what starts now")`` and stays silent otherwise (Python API, tests, sweep workers)."""

from __future__ import annotations

import logging
import sys
import time

__all__ = ["enable", "step"]

_log = logging.getLogger("axhw.infra.progress")
_log.propagate = False  # its own format and switch, independent of the tool-log level
_t0 = time.perf_counter()


def enable(on: bool = True) -> None:
    global _t0
    _log.handlers.clear()
    if on:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("axhw: %(message)s"))
        _log.addHandler(handler)
        _t0 = time.perf_counter()
    _log.setLevel(logging.INFO if on else logging.WARNING)


def step(message: str) -> None:
    """One line, "axhw: [elapsed s] message", if progress is on."""
    if _log.isEnabledFor(logging.INFO):
        _log.info("[%5.1f s] %s", time.perf_counter() - _t0, message)


enable(False)
