"""Hostile and careless input, one row per case (issue 21, docs/security.md).

Each row runs `axhw` once in a fresh folder holding a 4-bit exact design (``{d}``, ``{v}``) and
whatever the row's setup adds. Every row checks: the exit code; for a refusal exactly one stderr
line, starting ``axhw: `` and matching the row's pattern; never a traceback or "internal error";
no output file left behind; and no canary file ``{canary}``, which the row's injection would
create if a shell, a simulator or a tool ran it. Rows that must succeed (a hostile Liberty path
is still a Liberty file) exit 0 and leave no canary.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from axhw.design.record import write_design
from axhw.gen.families import make

from conftest import requires_icarus, run_cli

OSU018 = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")
requires_osu018 = pytest.mark.skipif(not OSU018.is_file(), reason="qflow-tech-osu018 not installed")
FIXTURE_LIBRARY = Path(__file__).parent / "fixtures" / "dse_library"
FIXTURE_TABLE = FIXTURE_LIBRARY / "results.csv"
# Shell injections name the canary through $AXHW_CANARY (set for every row): a file name cannot
# hold the canary's path (a slash).
EVIL_LIB_DIR = "w $(touch $AXHW_CANARY)"  # a folder name a shell would run
TASKS = '''
import torch
from torch import nn
from axhw.dse import Task

def _data():
    torch.manual_seed(0)
    return torch.randn(8, 4), [(torch.randn(8, 4), torch.zeros(8, dtype=torch.long))]

def nan():
    x, ev = _data()
    x[0, 0] = float("nan")
    return Task(nn.Sequential(nn.Linear(4, 3)), [x], ev)

def tiny():
    x, ev = _data()
    return Task(nn.Sequential(nn.Linear(4, 3)), [x], ev)

def no_layer():
    x, ev = _data()
    return Task(nn.Sequential(nn.ReLU()), [x], ev)
'''


@dataclass(frozen=True)
class Row:
    argv: tuple[str, ...]
    expect: str = ""            # regex the error line must match (rc != 0)
    rc: int = 2
    setup: Callable[[Path, dict], None] | None = None  # adds files, may edit the design
    absent: tuple[str, ...] = ("out.npy", "out.c", "out.json", "out")  # outputs never left
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[Path], None] | None = None  # more after the run


# -- setups --------------------------------------------------------------------------------------
def edit_json(**changes):
    def setup(tmp: Path, ctx: dict) -> None:
        d = json.loads(Path(ctx["d"]).read_text())
        for key, value in changes.items():
            if key.startswith("port_"):
                d["ports"][key[5:]] = _fill(value, ctx)
            else:
                d[key] = _fill(value, ctx)
        Path(ctx["d"]).write_text(json.dumps(d))
    return setup


def _edit(ctx: dict, **changes) -> None:
    d = json.loads(Path(ctx["d"]).read_text())
    Path(ctx["d"]).write_text(json.dumps({**d, **changes}))


def write(name: str, text: str):
    def setup(tmp: Path, ctx: dict) -> None:
        (tmp / _fill(name, ctx)).parent.mkdir(parents=True, exist_ok=True)
        (tmp / _fill(name, ctx)).write_text(_fill(text, ctx))
    return setup


def evil_liberty(tmp: Path, ctx: dict) -> None:
    folder = tmp / EVIL_LIB_DIR
    folder.mkdir()
    shutil.copy(OSU018, folder / "n;x.lib")


def evil_gz_liberty(tmp: Path, ctx: dict) -> None:
    with open(OSU018, "rb") as src, gzip.open(tmp / "g;$(touch $AXHW_CANARY).lib.gz",
                                              "wb") as dst:
        shutil.copyfileobj(src, dst)


def gz_liberty(tmp: Path, ctx: dict) -> None:
    with open(OSU018, "rb") as src, gzip.open(tmp / "plain.lib.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)


def not_liberty_gz(tmp: Path, ctx: dict) -> None:
    with gzip.open(tmp / "bad.lib.gz", "wt") as fh:
        fh.write("this is not a liberty file\n")


def fifo(tmp: Path, ctx: dict) -> None:
    os.mkfifo(tmp / "out.fifo")


def link_to_dev_null(tmp: Path, ctx: dict) -> None:
    (tmp / "out.c").symlink_to("/dev/null")


def csv_only_library(tmp: Path, ctx: dict) -> None:
    (tmp / "lib").mkdir()
    shutil.copy(FIXTURE_LIBRARY / "results.csv", tmp / "lib" / "results.csv")


# -- checks --------------------------------------------------------------------------------------
def still_fifo(tmp: Path) -> None:
    assert stat.S_ISFIFO(os.lstat(tmp / "out.fifo").st_mode)


def link_kept(tmp: Path) -> None:
    assert os.readlink(tmp / "out.c") == "/dev/null"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def sweep_row_ok(tmp: Path) -> None:
    text = (tmp / "sweep" / "results.csv").read_text()
    assert ",ok," in text, text  # the point was characterized on the hostile-named library


INJECT_PORT = 'p(p)); initial $system("touch {canary}"); //'
INJECT_TOP = ('mul4u_exact dut(.a(a), .b(b), .p(p)); initial $fclose($fopen("{canary}", "w")); '
              'endmodule module x')
ESCAPED = ("module m(input [3:0] \\a;x , input [3:0] b, output [7:0] p);\n"
           "  assign p = \\a;x  * b;\nendmodule\n")
MAX_LINE = 420  # bound on an error line: 300 + a log path kept whole

ROWS: dict[str, Row | tuple[Row, list]] = {
    # -- 1. injection: names that reach testbenches and scripts ---------------------------------
    "ports_into_verilator_testbench": Row(
        ("verify", "{d}", "--sim", "verilator"), r"port name .* not a plain Verilog identifier",
        setup=edit_json(port_p=INJECT_PORT)),
    "top_into_icarus_testbench": (Row(
        ("verify", "{d}", "--sim", "icarus"), r"top module name .* not a plain Verilog identifier",
        setup=edit_json(top=INJECT_TOP)), [requires_icarus]),
    "ports_into_lut_icarus": (Row(
        ("lut", "{d}", "--sim", "icarus", "-o", "out.npy"), r"port name .* not a plain",
        setup=edit_json(port_a=INJECT_PORT)), [requires_icarus]),
    "top_is_a_keyword": Row(("metrics", "{d}"), r"top module name 'wire' is a Verilog keyword",
                            setup=edit_json(top="wire")),
    "external_top_option": Row(
        ("lut", "--verilog", "{v}", "--top", "mul4u_exact;$(touch $AXHW_CANARY)", "-o", "out.npy"),
        r"--top name .* not a plain Verilog identifier"),
    "external_ports_option": Row(
        ("lut", "--verilog", "{v}", "--ports", "a,b,p(p)", "-o", "out.npy"),
        r"--ports name 'p\(p\)' is not a plain"),
    "external_escaped_port_name": Row(
        ("lut", "esc.v", "-o", "out.npy"), r"port of m name .* not a plain Verilog identifier",
        setup=write("esc.v", ESCAPED)),
    "sweep_spec_external_top": Row(
        ("sweep", "ext.yaml", "-o", "out"),
        r"spec: external\[0\]: top name .* not a plain Verilog identifier",
        setup=write("ext.yaml", 'external:\n  - verilog: mul4u_exact.v\n'
                                '    top: "mul4u_exact;$(touch $AXHW_CANARY)"\n')),
    # -- 1. injection: paths that reach Yosys, ABC's shell, OpenSTA -------------------------------
    "liberty_path_into_abc_shell": (Row(
        ("characterize", "{d}", "--no-cache", "--liberty",
         "{tmp}/" + EVIL_LIB_DIR + "/n;x.lib", "-o", "ok.json"), rc=0,
        setup=evil_liberty), [requires_osu018]),
    "liberty_gz_basename_into_abc_shell": (Row(
        ("characterize", "{d}", "--no-cache", "--liberty", "g;$(touch $AXHW_CANARY).lib.gz"), rc=0,
        setup=evil_gz_liberty), [requires_osu018]),
    "sweep_liberty_path": (Row(
        ("sweep", "--type", "exact", "--bits", "4", "--verify", "off", "--liberty",
         "{tmp}/" + EVIL_LIB_DIR + "/n;x.lib", "-j", "1", "-o", "sweep"), rc=0,
        setup=evil_liberty, check=sweep_row_ok,  # a fresh cache: the tools must run
        env={"AXHW_CACHE_DIR": "{tmp}/cache"}), [requires_osu018]),
    "cache_folder_into_abc_shell": (Row(
        ("characterize", "{d}", "--no-cache", "--liberty", "plain.lib.gz"),
        r"cache folder \(AXHW_CACHE_DIR\) .* holds characters a tool may misread",
        setup=gz_liberty, env={"AXHW_CACHE_DIR": "{tmp}/c $(touch $AXHW_CANARY)"}), [requires_osu018]),
    # -- 2. outputs onto devices, FIFOs, /proc ------------------------------------------------------
    "export_onto_fifo": Row(("export", "{d}", "-f", "c", "-o", "out.fifo"),
                            r"cannot write out.fifo: it exists and is not a regular file",
                            setup=fifo, check=still_fifo),
    "lut_onto_fifo": Row(("lut", "{d}", "-f", "npy", "-o", "out.fifo"),
                         r"not a regular file", setup=fifo, check=still_fifo),
    "characterize_onto_fifo": Row(("characterize", "{d}", "-o", "out.fifo"),
                                  r"not a regular file", setup=fifo, check=still_fifo),
    "export_onto_link_to_dev_null": Row(("export", "{d}", "-f", "c", "-o", "out.c"),
                                        r"cannot write out.c: it exists and is not a regular",
                                        setup=link_to_dev_null, absent=(), check=link_kept),
    "export_into_proc": Row(("export", "{d}", "-f", "c", "-o", "/proc/axhw-corpus.c"),
                            r"cannot write /proc/axhw-corpus.c"),
    "demo_onto_dev_null": Row(("demo", "-o", "/dev/null"),
                              r"cannot create directory /dev/null: it exists and is not a folder"),
    # -- 5. dse ---------------------------------------------------------------------------------------
    "dse_bits_4_not_tram": Row(
        ("dse", "search", "--task", "builtin:digits-mlp", "--library", str(FIXTURE_TABLE),
         "--pdk", "nope", "--method", "uniform", "--bits", "4", "-o", "out"),
        r"has no rows for PDK 'nope'"),  # got past the TRAM-only --columns check
    "dse_tram_columns_too_wide": Row(
        ("dse", "search", "--task", "builtin:digits-mlp", "--library", str(FIXTURE_TABLE),
         "--method", "tram", "--bits", "4", "-o", "out"), r"--columns 8 with --bits 4: columns"),
    "dse_library_folder_with_only_csv": Row(
        ("dse", "search", "--task", "builtin:digits-mlp", "--library", "lib", "--pdk", "nope",
         "--method", "uniform", "-o", "out"), r"lib/results.csv has no rows for PDK 'nope'",
        setup=csv_only_library),
    "dse_library_dev_null": Row(
        ("dse", "search", "--task", "builtin:digits-mlp", "--library", "/dev/null",
         "--method", "uniform", "-o", "out"), r"--library /dev/null: not a regular file"),
    "dse_outdir_in_proc": Row(
        ("dse", "search", "--task", "tasks.py:tiny", "--library", str(FIXTURE_TABLE), "--pdk",
         "nangate45", "--method", "uniform", "--no-verify", "-o", "/proc/axhw-corpus"),
        r"cannot write in /proc", setup=write("tasks.py", TASKS)),
    "dse_nan_calibration_input": Row(
        ("dse", "search", "--task", "tasks.py:nan", "--library", str(FIXTURE_TABLE), "--pdk",
         "nangate45", "--method", "uniform", "--no-verify", "-o", "out"),
        r"layer 0 got NaN or infinite inputs during calibration", setup=write("tasks.py", TASKS)),
    "dse_model_without_layers": Row(
        ("dse", "search", "--task", "tasks.py:no_layer", "--library", str(FIXTURE_TABLE),
         "--pdk", "nangate45", "--method", "uniform", "--no-verify", "-o", "out"),
        r"matches no layer; the model has no multiplication site",
        setup=write("tasks.py", TASKS)),
    # -- 5. messages that say what is wrong ---------------------------------------------------------
    "json_ports_missing_from_verilog": Row(
        ("lut", "{d}", "-o", "out.npy"), r"no input port 'x' in the Verilog \(ports: a, b, p\)",
        setup=edit_json(port_a="x", port_b="y", port_p="z")),
    "hundred_kilobyte_parameter": Row(
        ("gen", "--type", "masked", "--bits", "4", "-p", "mask=" + "z" * 100_000, "-o", "out"),
        r"mask="),
    "gz_liberty_error_names_the_users_file": Row(
        ("characterize", "{d}", "--liberty", "bad.lib.gz"),
        r"Liberty file {tmp}/bad.lib.gz does not parse", setup=not_liberty_gz),
    "liberty_dev_null": Row(("characterize", "{d}", "--liberty", "/dev/null"),
                            r"Liberty file /dev/null is not a regular file"),
    "empty_verilog": Row(("lut", "empty.v", "-o", "out.npy"), r"empty.v: no Verilog module",
                         setup=write("empty.v", "")),
    "verilog_of_empty_modules": Row(
        ("lut", "bb.v", "-o", "out.npy"), r"module\(s\) m have no contents",
        setup=write("bb.v", "module m(input a, output b); endmodule\n")),
    "json_unknown_parameter": Row(
        ("metrics", "{d}"), r"unknown parameter 'x' for family exact \(parameters: encoding",
        setup=lambda tmp, ctx: _edit(ctx, params={"x": 1})),
    "json_verilog_is_a_folder": Row(("metrics", "{d}"), r"Verilog file {tmp} is not a regular file",
                                    setup=lambda tmp, ctx: _edit(ctx, verilog=".")),
    "json_top_too_long": Row(("metrics", "{d}"), r"top module name .* longer than 1024 characters",
                             setup=lambda tmp, ctx: _edit(ctx, top="m" * 5000)),
    "verify_given_verilog": Row(("verify", "{v}"), r"mul4u_exact.v is Verilog, not a design JSON"),
    "negative_out_shift": Row(("metrics", "--verilog", "{v}", "--out-shift", "-1"),
                              r"--out-shift -1: expected 0 or more"),
    "activity_file_empty": Row(("characterize", "{d}", "--activity", "empty.csv"),
                               r"activity file empty.csv is empty", setup=write("empty.csv", "")),
    "spec_yaml_error": Row(("sweep", "bad.yaml", "-o", "out"),
                           r"cannot parse SPEC bad.yaml: line 2, column 1: expected",
                           setup=write("bad.yaml", "designs: [\n")),
}


def _fill(text: str, ctx: dict) -> str:
    """`text` with {d}, {v}, {tmp}, {canary} filled in ($AXHW_CANARY is left to the shell)."""
    for key, value in ctx.items():
        text = text.replace("{" + key + "}", value)
    return text


def _params():
    for name, row in ROWS.items():
        row, marks = row if isinstance(row, tuple) else (row, [])
        yield pytest.param(row, id=name, marks=marks)


@pytest.mark.parametrize("row", list(_params()))
def test_hostile_input(row: Row, tmp_path):
    tmp = tmp_path
    d = write_design(make("exact", 4), tmp)
    canary = tmp / "pwned"
    ctx = {"d": str(d), "v": str(d.with_suffix(".v")), "tmp": str(tmp), "canary": str(canary)}
    if row.setup:
        row.setup(tmp, ctx)
    argv = [_fill(a, ctx) for a in row.argv]
    env = {"AXHW_CANARY": str(canary), **{k: _fill(v, ctx) for k, v in row.env.items()}}
    proc = run_cli(*argv, cwd=tmp, env=env)
    err = proc.stderr
    assert "Traceback" not in err and "internal error" not in err, err
    assert proc.returncode == row.rc, (proc.returncode, err[-2000:])
    if row.rc == 0:
        assert "axhw: error" not in err, err
    else:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1, err[-2000:]
        assert lines[0].startswith("axhw: "), lines[0]
        assert len(lines[0]) <= MAX_LINE, len(lines[0])
        assert re.search(_fill(row.expect, ctx), lines[0]), lines[0]
        for name in row.absent:
            assert not (tmp / name).exists(), name
    assert not canary.exists(), "an injected command ran"
    if row.check:
        row.check(tmp)
