"""`axhw export`: C (compiled with gcc), Python, BLIF (read back by Yosys) and the mapped netlist
(read back with the library's cell functions) equal the golden model on every input pair; bad
input is one line and leaves no file."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from axhw.sim import netsim
from axhw.cli import main
from axhw.design.record import load_design, write_design
from axhw.ppa.export import export_text
from axhw.gen.families import make
from axhw.design.golden import all_pairs, port_value, to_raw
from axhw.design.external import load_external
from axhw.ppa.pdk import load_library
from axhw.infra.tools import yosys

FIXTURE = Path(__file__).parent / "fixtures" / "mul8u_colt4_gates.v"

DESIGNS = {
    "exact8u": ("exact", 8, 8, False, {}),
    "bam8s": ("bam", 8, 8, True, {"h": 1, "v": 3}),
    "perf8s_booth": ("perforated", 8, 8, True, {"start": 1, "count": 1, "encoding": "booth"}),
    "trunc6x5u_cct": ("truncated", 6, 5, False, {"mode": "cct", "out_bits": 7}),
    "bam6x5s": ("bam", 6, 5, True, {"h": 1, "v": 2}),
}


def _design(name, tmp_path):
    family, ba, bb, signed, params = DESIGNS[name]
    return load_design(write_design(make(family, ba, bb, signed=signed, **params), tmp_path))


def _want(d) -> np.ndarray:
    """The port values the models must return, pair-index order."""
    A, B = all_pairs(d.bits_a, d.bits_b, d.signed)
    if d.spec is not None:
        return port_value(to_raw(d.golden(A, B), d.out_bits), d.out_bits, d.out_signed)
    # The external fixture: the AND array without the columns below 4 (spec §6.1, t=4).
    return sum(((A >> j) & 1) * ((B >> i) & 1) << (i + j)
               for i in range(8) for j in range(8) if i + j >= 4)


def _run_c(d, source: str, tmp_path: Path) -> np.ndarray:
    ta = "int64_t"
    cast_a = f"(int{8 if d.bits_a <= 8 else 16}_t)" if d.signed else ""
    cast_b = f"(int{8 if d.bits_b <= 8 else 16}_t)" if d.signed else ""
    sign = (lambda bits, v: f"({v} >= {1 << (bits - 1)} ? {v} - {1 << bits} : {v})"
            if d.signed else v)
    main = f"""
