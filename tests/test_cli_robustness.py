"""What a new user hit (issue 11, part 4): relative paths, stale designs, file modes, unwritable
outputs, format/suffix clashes, messages that say what is wrong, and the small CLI gaps."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.infra.fileio import write_text
from axhw.measure.lut import design_lut, write_lut

from conftest import AXHW, assert_one_line_error, requires_icarus, run_cli

OSU018 = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")
requires_osu018 = pytest.mark.skipif(not OSU018.is_file(), reason="qflow-tech-osu018 not installed")


@pytest.fixture
def design_json(tmp_path):
    return write_design(make("perforated", 4, start=1, count=2), tmp_path / "d")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_respect_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = write_design(make("exact", 4), tmp_path)
        d = load_design(path)
        write_lut(d, design_lut(d), "npy", tmp_path / "lut.npy")
        write_text(tmp_path / "report.html", "<p/>")
    finally:
        os.umask(old)
    for name in ("mul4u_exact.json", "mul4u_exact.v", "lut.npy", "report.html"):
        assert _mode(tmp_path / name) == mode, name


def test_gen_cli_files_are_0644_under_umask_022(tmp_path):
    proc = subprocess.run(["sh", "-c", 'umask 022 && exec "$0" gen --type exact --bits 4 -o "$1"',
                           AXHW, str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert {p.name: _mode(p) for p in tmp_path.iterdir()} == \
        {"mul4u_exact.json": 0o644, "mul4u_exact.v": 0o644}


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("args", [
    ["lut", "{d}", "-o", "/proc/axhw-test.npy"],
    ["gen", "--type", "exact", "--bits", "4", "-o", "/proc/axhw-test"],
])
def test_unwritable_output_is_one_line(design_json, args):
    proc = run_cli(*[a.format(d=design_json) for a in args])
    assert_one_line_error(proc)
    assert "internal error" not in proc.stderr


def test_unwritable_target_from_python():
    with pytest.raises(AxhwError, match="cannot write /proc/axhw-test.json"):
        write_text(Path("/proc/axhw-test.json"), "{}")


def test_lut_suffix_must_agree_with_format(design_json, tmp_path):
    out = tmp_path / "x.npy"
    proc = run_cli("lut", design_json, "-f", "csv", "-o", out)
    assert_one_line_error(proc)
    assert "contradicts" in proc.stderr and not out.exists()
    # No --format: the suffix decides; an unknown suffix with --format is the user's choice.
    assert run_cli("lut", design_json, "-o", tmp_path / "x.csv").returncode == 0
    assert (tmp_path / "x.csv").read_text().startswith("a,b,p\n")
    assert run_cli("lut", design_json, "-f", "csv", "-o", tmp_path / "x.txt").returncode == 0
    assert (tmp_path / "x.txt").read_text() == (tmp_path / "x.csv").read_text()


def _edit_verilog(design_json: Path) -> None:
    v = design_json.with_suffix(".v")
    text = v.read_text()
    assert " & " in text
    v.write_text(text.replace(" & ", " | ", 1))


def test_stale_verilog_is_refused(design_json, tmp_path):
    load_design(design_json)  # fresh: fine
    _edit_verilog(design_json)
    with pytest.raises(AxhwError, match="changed since it was generated"):
        load_design(design_json)
    for args in (["verify", design_json], ["lut", design_json, "-o", tmp_path / "x.npy"]):
        proc = run_cli(*args)
        assert_one_line_error(proc)
        assert "verilog_sha256" in proc.stderr and proc.returncode == 2
    assert not (tmp_path / "x.npy").exists()


@requires_icarus
def test_verify_allow_edited_checks_the_edit_and_json_is_last_line(design_json):
    proc = run_cli("verify", design_json, "--sim", "icarus", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    good = json.loads(lines[-1])
    assert good["ok"] is True and good["design"] == "mul4u_perf_j1_k2"
    assert [(r["sim"], r["checked"], r["mismatches"]) for r in good["results"]] == \
        [("icarus", 256, 0)]
    _edit_verilog(design_json)
    proc = run_cli("verify", design_json, "--sim", "icarus", "--json", "--allow-edited")
    assert proc.returncode == 1
    bad = json.loads(proc.stdout.strip().splitlines()[-1])
    assert bad["ok"] is False and bad["results"][0]["mismatches"] > 0
    assert bad["results"][0]["first_mismatches"]


def _json_with(design_json: Path, tmp_path: Path, edit) -> Path:
    d = json.loads(design_json.read_text())
    edit(d)
    out = design_json.parent / "edited.json"
    out.write_text(json.dumps(d))
    return out


@pytest.mark.parametrize("edit,message", [
    (lambda d: d["params"].__setitem__("count", "abc"), "parameter count='abc': expected int"),
    (lambda d: d.__setitem__("bits_a", "4"), 'bits_a must be an integer, not "4"'),
    (lambda d: d.__setitem__("signed", 1), "signed must be true or false"),
    (lambda d: d.__setitem__("params", [1]), "params must be an object"),
    (lambda d: d["params"].__setitem__("tree", 3), "parameter tree=3: expected str"),
    (lambda d: d.__setitem__("ports", {"a": "a"}), "ports must map a, b and p"),
], ids=["count-str", "bits-str", "signed-int", "params-list", "tree-int", "ports"])
def test_design_json_types_are_checked(design_json, tmp_path, edit, message):
    bad = _json_with(design_json, tmp_path, edit)
    with pytest.raises(AxhwError, match=re.escape(message)):
        load_design(bad)


def test_bad_param_type_from_the_cli(design_json, tmp_path):
    bad = _json_with(design_json, tmp_path, lambda d: d["params"].__setitem__("count", "abc"))
    proc = run_cli("metrics", bad)
    assert_one_line_error(proc)
    assert "parameter count='abc': expected int" in proc.stderr and proc.returncode == 2


def test_binary_design_json_is_not_a_design(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(AxhwError, match="not a design JSON"):
        load_design(path)
    proc = run_cli("verify", path)
    assert_one_line_error(proc)
    assert "not a design JSON" in proc.stderr and proc.returncode == 2


def test_yosys_error_line_reaches_the_user(tmp_path):
    v = tmp_path / "sys.v"
    v.write_text('module m(input [3:0] a, input [3:0] b, output [7:0] p);\n'
                 '  initial $system("true");\n  assign p = a * b;\nendmodule\n')
    proc = run_cli("metrics", v)
    assert_one_line_error(proc)
    assert "Can't resolve task name" in proc.stderr and "sys.v:2" in proc.stderr


@pytest.mark.parametrize("clock", ["1e-9", "nan", "0.0009"])
def test_clock_out_of_range_is_refused_up_front(design_json, clock):
    proc = run_cli("characterize", design_json, "--clock-ns", clock)
    assert_one_line_error(proc)
    assert "expected a clock period from 0.001 ns" in proc.stderr


def test_garbage_dist_file(design_json, tmp_path):
    garbage = tmp_path / "g.npy"
    garbage.write_bytes(b"\x80\x04not numpy at all" * 10)
    pickled = tmp_path / "p.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for f in (garbage, pickled):
        proc = run_cli("metrics", design_json, "--dist", f)
        assert_one_line_error(proc)
        assert "not a distribution file" in proc.stderr and "pickle" not in proc.stderr


@requires_osu018
@pytest.mark.parametrize("how", ["liberty", "pdk-root"])
def test_relative_library_paths_work(design_json, tmp_path, how):
    """OpenSTA runs in its run folder: relative --liberty / --pdk-root must still be found."""
    work = tmp_path / "w"
    (work / "pdks" / "osu018").mkdir(parents=True)
    shutil.copy(OSU018, work / "pdks" / "osu018" / "o.lib")
    shutil.copy(OSU018, work / "o.lib")
    where = (["--liberty", "./o.lib"] if how == "liberty"
             else ["--pdk", "osu018", "--pdk-root", "pdks"])
    proc = run_cli("-v", "characterize", design_json, *where, "--vectors", "64", "--no-cache",
                   "--json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)  # progress went to stderr, stdout is the JSON alone
    assert r["area_um2"] > 0 and all(Path(p).is_absolute() for p in r["liberty"])
    for stage in ("synthesizing", "simulating", "OpenSTA", "library"):
        assert stage in proc.stderr


def test_progress_is_off_without_a_terminal(design_json):
    proc = run_cli("characterize", design_json, "--clock-ns", "1e-9")
    assert "[" not in proc.stderr  # only the error line, no progress lines


def test_families_lists_systolic():
    proc = run_cli("families")
    assert proc.returncode == 0
    assert "perforated" in proc.stdout and "systolic:" in proc.stdout and "rows" in proc.stdout


@requires_icarus
@pytest.mark.slow
def test_demo_runs_the_pipeline_and_leaves_no_temporary_folder(tmp_path):
    """`axhw demo` (about 1 min warm, 2-3 min cold): every step, the files its summary names
    exist, nothing in $TMPDIR; the default output folder is under the working directory."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = run_cli("demo", cwd=tmp_path, env={"TMPDIR": str(tmp)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "axhw-demo"
    for k in range(1, 8):
        assert f"[{k}/7]" in proc.stdout
    named = [Path(line.strip()) for line in proc.stdout.splitlines()
             if line.startswith("    /")]
    assert len(named) >= 10 and all(p.exists() and out in p.parents for p in named)
    assert list(tmp.iterdir()) == []
    assert proc.stdout.count("65,536 all pairs, 0 mismatches") == 6  # 5 designs, one twice
    assignment = json.loads((out / "dse" / "assignment.json").read_text())
    assert assignment["layers"] and (out / "dse" / "hardware" / "verification.json").is_file()
    assert "// NANGATE45_PWR = " in (out / "c" / "mul8s_perf_j0_k2.c").read_text()
    conv = np.load(out / "luts" / "mul8s_perf_j0_k2.torchapprox_conv.npy")
    np.testing.assert_array_equal(conv, np.load(out / "luts" / "mul8s_perf_j0_k2.torchapprox_linear.npy").T)
