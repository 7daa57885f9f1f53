"""`axhw sweep` under stress: killed or interrupted parents, huge grids, configuration errors that
would fail every point, unreadable SPECs, and the one-liner's activity/Liberty flags."""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from axhw.cli import main
from axhw.infra import parallel
from axhw.sweep import run, spec_from_cli
from conftest import AXHW

OSU018_LIB = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")
# Points that keep two workers busy for a while (Yosys + OpenSTA per point).
BUSY = ["sweep", "--type", "perforated", "--bits", "6", "--grid", "start=0..4",
        "--grid", "count=1..2", "--verify", "off", "-j", "2"]


# Runs a command as a foreground job would: Ctrl-C not ignored. A job started in the background of
# a non-interactive shell (`pytest ... &` in a script) inherits SIGINT ignored, and so would the
# sweep (Python keeps an inherited SIG_IGN): its Ctrl-C test would see the sweep run to the end.
FOREGROUND = [sys.executable, "-c", "import os, signal, sys; "
              "signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"]


def one_line_error(capsys, argv) -> str:
    """Run the CLI in-process; assert one `axhw: ` line on stderr and a non-zero exit."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code != 0 and len(lines) == 1 and lines[0].startswith("axhw: "), (code, err)
    return lines[0]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _start_busy(tmp_path, extra=()):
    """Start a sweep in its own session; return it and its worker processes once they run. Its
    own cache: a warm one (an earlier run of the same points) would leave no tool to run."""
    proc = subprocess.Popen([*FOREGROUND, AXHW, *BUSY, *extra, "-o", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            env={**os.environ, "AXHW_CACHE_DIR": str(tmp_path / "cache")})
    parent = psutil.Process(proc.pid)
    deadline = time.time() + 120
    while time.time() < deadline:
        workers = [c for c in parent.children() if "multiprocessing" in " ".join(c.cmdline())
                   and "resource_tracker" not in " ".join(c.cmdline())]
        if len(workers) == 2 and any(w.children() for w in workers):  # a tool is running
            return proc, parent.children(recursive=True)
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the sweep's workers never started a tool")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_the_parent(tmp_path, sig):
    """kill -9 / kill -TERM of the parent alone: no worker (or tool under it) lives on."""
    proc, family = _start_busy(tmp_path)
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p.pid) for p in family):
        time.sleep(0.1)
    assert not [p.pid for p in family if _alive(p.pid)]
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM
        assert "points done, re-run to resume" in proc.stderr.read()
    assert not (tmp_path / "out" / "results.parquet").exists()


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    """Ctrl-C reaches the whole foreground process group: workers ignore it, the parent stops them
    and says how far it got."""
    proc, family = _start_busy(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[0].startswith("sweep: 10 points") and len(lines) == 2, err
    assert lines[1].startswith("axhw: interrupted; ") and lines[1].endswith(
        " of 10 points done, re-run to resume"), err
    assert "Traceback" not in err
    time.sleep(1)
    assert not [p.pid for p in family if _alive(p.pid)]


def test_huge_grid_refused_fast(tmp_path, capsys):
    t0 = time.perf_counter()
    line = one_line_error(capsys, ["sweep", "--type", "perforated", "--bits", "8",
                                   "--grid", "start=0..1000000", "-o", tmp_path / "out"])
    assert time.perf_counter() - t0 < 5
    assert "1,000,001 points" in line and "--max-points" in line
    assert not (tmp_path / "out").exists()


def test_huge_grid_runs_lazily_with_max_points(tmp_path):
    """Raised limit: 10^7 points (all invalid: rows made in the parent as fast as it can) start at
    once, and memory stays flat while they stream (it used to expand every point first: 3.2 GB in
    90 s and no output)."""
    proc = subprocess.Popen([AXHW, "sweep", "--type", "perforated", "--bits", "8", "-p", "start=0",
                             "--grid", "count=20..10000019", "--verify", "off", "--max-points",
                             "20000000", "-o", str(tmp_path / "out")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert select.select([proc.stderr], [], [], 120)[0], "no output"
        assert "10,000,000 points" in proc.stderr.readline()
        time.sleep(2)
        rss = [psutil.Process(proc.pid).memory_info().rss]
        time.sleep(4)
        rss.append(psutil.Process(proc.pid).memory_info().rss)
        assert rss[1] - rss[0] < 40e6, rss
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        done = int(err.split("interrupted; ")[1].split(" of ")[0].replace(",", ""))
        assert done > 500 and proc.returncode == 128 + signal.SIGTERM, err
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("flags,needle", [
    (["--pdk", "nosuch"], "unknown PDK 'nosuch'"),
    (["--clock-ns", "nan"], "clock_ns"),
    (["--clock-ns", "-1"], "clock_ns"),
    (["--liberty", "missing.lib"], "missing.lib"),
    (["--activity", "missing.csv"], "activity file not found"),
    (["--vectors", "0"], "vectors"),
])
def test_configuration_errors_stop_before_any_work(tmp_path, capsys, flags, needle):
    line = one_line_error(capsys, ["sweep", "--type", "perforated", "--bits", "4", "--grid",
                                   "start=0..1", *flags, "-o", tmp_path / "out"])
    assert needle in line
    assert not (tmp_path / "out").exists()


def test_unreachable_dask_scheduler_writes_nothing(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(parallel, "DASK_CONNECT_TIMEOUT", "2s")
    line = one_line_error(capsys, ["sweep", "--type", "perforated", "--bits", "4", "--grid",
                                   "start=0..1", "--dask-scheduler", "tcp://127.0.0.1:9",
                                   "-o", tmp_path / "out"])
    assert "cannot reach Dask scheduler tcp://127.0.0.1:9" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content,needle", [
    (b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary", "is not a YAML/TOML SPEC (not UTF-8 text)"),
    (b"", "is empty"),
    (b"# only a comment\n", "is empty"),
    (b"- a list\n", "is not a YAML/TOML SPEC"),
])
def test_unreadable_spec_one_line(tmp_path, capsys, content, needle):
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(content)
    assert needle in one_line_error(capsys, ["sweep", spec, "-o", tmp_path / "out"])
    assert not (tmp_path / "out").exists()


def test_one_liner_activity_vectors_liberty(tmp_path):
    """--vectors, --activity and --liberty mean what the SPEC keys mean, and each moves the
    result it should."""
    if not OSU018_LIB.is_file():
        pytest.skip("qflow-tech-osu018 not installed")
    ops = tmp_path / "ops.csv"  # operands whose high bits never toggle
    ops.write_text("a,b\n" + "".join(f"{i % 4},{(i * 3) % 4}\n" for i in range(300)))

    def one(name, **options):
        spec = spec_from_cli("perforated", 4, None, False, ("start=0",), (), (),
                             **{"verify": "off", "vectors": 300, **options})
        df = run.run_sweep(spec, tmp_path / name, jobs=1, progress=False)
        assert (df.status == "ok").all(), df.reason.tolist()
        return df.iloc[0]

    base = one("base")
    assert base.pdk == "osu018"
    assert one("vectors", vectors=1000)["vectors"] == 1000
    act = one("activity", activity=str(ops))
    assert act.dynamic_mw < 0.8 * base.dynamic_mw
    lib = one("liberty", liberty=[str(OSU018_LIB)])
    assert lib.pdk == "custom" and lib.area_um2 == base.area_um2
    # the CLI spells them as flags, relative paths from the working directory
    out = tmp_path / "cli"
    proc = subprocess.run([AXHW, "sweep", "--type", "perforated", "--bits", "4", "--grid",
                           "start=0", "--verify", "off", "--vectors", "300", "--activity",
                           "ops.csv", "-o", str(out)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    row = pd.read_parquet(out / "results.parquet").iloc[0]
    assert row.dynamic_mw == pytest.approx(act.dynamic_mw)
