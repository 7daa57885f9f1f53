"""External Verilog as input to lut/metrics: port discovery, the flat gate-level fixture's known
metrics, --signed/--ports/--out-shift, and one-line errors without partial files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.design.golden import all_pairs
from axhw.design.external import load_external, load_input
from axhw.measure.lut import design_lut
from axhw.measure.metrics import design_metrics
from conftest import assert_one_line_error

FIXTURE = Path(__file__).parent / "fixtures" / "mul8u_colt4_gates.v"


def test_fixture_ports_and_known_metrics():
    d = load_external(FIXTURE)
    assert (d.top, d.ports, d.bits_a, d.bits_b, d.out_bits) == ("mul8u_colt4", ("A", "B", "O"),
                                                                8, 8, 16)
    assert d.family == "external" and d.spec is None and d.meta["family"] == "external"
    m = design_metrics(d)
    # spec §6.1, t=4: ER 0.8125, MED 12.25, WCE 49, MRED 5.641e-3
    assert (m["er"], m["mae"], m["wce"]) == (0.8125, 12.25, 49)
    assert m["mre"] == pytest.approx(5.641e-3, rel=1e-3)
    lut = design_lut(d)
    A, B = all_pairs(8, 8, False)
    keep = sum(((A >> j) & 1) * ((B >> i) & 1) << (i + j)
               for i in range(8) for j in range(8) if i + j >= 4)
    np.testing.assert_array_equal(lut.ravel(), keep)


def test_cli_metrics_json_and_table_on_fixture(cli):
    proc = cli("metrics", "--verilog", FIXTURE, "--bits", "8", "--json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert m["design"] == "mul8u_colt4" and m["wce"] == 49 and m["nmed_norm"] == "2^2n-1"
    assert m["nmed"] == pytest.approx(12.25 / 65535)
    table = cli("metrics", FIXTURE, "--nmed-norm", "maxprod")
    assert table.returncode == 0 and "WCE" in table.stdout and "65025" in table.stdout


def test_external_signed_and_ports_override(tmp_path):
    """Our signed design as external Verilog: --signed reads two's complement, LUT identical;
    --ports swaps the operands."""
    spec = make("perforated", 6, 4, signed=True, start=0, count=2)
    d = load_design(write_design(spec, tmp_path))
    ext = load_input(verilog=d.verilog_path, signed=True, bits=6, bits_b=4)
    np.testing.assert_array_equal(design_lut(ext), design_lut(d))
    assert design_metrics(ext)["mae"] == design_metrics(d)["mae"]
    unsigned = design_lut(load_external(d.verilog_path))
    assert unsigned.min() >= 0 and (unsigned != design_lut(d)).any()
    swapped = load_external(d.verilog_path, ports="b,a,p", signed=True)
    assert (swapped.bits_a, swapped.bits_b) == (4, 6)
    np.testing.assert_array_equal(design_lut(swapped), design_lut(d).T)


def test_external_out_shift(tmp_path):
    d = load_design(write_design(make("truncated", 8, mode="cct", out_bits=8, guard=4), tmp_path))
    ext = load_external(d.verilog_path, out_shift=8)
    np.testing.assert_array_equal(design_lut(ext), design_lut(d))
    assert design_metrics(ext)["wce"] == design_metrics(d)["wce"] == 161


THREE_INPUTS = "module m3(input [3:0] a, input [3:0] b, input c, output [7:0] p);\n" \
               "assign p = a * b + c;\nendmodule\n"
TWO_OUTPUTS = "module m2(input [3:0] a, input [3:0] b, output [7:0] p, output q);\n" \
              "assign p = a * b; assign q = 0;\nendmodule\n"


BAD_EXTERNAL = [
    ("module bad(a, b; endmodule\n", {}, "syntax error"),
    (THREE_INPUTS, {}, "3 inputs"),
    (TWO_OUTPUTS, {}, "2 outputs"),
    (THREE_INPUTS, {"ports": "a,b,p"}, "ports besides"),
    (TWO_OUTPUTS, {"ports": "a,b,x"}, "no port 'x'"),
    (TWO_OUTPUTS, {"ports": "a,p,q"}, "not an input"),
    (FIXTURE, {"bits": 4}, "--bits 4 does not match port A"),
    (FIXTURE, {"bits": 8, "bits_b": 6}, "--bits-b 6 does not match port B"),
    (FIXTURE, {"top": "nosuch"}, "nosuch"),
]


def verilog_file(tmp_path, source) -> Path:
    if isinstance(source, Path):
        return source
    (tmp_path / "x.v").write_text(source)
    return tmp_path / "x.v"


@pytest.mark.parametrize("source,kwargs,message", BAD_EXTERNAL)
def test_bad_external_inputs(tmp_path, source, kwargs, message):
    with pytest.raises(AxhwError, match=re.escape(message)):
        load_input(verilog=verilog_file(tmp_path, source), **kwargs)


@pytest.mark.parametrize("case", [0, 1, 6])
def test_bad_external_inputs_cli(cli, tmp_path, case):
    """Through the CLI: one line, non-zero exit, no output file (not even a temporary one)."""
    source, kwargs, message = BAD_EXTERNAL[case]
    args = [x for k, v in kwargs.items() for x in (f"--{k.replace('_', '-')}", v)]
    out = tmp_path / "out.npy"
    proc = cli("lut", "--verilog", verilog_file(tmp_path, source), *args, "-o", out)
    assert_one_line_error(proc)
    assert message in proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.npy*"))


def test_bad_invocations(cli, tmp_path):
    d = write_design(make("exact", 4), tmp_path)
    cases = [
        (["lut", tmp_path / "missing.json", "-o", tmp_path / "a.npy"], "not found"),
        (["lut", "--verilog", tmp_path / "missing.v", "-o", tmp_path / "a.npy"], "not found"),
        (["lut", d, "--signed", "-o", tmp_path / "a.npy"], "external Verilog only"),
        (["lut", d, "--verilog", FIXTURE, "-o", tmp_path / "a.npy"], "not both"),
        (["lut", "-o", tmp_path / "a.npy"], "no design given"),
        (["lut", d, "-o", tmp_path / "a.txt"], "cannot tell the LUT format"),
        (["lut", d, "--format", "tfapprox", "-o", tmp_path / "a.bin"], "8x8"),
        (["metrics", d, "--dist", tmp_path / "none.npy"], "not found"),
    ]
    for args, message in cases:
        proc = cli(*args)
        assert_one_line_error(proc)
        assert message in proc.stderr, (args, proc.stderr)
    assert not list(tmp_path.glob("a.*")) and not list(tmp_path.glob(".a.*"))


def test_unwritable_output_leaves_nothing(cli, tmp_path):
    d = write_design(make("exact", 4), tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = cli("lut", d, "-o", blocker / "sub" / "l.npy")
    assert_one_line_error(proc)
    assert blocker.read_text() == "x"


def test_cli_lut_formats_from_suffix(cli, tmp_path):
    d = write_design(make("perforated", 8, signed=True, start=1, count=2), tmp_path)
    unsigned = write_design(make("perforated", 8, start=1, count=2), tmp_path)  # for TFApprox
    minus_one = load_design(d).golden(np.array([-1]), np.array([-1]))[0]
    assert minus_one == 7  # (-1) * (-1 with bits 1..2 cleared = -7)
    for suffix, check in [(".npy", lambda p: np.load(p)[0xFF, 0xFF] == minus_one),
                          (".bin", lambda p: p.stat().st_size == 131072),
                          (".h", lambda p: "lut [256][256]" in p.read_text()),
                          (".csv", lambda p: p.read_text().startswith("a,b,p\n"))]:
        out = tmp_path / f"l{suffix}"
        proc = cli("lut", unsigned if suffix == ".bin" else d, "-o", out)
        assert proc.returncode == 0, proc.stderr
        assert check(out), suffix


def test_dist_cli_delta(cli, tmp_path):
    d = write_design(make("perforated", 8, start=0, count=2), tmp_path)
    joint = np.zeros((256, 256))
    joint[17, 3] = 1
    np.save(tmp_path / "delta.npy", joint)
    proc = cli("metrics", d, "--dist", tmp_path / "delta.npy", "--json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert m["mae"] == 17 * 3 and m["er"] == 1 and m["distribution"].endswith("delta.npy")


def test_python_api_errors():
    with pytest.raises(AxhwError, match="three distinct names"):
        load_external(FIXTURE, ports="A,B")
