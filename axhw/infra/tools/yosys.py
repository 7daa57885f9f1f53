"""Yosys, through the PyPI `pyosys` wheel (no system Yosys needed).

Every script runs in a child Python process (Yosys state is global; a crash or a hang must not
take axhw down): ``run_script(commands, log)`` writes the script, runs it with a timeout and turns
a failure into a one-line ToolError naming the first Yosys ERROR line and the kept log.
Paths inside commands must be quoted with :func:`quote`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from . import die_with_parent
from ..names import check_plain_path
from ..errors import ToolError
from ..fileio import cache_root, ensure_dir

__all__ = ["DEFAULT_TIMEOUT_S", "quote", "run_script", "version"]

DEFAULT_TIMEOUT_S = 600


def quote(path: Path | str) -> str:
    """A file name for a Yosys command line: plain paths only (Yosys splits commands at ';' and
    its ABC pass hands Liberty paths to ``sh -c``). User files are staged under names axhw
    chooses first (:func:`axhw.infra.tools.stage`); what is left is the run folder's own path."""
    plain = check_plain_path(path, "Yosys path")
    return f'"{plain}"'


def run_script(commands: list[str] | str, log: Path, timeout: float = DEFAULT_TIMEOUT_S) -> Path:
    """Run Yosys commands (a list, or a script text); the full log goes to `log`."""
    log = Path(log)
    ensure_dir(log.parent)
    text = commands if isinstance(commands, str) else "\n".join(commands) + "\n"
    script = log.with_suffix(".ys")
    script.write_text(text)
    code = ("import sys\nfrom pyosys import libyosys as ys\n"
            "ys.run_pass('script ' + sys.argv[1], ys.Design())\n")
    check_plain_path(script, "Yosys script path")
    try:
        with open(log, "w") as fh:
            proc = subprocess.run([sys.executable, "-c", code, str(script)], stdout=fh,
                                  stderr=subprocess.STDOUT, timeout=timeout,
                                  preexec_fn=die_with_parent, env=_child_env())
    except subprocess.TimeoutExpired:
        raise ToolError("yosys", f"timed out after {timeout:.0f} s", str(log)) from None
    except OSError as exc:
        raise ToolError("yosys", f"cannot start pyosys: {exc}", str(log)) from None
    if proc.returncode != 0:
        raise ToolError("yosys", first_error(log) or f"exit code {proc.returncode}", str(log))
    return log


def _child_env() -> dict[str, str]:
    """Yosys keeps a cache of parsed Liberty files (yosys-liberty-scl-cache-*) in $TMPDIR: it
    belongs in axhw's cache, not in /tmp."""
    return {**os.environ, "TMPDIR": str(ensure_dir(cache_root() / "yosys-tmp"))}


_ERROR = re.compile(r"^(?:(?P<loc>.+?):\s*)?ERROR:\s*(?P<msg>.*)$")


def first_error(log: Path) -> str:
    """The first ERROR line of a Yosys log ("file.v:3: " location kept), or an import failure."""
    try:
        for line in Path(log).read_text(errors="replace").splitlines():
            s = line.strip()
            m = _ERROR.match(s)
            if m:  # "ERROR: ...", "file.v:3: ERROR: ..." and "file.v:3: ERROR:..." (no space)
                return f"{m['loc']}: {m['msg']}" if m["loc"] else m["msg"]
            if "ModuleNotFoundError" in s or "ImportError" in s:
                return s
    except OSError:
        return ""
    return ""


def version() -> str:
    code = "from pyosys import libyosys as ys; print(ys.yosys_maybe_version())"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return out or "yosys (pyosys) unknown"
