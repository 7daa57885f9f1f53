"""CLI contract of `axhw gen` / `axhw verify`: outputs, JSON keys, one-line errors, no partial files."""

import json
import os

import pytest

from conftest import assert_one_line_error, requires_icarus, run_cli

JSON_KEYS = {"top", "verilog", "family", "params", "bits_a", "bits_b", "signed", "out_bits"}


def test_gen_writes_verilog_and_json(tmp_path):
    proc = run_cli("gen", "--type", "perforated", "--bits", "8", "-p", "start=2", "-p", "count=3",
                   "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.endswith("mul8u_perf_j2_k3.json")
    d = json.loads(open(last).read())
    assert JSON_KEYS <= set(d)
    assert d["params"] == {"start": 2, "count": 3, "encoding": "and", "tree": "dadda",
                           "final_adder": "synth"}
    assert (d["bits_a"], d["bits_b"], d["signed"], d["out_bits"]) == (8, 8, False, 16)
    v = (tmp_path / d["verilog"]).read_text()
    assert "module mul8u_perf_j2_k3(" in v and "input [7:0] a" in v and "output [15:0] p" in v
    assert sorted(os.listdir(tmp_path)) == ["mul8u_perf_j2_k3.json", "mul8u_perf_j2_k3.v"]


def test_gen_bits_b_and_signed(tmp_path):
    proc = run_cli("gen", "--type", "exact", "--bits", "6", "--bits-b", "4", "--signed",
                   "-p", "encoding=booth", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(open(proc.stdout.strip().splitlines()[-1]).read())
    assert (d["bits_a"], d["bits_b"], d["signed"], d["out_bits"]) == (6, 4, True, 10)


def test_help_params_lists_ranges_and_defaults():
    proc = run_cli("gen", "--type", "perforated", "--help-params")
    assert proc.returncode == 0
    for word in ("start", "count", "encoding", "tree", "dadda", "0..n-1"):
        assert word in proc.stdout


@pytest.mark.parametrize("args", [
    ["gen", "--type", "nope", "--bits", "8"],
    ["gen", "--type", "perforated", "--bits", "8", "-p", "start=8"],
    ["gen", "--type", "perforated", "--bits", "8", "-p", "count=0"],
    ["gen", "--type", "perforated", "--bits", "8", "-p", "start=x"],
    ["gen", "--type", "perforated", "--bits", "8", "-p", "colour=red"],
    ["gen", "--type", "perforated", "--bits", "8", "-p", "start"],
    ["gen", "--type", "perforated", "--bits", "40"],
    ["gen", "--type", "perforated", "--bits", "8", "--signed", "-p", "start=7"],
    ["gen", "--type", "exact", "--bits", "8", "-p", "tree=ripple"],
    ["gen", "--bits", "8"],
    ["gen", "--type", "exact", "--bits", "eight"],
])
def test_bad_gen_input_one_line_no_files(tmp_path, args):
    out = tmp_path / "out"
    proc = run_cli(*args, "-o", out)
    assert_one_line_error(proc)
    assert not out.exists() or not any(out.iterdir())


def test_unwritable_output_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = run_cli("gen", "--type", "exact", "--bits", "4", "-o", blocker / "sub")
    assert_one_line_error(proc)
    if os.geteuid() != 0:  # root can write anywhere; the file-as-parent case above covers root
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        proc = run_cli("gen", "--type", "exact", "--bits", "4", "-o", ro)
        assert_one_line_error(proc)
        assert not any(ro.iterdir())


@pytest.mark.parametrize("content", [None, "{not json", '{"top": "x"}', "[1, 2]"])
def test_verify_bad_json(tmp_path, content):
    path = tmp_path / "d.json"
    if content is not None:
        path.write_text(content)
    assert_one_line_error(run_cli("verify", path))


def test_verify_missing_verilog(tmp_path):
    proc = run_cli("gen", "--type", "exact", "--bits", "4", "-o", tmp_path)
    j = proc.stdout.strip().splitlines()[-1]
    os.remove(j.replace(".json", ".v"))
    assert_one_line_error(run_cli("verify", j))


@requires_icarus
def test_verify_cli_pass_and_fail(tmp_path):
    proc = run_cli("gen", "--type", "perforated", "--bits", "6", "--bits-b", "4", "-p", "start=1",
                   "-p", "count=2", "-o", tmp_path)
    j = proc.stdout.strip().splitlines()[-1]
    ok = run_cli("verify", j, "--sim", "icarus")
    assert ok.returncode == 0, ok.stderr
    assert "1,024 all pairs, 0 mismatches" in ok.stdout
    v = j.replace(".json", ".v")
    text = open(v).read().replace("wire pp_r0_a0 = a[0] & b[0];", "wire pp_r0_a0 = a[0] ^ b[0];")
    open(v, "w").write(text)
    bad = run_cli("verify", j, "--sim", "icarus", "--allow-edited")  # the edit is the point
    assert bad.returncode == 1
    assert "FAIL" in bad.stdout and "expected=" in bad.stdout
    assert_one_line_error(bad)
