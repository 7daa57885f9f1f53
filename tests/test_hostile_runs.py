"""Runs treated as a hostile or careless user would (issue 21): signals at the worst moment, kill -9,
two runs into one OUTDIR, an OUTDIR holding someone else's files, an odd umask, an absurd budget.

One row per case. Every row checks the exit status, stderr (one `axhw: ` line matching the row's
pattern, no traceback; nothing on success), that no scratch file is left beside OUTDIR, and that
the row's canary files are untouched. A fault row starts the command like a foreground job (Ctrl-C
not ignored, in its own process group), waits for a moment that the row names, then acts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from conftest import AXHW, ROOT

LIB = ROOT / "tests" / "fixtures" / "dse_library" / "results.csv"
# A DSE search that is quick with a warm cache: two random evaluations, no Icarus run.
DSE = ["dse", "search", "--task", "builtin:digits-mlp", "--library", LIB, "--pdk", "nangate45",
       "--widths", "8", "--budget", "0.3", "--method", "random", "--evals", "2", "--no-verify"]
# A sweep that keeps a worker busy for a while (Yosys + OpenSTA per point; own cold cache).
SWEEP = ["sweep", "--type", "perforated", "--bits", "6", "--grid", "start=0..4", "--grid",
         "count=1..2", "--verify", "off"]
# Ctrl-C must not be ignored (a background job of a non-interactive shell inherits SIG_IGN).
FOREGROUND = [sys.executable, "-c", "import os, signal, sys; "
              "signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"]
SCRATCH = (".out.tmp-*", ".out.old-*", "out/.*.tmp")
RESUME = r"axhw: interrupted; .* re-run to resume"
TIMEOUT = 300


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def foreign_files(out: Path) -> None:
    """What the issue found deleted: an assignment.json beside a user's own file."""
    out.mkdir()
    (out / "assignment.json").write_text("{}")
    (out / "thesis.tex").write_text("my thesis")


def changed_output(out: Path) -> None:
    """An earlier output whose assignment.json the user edited since."""
    out.mkdir()
    (out / "assignment.json").write_text('{"hand": "tuned"}')
    (out / "manifest.json").write_text(json.dumps({"files": {"assignment.json": _sha("{}")}}))


def earlier_output(out: Path) -> None:
    """An earlier search's output (per its manifest): replaced as a whole."""
    out.mkdir()
    (out / "stale.csv").write_text("old")
    (out / "manifest.json").write_text(json.dumps({"files": {"stale.csv": _sha("old")}}))


@dataclass
class Case:
    id: str
    argv: list
    exit: int
    line: str | None = None  # regex the one stderr line starts with (None: success, no line)
    setup: object = None  # fn(out) preparing OUTDIR
    canary: tuple = ()  # files under tmp_path that must keep their content
    wait_for: str | None = None  # "tmp": the output phase's scratch dir exists; "worker": a pool
    # worker process runs; "locked": the run holds OUTDIR's lock
    fault: object = None  # a signal to the process group, or "concurrent": the same command again
    # while the first run, frozen (SIGSTOP) at its moment, holds OUTDIR
    umask: int | None = None
    out_exists: bool | None = None  # whether OUTDIR exists afterwards (None: not checked)
    check: object = None  # fn(out) with more assertions
    own_cache: bool = False  # a cold cache of its own (tools really run)
    rerun: bool = False  # after the fault, run the command again; it must succeed and clean up


def _umask_modes(out: Path) -> None:
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files and {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode)
                      for p in files} == {p.relative_to(out).as_posix(): 0o640 for p in files}
    assert stat.S_IMODE((out / "hardware").stat().st_mode) == 0o750


def _listed_in_manifest(out: Path) -> None:
    listed = json.loads((out / "manifest.json").read_text())["files"]
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert set(listed) | {"manifest.json"} == on_disk