#include <stdio.h>
{source}
int main(void) {{
  for ({ta} a = 0; a < {1 << d.bits_a}; a++)
    for ({ta} b = 0; b < {1 << d.bits_b}; b++) {{
      int64_t p = (int64_t){d.top}({cast_a}{sign(d.bits_a, 'a')}, {cast_b}{sign(d.bits_b, 'b')});
      fwrite(&p, sizeof p, 1, stdout);
    }}
  return 0;
}}
"""
    src = tmp_path / f"{d.top}_main.c"
    src.write_text(main)
    exe = tmp_path / f"{d.top}_main"
    subprocess.run(["gcc", "-std=c99", "-O1", "-Wall", "-Werror", "-o", str(exe), str(src)],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True).stdout
    return np.frombuffer(out, dtype=np.int64)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
@pytest.mark.parametrize("name", [*DESIGNS, "external"])
def test_c_model_all_pairs(tmp_path, name):
    d = load_external(FIXTURE) if name == "external" else _design(name, tmp_path)
    source = export_text(d, "c")
    rtype = ("int" if d.out_signed else "uint") + ("8" if d.out_bits <= 8 else "16") + "_t"
    assert f"{rtype} {d.top}(" in source
    got = _run_c(d, source, tmp_path)
    np.testing.assert_array_equal(got, _want(d))


@pytest.mark.parametrize("name", ["bam8s", "external"])
def test_python_model_all_pairs(tmp_path, name):
    d = load_external(FIXTURE) if name == "external" else _design(name, tmp_path)
    path = tmp_path / f"{d.top}.py"
    path.write_text(export_text(d, "python"))
    assert "import" not in path.read_text()
    spec = importlib.util.spec_from_file_location(d.top, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, d.top)
    A, B = all_pairs(d.bits_a, d.bits_b, d.signed)
    got = np.fromiter((fn(a, b) for a, b in zip(A.tolist(), B.tolist())), dtype=np.int64,
                      count=len(A))
    np.testing.assert_array_equal(got, _want(d))


def _read_back(tmp_path: Path, read: list[str], top: str) -> dict:
    """Yosys JSON of a netlist read back by Yosys."""
    out = tmp_path / "back.json"
    yosys.run_script([*read, f"hierarchy -check -top {top}", f"write_json {yosys.quote(out)}"],
                     tmp_path / "back.log")
    return json.loads(out.read_text())


def _sweep(d, netlist) -> np.ndarray:
    (_, raw), = netsim.sweep_pairs(netlist, d.ports, d.bits_a, d.bits_b, d.out_bits, 0,
                                   1 << (d.bits_a + d.bits_b), chunk=1 << 16)
    return port_value(raw, d.out_bits, d.out_signed)


@pytest.mark.parametrize("name", ["bam8s", "external"])
def test_blif_read_back_all_pairs(tmp_path, name):
    d = load_external(FIXTURE) if name == "external" else _design(name, tmp_path)
    blif = tmp_path / "m.blif"
    blif.write_text(export_text(d, "blif"))
    assert blif.read_text().count(".names") > 20
    # read_blif gives $lut cells; techmap turns them into multiplexer gates netsim evaluates.
    data = _read_back(tmp_path, [f"read_blif -wideports {yosys.quote(blif)}", "techmap", "opt_clean"], d.top)
    np.testing.assert_array_equal(_sweep(d, netsim.read_yosys_json(data, d.top)), _want(d))


def test_mapped_netlist_all_pairs(tmp_path):
    d = _design("bam8s", tmp_path)
    library = load_library("nangate45")
    text = export_text(d, "netlist", pdk="nangate45")
    assert "NAND2_X1" in text or "AND2_X1" in text
    path = tmp_path / "mapped.v"
    path.write_text(text)
    reads = [f"read_liberty -lib {yosys.quote(f)}" for f in library.files]
    data = _read_back(tmp_path, [*reads, f"read_verilog {yosys.quote(path)}"], d.top)
    nl = netsim.read_yosys_json(data, d.top, library.cell_functions())
    A, B = all_pairs(8, 8, True)
    # The flow splits ports into single bits (\a[0] ...): drive and read them bit by bit.
    inputs = {f"{port}[{k}]": (v >> k) & 1 for port, v in (("a", A), ("b", B)) for k in range(8)}
    outs = netsim.evaluate(nl, inputs, library.cell_functions())
    raw = sum(outs[f"p[{k}]"].astype(np.int64) << k for k in range(d.out_bits))
    np.testing.assert_array_equal(port_value(raw, d.out_bits, True), _want(d))


def test_cli_writes_file_and_bad_input_is_one_line(tmp_path, cli, capsys):
    d = _design("exact8u", tmp_path)
    ok = cli("export", d.json_path, "-o", tmp_path / "m.py")
    assert ok.returncode == 0, ok.stderr
    assert f"def {d.top}(a: int, b: int) -> int:" in (tmp_path / "m.py").read_text()
    assert main(["export", str(d.json_path), "--format", "c"]) == 0
    assert f"uint16_t {d.top}(uint8_t A, uint8_t B)" in capsys.readouterr().out
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    before = sorted(p.name for p in tmp_path.iterdir())
    for args, words in [
        (["--format", "verilog"], "unknown format"),
        (["--format", "netlist", "-o", tmp_path / "n.v"], "needs --pdk"),
        (["--format", "c", "-o", tmp_path / "m2.py"], "is python, not c"),
        (["-o", tmp_path / "m.txt"], "give --format"),
        (["--format", "c", "--pdk", "nangate45"], "--format netlist only"),
        (["-o", blocker / "m.c"], "cannot create directory"),
    ]:
        rc = main(["export", str(d.json_path), *map(str, args)])
        err = capsys.readouterr().err
        assert rc != 0 and err.count("\n") == 1 and err.startswith("axhw: error: "), err
        assert words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
