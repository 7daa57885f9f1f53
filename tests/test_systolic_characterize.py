"""Systolic array PPA: Yosys with flip-flops, clocked OpenSTA, activity from a GEMM workload run
on the mapped netlist (osu018, and the bundled nangate45 and sky130hd)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from axhw.ppa.characterize import characterize
from axhw.design.record import load_design
from axhw.infra.errors import ToolError
from axhw.ppa.pdk import load_library
from axhw.ppa.synth import synthesize
from axhw.systolic.array import SystolicArray
from axhw.systolic.characterize import gemm_activity
from axhw.systolic.design import write_array

from conftest import assert_one_line_error



def library(pdk: str):
    return load_library(pdk)  # bundled (nangate45, asap7, sky130hd) or apt (osu018): never skipped


def array_json(tmp_path, **kv):
    kv = {"rows": "2", "cols": "2", **{k: str(v) for k, v in kv.items()}}
    return write_array(SystolicArray.from_strings(4, 4, True, kv), tmp_path)


@pytest.mark.parametrize("pdk", ["osu018", "nangate45", "sky130hd"])  # sky130: enable flops
def test_array_ppa(tmp_path, pdk):
    design = load_design(array_json(tmp_path, backpressure=0,
                                    column_multipliers="exact;perforated:start=0,count=1"))
    r = characterize(design, library(pdk), clock_ns=5.0, vectors=256, use_cache=False)
    assert r["family"] == "systolic" and r["rows"] == r["cols"] == 2
    assert r["area_um2"] > r["sequential_area_um2"] > 0 and r["flops"] > 20
    assert r["min_period_ns"] > 0 and r["fmax_mhz"] == pytest.approx(1e3 / r["min_period_ns"])
    assert r["power_mw"] > r["leakage_mw"] >= 0
    assert r["energy_per_mac_pj"] == pytest.approx(r["power_mw"] * 5.0 / 4)
    assert r["checked_vectors"] == 64 * (4 + 4)  # lanes x (latency + window) results checked
    assert 0 < r["mean_toggle_rate"] < 1
    sta_log = Path(r["logs"]["opensta"]).read_text()
    assert "rising edge-triggered flip-flop clocked by axhw_clk" in sta_log


def test_stall_enable_does_not_set_the_period(tmp_path):
    """With back-pressure the stall enable reaches every data register; each register group has
    its own copy of it, so the clock period stays near the valid-only array's (one shared
    unbuffered enable gate made it 150x longer on osu018)."""
    lib = library("osu018")
    periods = {}
    for bp in (0, 1):
        design = load_design(array_json(tmp_path / f"bp{bp}", backpressure=bp))
        r = characterize(design, lib, clock_ns=5.0, vectors=256, use_cache=False)
        periods[bp] = r["min_period_ns"]
    assert periods[1] < 1.3 * periods[0], periods


def test_broken_mapped_netlist_is_caught(tmp_path):
    """The activity run checks the mapped netlist's results: swap one gate and it must fail."""
    lib = library("osu018")
    design = load_design(array_json(tmp_path, backpressure=0))
    syn = synthesize(design.verilog_path, design.top, lib, 5.0, tmp_path / "syn")
    data = json.loads(syn.netlist_json.read_text())
    cells = data["modules"][design.top]["cells"]
    victim = next(c for c in cells.values() if c["type"] == "XOR2X1")
    victim["type"] = "XNOR2X1"  # same pins, inverted output
    syn.netlist_json.write_text(json.dumps(data))
    arr = SystolicArray.from_strings(4, 4, True, {"rows": "2", "cols": "2", "backpressure": "0"})
    with pytest.raises(ToolError, match="mapped netlist"):
        gemm_activity(syn, lib, arr, window=4, seed=1)


def test_activity_file_rejected(tmp_path, cli):
    path = array_json(tmp_path)
    csv = tmp_path / "ops.csv"
    csv.write_text("a,b\n1,2\n3,4\n")
    proc = cli("characterize", path, "--activity", csv)
    assert_one_line_error(proc)
    assert "GEMM workload" in proc.stderr