CASES = [
    Case("dse-foreign-files-kept", [*DSE, "-o", "{out}"], 2,
         r"axhw: error: -o .*out: .*not an earlier search's output", setup=foreign_files,
         canary=("out/thesis.tex", "out/assignment.json")),
    Case("dse-changed-output-kept", [*DSE, "-o", "{out}"], 2,
         r"axhw: error: -o .*out: assignment\.json: changed since axhw wrote it",
         setup=changed_output, canary=("out/assignment.json",)),
    Case("dse-evals-absurd", ["dse", "search", "--task", "builtin:digits-mlp", "--library", LIB,
                              "--pdk", "nangate45", "--method", "random", "--evals",
                              "1000000000000", "-o", "{out}"], 2,
         r"axhw: error: --evals 1,000,000,000,000: over the limit of 100,000 evaluations",
         out_exists=False),
    Case("dse-umask-027", [*DSE, "-o", "{out}"], 0, umask=0o027,
         check=lambda out: (_umask_modes(out), _listed_in_manifest(out))),
    Case("dse-sigterm-in-output-phase", [*DSE, "-o", "{out}"], 143, RESUME, wait_for="tmp",
         fault=signal.SIGTERM, out_exists=False),
    Case("dse-ctrl-c-in-output-phase", [*DSE, "-o", "{out}"], 130, RESUME, wait_for="tmp",
         fault=signal.SIGINT, out_exists=False),
    Case("dse-kill-9-in-output-phase-then-rerun-replaces-own-output", [*DSE, "-o", "{out}"], 0,
         setup=earlier_output, wait_for="tmp", fault=signal.SIGKILL, rerun=True,
         check=lambda out: (_listed_in_manifest(out), not (out / "stale.csv").exists() or
                            pytest.fail("the earlier output's file was kept"))),
    Case("dse-concurrent-outdir", [*DSE, "-o", "{out}"], 2,
         r"axhw: error: -o .*out: another axhw run is writing this directory", wait_for="locked",
         fault="concurrent"),
    Case("sweep-concurrent-outdir", [*SWEEP, "-j", "1", "-o", "{out}"], 2,
         r"axhw: error: -o .*out: another axhw run is writing this directory",
         wait_for="locked", fault="concurrent", own_cache=True),
    Case("sweep-ctrl-c-while-the-pool-starts", [*SWEEP, "-j", "2", "-o", "{out}"], 130,
         r"axhw: interrupted; \d+ of 10 points done, re-run to resume", wait_for="worker",
         fault=signal.SIGINT, own_cache=True),
]


def _argv(case: Case, out: Path) -> list[str]:
    return [AXHW, *(str(a).replace("{out}", str(out)) for a in case.argv)]


def _start(case: Case, tmp_path: Path, argv: list[str]) -> subprocess.Popen:
    env = dict(os.environ)
    if case.own_cache:
        env["AXHW_CACHE_DIR"] = str(tmp_path / "cache")
    mask = "" if case.umask is None else f"umask {case.umask:03o}; "
    return subprocess.Popen([*FOREGROUND, "/bin/sh", "-c", mask + 'exec "$@"', "sh", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env, cwd=tmp_path)


def _locked(path: Path) -> bool:
    """Whether some process holds a flock on `path` (read from /proc/locks: looking must not
    take the lock, even for a moment)."""
    try:
        ino = path.stat().st_ino
        locks = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return False
    return any(f[1] == "FLOCK" and int(f[5].rsplit(":", 1)[1]) == ino
               for f in (ln.split() for ln in locks) if len(f) > 5 and f[1] == "FLOCK")


def _wait(case: Case, proc: subprocess.Popen, tmp_path: Path) -> None:
    """Block until the row's moment; fail if the run ends first."""
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        assert proc.poll() is None, f"{case.id}: ended before {case.wait_for}: {proc.stderr.read()}"
        if case.wait_for == "tmp" and list(tmp_path.glob(".out.tmp-*")):
            return
        if case.wait_for == "worker" and any(
                "multiprocessing" in " ".join(c.cmdline()) and "resource_tracker" not in
                " ".join(c.cmdline()) for c in psutil.Process(proc.pid).children(recursive=True)):
            return
        if case.wait_for == "locked" and _locked(tmp_path / "out"):
            return
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"{case.id}: {case.wait_for} never came")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_run(tmp_path, case):
    out = tmp_path / "out"
    if case.setup is not None:
        case.setup(out)
    canary = {name: (tmp_path / name).read_bytes() for name in case.canary}
    argv = _argv(case, out)
    proc = _start(case, tmp_path, argv)
    first = None
    try:
        if case.wait_for is not None:
            _wait(case, proc, tmp_path)
            if case.fault == "concurrent":
                os.killpg(proc.pid, signal.SIGSTOP)
                first, proc = proc, _start(case, tmp_path, argv)
            else:
                os.killpg(proc.pid, case.fault)
        _, err = proc.communicate(timeout=TIMEOUT)
        if case.rerun:
            assert proc.returncode == -case.fault, err
            proc = _start(case, tmp_path, argv)
            _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        for p in (proc, first):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.communicate()
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("sweep: ")]
    assert proc.returncode == case.exit, err
    assert "Traceback" not in err and "internal error" not in err, err
    if case.line is None:
        assert not lines, err
    else:
        assert len(lines) == 1 and re.match(case.line, lines[0]), err
    left = [p.name for pattern in SCRATCH for p in tmp_path.glob(pattern)]
    assert not left, left
    assert canary == {name: (tmp_path / name).read_bytes() for name in case.canary}
    if case.out_exists is not None:
        assert out.exists() == case.out_exists
    if case.check is not None:
        case.check(out)
