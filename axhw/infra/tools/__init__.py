"""External tools, each wrapped once: Yosys (pyosys) in yosys.py, OpenSTA in opensta.py.

A tool never sees a user's path: :func:`stage` and :func:`stage_text` give each input file a
name axhw chooses (its content hash) in the tool's run folder (docs/security.md)."""

from __future__ import annotations

import ctypes
import os
import signal
from pathlib import Path

from ..errors import AxhwError
from ..fileio import sha256_file, sha256_text, write_text

__all__ = ["die_with_parent", "stage", "stage_text"]

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn for tool subprocesses (and set-up of sweep workers): Linux kills the child when
    axhw dies (Ctrl-C, kill, timeout), so no Yosys/OpenSTA run or worker is left behind
    computing for nobody."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux/glibc: best effort
        pass


def stage(source: Path, folder: Path, suffix: str, digest: str | None = None) -> Path:
    """The name under which a tool sees `source`: ``folder/<content hash><suffix>``, a symbolic
    link to it (a user's path may hold characters Yosys, ABC's shell or TCL would misread; the
    name axhw chooses holds none). `digest` (the file's SHA-256) saves hashing it again."""
    source = Path(source).absolute()
    target = Path(folder) / f"{(digest or sha256_file(source))[:16]}{suffix}"
    if not target.is_symlink():
        try:
            os.symlink(source, target)
        except FileExistsError:  # a parallel stager got there first: same content, same name
            pass
        except OSError as exc:
            raise AxhwError(f"cannot stage {source} in {folder}: {exc.strerror or exc}") from None
    return target


def stage_text(text: str, folder: Path, suffix: str) -> Path:
    """`text` written to ``folder/<content hash><suffix>`` (see :func:`stage`): a snapshot, so
    the tool reads exactly what axhw hashed."""
    target = Path(folder) / f"{sha256_text(text)[:16]}{suffix}"
    if not target.is_file():
        write_text(target, text)
    return target
