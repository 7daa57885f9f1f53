"""Systolic array RTL under cocotb (Icarus and Verilator): random tiles and matrices with corner
values, bubbles, back-pressure and a mid-stream reset, checked against the functional model and
cycle by cycle against the cycle-accurate model."""

import re

import pytest

from axhw.design.record import load_design
from axhw.systolic.array import SystolicArray
from axhw.systolic.design import write_array
from axhw.systolic.verify import run_array
from axhw.verify.dispatch import verify_design

# Small workload for the unit tests: 4 tiles (uniform, corners, all-min, all-max) x 2 matrices.
SMALL = {"tiles": 4, "matrices": 2, "vectors": 6}

ARRAYS = {
    "2x2-exact-s4": (2, 2, 4, True, {"multiplier": "exact"}),
    "2x2-het-u5-p1-nobp": (2, 2, 5, False, {"column_multipliers": "perforated:start=1,count=2;exact",
                                            "pipeline": "1", "backpressure": "0"}),
}


def _write(tmp_path, rows, cols, bits, signed, kv):
    kv = {"rows": str(rows), "cols": str(cols), **kv}
    return write_array(SystolicArray.from_strings(bits, bits, signed, kv), tmp_path)


def _assert_clean(summary, vectors, backpressure):
    bad = {k: summary[k] for k in ("mismatches", "model_mismatches", "unknown_outputs")}
    assert not any(bad.values()), (bad, summary["first_mismatches"])
    assert summary["vectors"] == vectors and summary["resets"] == 1
    assert summary["bubble_cycles"] > 0 and (summary["stall_cycles"] > 0) == backpressure


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
@pytest.mark.parametrize("name", list(ARRAYS))
def test_small_arrays(tmp_path, sim, name):
    path = _write(tmp_path, *ARRAYS[name])
    summary = run_array(sim, path, seed=7, **SMALL)
    _assert_clean(summary, 4 * 2 * 6, "nobp" not in name)
    assert summary["matrices"] == 8


@pytest.mark.parametrize("columns", [
    "exact;exact;exact;exact",
    "exact;perforated:start=2,count=3;bam:h=1,v=5;truncated:mode=cct,out_bits=8",
], ids=["exact", "heterogeneous"])
def test_cli_4x4_8bit_both_simulators(tmp_path, cli, columns):
    proc = cli("gen", "--type", "systolic", "--bits", "8", "-p", "rows=4", "-p", "cols=4",
               "-p", f"column_multipliers={columns}", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.strip().splitlines()[-1]
    proc = cli("verify", path, "--sim", "both")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("PASS")]
    assert len(lines) == 2, proc.stdout
    for line in lines:
        assert " 0 mismatches" in line and "cycle model mismatches 0" in line
        matrices, macs = re.search(r"\((\d+) matrices, ([\d,]+) MACs", line).groups()
        assert int(matrices) == 24 and int(macs.replace(",", "")) == 24 * 8 * 16


@pytest.mark.slow
def test_8x8_signed_heterogeneous_icarus(tmp_path):
    cols = ";".join(["exact", "perforated:start=1,count=2", "exact:encoding=booth",
                     "perforated:start=0,count=1,encoding=booth"] * 2)
    path = _write(tmp_path, 8, 8, 8, True, {"column_multipliers": cols})
    (result,) = verify_design(load_design(path), sim="icarus", seed=3)
    assert result.ok, result.first_mismatches
    assert result.checked == 6 * 4 * 8 and "1 mid-stream resets" in result.detail


@pytest.mark.parametrize("good,bad", [
    ("s_out <= s_in + p_ext;", "s_out <= s_in ^ p_ext;"),  # arithmetic
    ("    if (en) begin\n      a_out <= a_in;", "    begin\n      a_out <= a_in;"),  # stall
], ids=["adder", "stall"])
def test_broken_array_rtl_is_caught(tmp_path, good, bad):
    """Tests that can fail: a corrupted PE must be reported, not passed."""
    path = _write(tmp_path, 3, 2, 4, False, {"multiplier": "exact"})
    vpath = load_design(path).verilog_path
    text = vpath.read_text()
    assert good in text
    vpath.write_text(text.replace(good, bad))
    summary = run_array("icarus", path, seed=2, **SMALL)
    assert summary["mismatches"] + summary["model_mismatches"] > 0


def test_fixed_width_columns_and_narrow_accumulator_icarus(tmp_path):
    """out_shift (fixed-width CCT/VCT ports placed at product scale) and a wrapping 12-bit
    accumulator narrower than the products, in RTL."""
    cols = "truncated:mode=cct,out_bits=8;exact;truncated:mode=vct,out_bits=10"
    path = _write(tmp_path, 3, 3, 8, False, {"column_multipliers": cols, "acc_bits": "12"})
    summary = run_array("icarus", path, seed=5, **SMALL)
    _assert_clean(summary, 4 * 2 * 6, True)
