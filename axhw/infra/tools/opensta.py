"""OpenSTA (Debian's ``sta``, 2.0.17): run a TCL script in batch mode, keep the log.

``run_tcl(script, log)`` writes the script beside the log, runs ``sta -no_init -no_splash -exit``
and returns the log text. OpenSTA reports many errors without a non-zero exit code, so any
``Error:`` line (or a non-zero exit, or a timeout) becomes a one-line ToolError naming the first
error and the kept log. User strings inside the script must be quoted with :func:`tcl_quote`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from . import die_with_parent
from ..errors import ToolError
from ..fileio import ensure_dir

__all__ = ["STA", "DEFAULT_TIMEOUT_S", "tcl_quote", "executable", "run_tcl", "version"]

STA = "sta"
DEFAULT_TIMEOUT_S = 600


def tcl_quote(value: Path | str) -> str:
    """A TCL word that stands for `value` literally (braces; reject what braces cannot hold)."""
    s = str(value)
    if any(c in s for c in "{}\\\n\r"):
        raise ToolError("opensta", f"unsupported character in {s!r}")
    return "{" + s + "}"


def executable() -> str:
    path = shutil.which(STA)
    if path is None:
        raise ToolError("opensta", "the `sta` executable (OpenSTA) is not on PATH "
                                   "(Debian: apt-get install opensta)")
    return path


def run_tcl(script: str, log: Path, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """Run a TCL script; return the log text."""
    log = Path(log)
    ensure_dir(log.parent)
    tcl = log.with_suffix(".tcl")
    tcl.write_text(script)
    try:
        with open(log, "w") as fh:
            proc = subprocess.run([executable(), "-no_init", "-no_splash", "-exit", str(tcl)],
                                  preexec_fn=die_with_parent, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=timeout, cwd=log.parent)
    except subprocess.TimeoutExpired:
        raise ToolError("opensta", f"timed out after {timeout:.0f} s", str(log)) from None
    except OSError as exc:
        raise ToolError("opensta", f"cannot start sta: {exc}", str(log)) from None
    text = log.read_text(errors="replace")
    errors = [line.strip() for line in text.splitlines() if line.startswith("Error")]
    if errors or proc.returncode != 0:
        raise ToolError("opensta", errors[0] if errors else f"exit code {proc.returncode}", str(log))
    return text


def version() -> str:
    try:
        out = subprocess.run([executable(), "-version"], capture_output=True, text=True,
                             timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired, ToolError):
        out = ""
    return f"OpenSTA {out}" if out else "OpenSTA unknown"
