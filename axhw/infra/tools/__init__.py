"""External tools, each wrapped once: Yosys (pyosys) in yosys.py, OpenSTA in opensta.py."""

from __future__ import annotations

import ctypes
import signal

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn for tool subprocesses (and set-up of sweep workers): Linux kills the child when
    axhw dies (Ctrl-C, kill, timeout), so no Yosys/OpenSTA run or worker is left behind
    computing for nobody."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux/glibc: best effort
        pass
