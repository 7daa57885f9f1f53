"""cocotb test: run the pair-sweep testbench and check every output against the golden model.

Configuration comes from the file named by AXHW_SIM_CONFIG (JSON): design JSON path (or none for
dump-only runs), vectors (.npy of pair indices), the simulator's output file, and a summary path.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from axhw.sim.check import check_outputs, read_hex_outputs


@cocotb.test()
async def pair_sweep(dut):
    with open(os.environ["AXHW_SIM_CONFIG"]) as fh:
        cfg = json.load(fh)
    if cfg["drive_clock"]:  # else the testbench clocks itself (see pair_sweep_tb.v)
        Clock(dut.clk_in, 2, unit="ns").start()
    await RisingEdge(dut.done)
    p_raw, bad = read_hex_outputs(cfg["out"], cfg["count"])
    summary = {"count": int(cfg["count"]), "unknown_outputs": int(bad.sum())}
    if cfg.get("design"):
        index = np.load(cfg["index"])
        summary.update(check_outputs(cfg["design"], index, p_raw, bad))
    np.save(cfg["outputs_npy"], p_raw)
    with open(cfg["summary"], "w") as fh:
        json.dump(summary, fh)
    assert summary.get("mismatches", 0) == 0 and summary["unknown_outputs"] == 0, (
        f"{summary.get('mismatches', 0)} mismatches, {summary['unknown_outputs']} X/Z outputs")
