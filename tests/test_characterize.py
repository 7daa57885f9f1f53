"""`axhw characterize`: real Yosys + OpenSTA PPA on real cell libraries (osu018, nangate45, ...)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from axhw.ppa.characterize import characterize
from axhw.design.record import load_design, write_design
from axhw.gen.families import make
from axhw.ppa.pdk import find_liberty_files, load_library

from conftest import assert_one_line_error

OSU018 = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")

# Sane area of a mapped 8x8 unsigned exact multiplier (um^2): a few hundred gates.
EXACT8_AREA = {"osu018": (3_000, 30_000), "nangate45": (150, 1_000), "sky130hd": (800, 8_000),
               "asap7": (8, 80)}


def library(pdk: str):
    return load_library(pdk)  # bundled (nangate45, asap7, sky130hd) or apt (osu018): never skipped


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    out = tmp_path_factory.mktemp("designs")
    specs = {"exact8": make("exact", 8), "perf8": make("perforated", 8, start=2, count=3),
             "exact4": make("exact", 4)}
    return {k: load_design(write_design(s, out)) for k, s in specs.items()}


def check_consistent(r: dict) -> None:
    assert r["power_mw"] == pytest.approx(r["dynamic_mw"] + r["leakage_mw"], rel=1e-6)
    assert r["dynamic_mw"] == pytest.approx(r["internal_mw"] + r["switching_mw"], rel=1e-6)
    assert r["energy_pj"] == pytest.approx(r["power_mw"] * r["clock_ns"])
    assert 0 < r["delay_ns"] < r["clock_ns"] and r["cells"] == sum(r["cell_counts"].values())


@pytest.mark.parametrize("pdk", ["osu018", "nangate45"])
def test_exact_costs_more_than_perforated(designs, pdk):
    lib = library(pdk)
    exact = characterize(designs["exact8"], lib, use_cache=False)
    approx = characterize(designs["perf8"], lib, use_cache=False)
    for r in (exact, approx):
        check_consistent(r)
        assert r["pdk"] == pdk and r["vectors"] == 4096 and r["seed"] == 1
    lo, hi = EXACT8_AREA[pdk]
    assert lo < exact["area_um2"] < hi
    assert exact["area_um2"] > approx["area_um2"] and exact["cells"] > approx["cells"]
    assert exact["power_mw"] > approx["power_mw"] and exact["leakage_mw"] > approx["leakage_mw"]
    assert exact["er"] == 0 and exact["wce"] == 0
    assert approx["er"] > 0 and approx["mae"] > 0  # the metrics of `axhw metrics` ride along


def test_power_grows_with_activity(designs, tmp_path):
    lib = library("osu018")
    const = tmp_path / "const.csv"
    const.write_text("a,b\n" + "37,201\n" * 64)
    lsb = tmp_path / "lsb.csv"  # only the lowest bit of a toggles
    lsb.write_text("a,b\n" + "".join(f"{36 + k % 2},201\n" for k in range(64)))
    d = designs["exact8"]
    r_const = characterize(d, lib, activity_file=const, use_cache=False)
    r_lsb = characterize(d, lib, activity_file=lsb, use_cache=False)
    r_uniform = characterize(d, lib, use_cache=False)
    assert r_const["dynamic_mw"] == 0 and r_const["mean_toggle_rate"] == 0
    assert r_const["power_mw"] == pytest.approx(r_const["leakage_mw"])
    assert 0 < r_lsb["dynamic_mw"] < r_uniform["dynamic_mw"]
    assert r_const["leakage_mw"] == pytest.approx(r_uniform["leakage_mw"], rel=0.2)
    assert r_const["area_um2"] == r_uniform["area_um2"]


def test_delay_and_area_grow_with_width(designs):
    lib = library("osu018")
    r4 = characterize(designs["exact4"], lib, use_cache=False)
    r8 = characterize(designs["exact8"], lib)
    assert r8["delay_ns"] > r4["delay_ns"] * 1.2
    assert r8["area_um2"] > 2 * r4["area_um2"]


def test_power_scales_with_clock_frequency(designs):
    """Activity is per clock period: 10x the frequency, 10x the dynamic power, same leakage and
    the same dynamic energy per operation; a 1 ns clock is not met in 0.18 um (negative slack)."""
    lib = library("osu018")
    slow = characterize(designs["exact8"], lib)
    fast = characterize(designs["exact8"], lib, clock_ns=1.0, use_cache=False)
    assert fast["area_um2"] == slow["area_um2"]  # the same mapping (checked for this design)
    assert fast["dynamic_mw"] == pytest.approx(10 * slow["dynamic_mw"], rel=1e-3)
    assert fast["leakage_mw"] == pytest.approx(slow["leakage_mw"], rel=1e-3)
    assert fast["clock_ns"] == 1.0 and fast["slack_ns"] < 0
    assert fast["delay_ns"] == pytest.approx(slow["delay_ns"], rel=1e-3)


def test_external_verilog(tmp_path):
    v = tmp_path / "mul_beh.v"
    v.write_text("module mul6(input [5:0] A, input [5:0] B, output [11:0] O);\n"
                 "  assign O = A * B;\nendmodule\n")
    from axhw.design.external import load_input

    r = characterize(load_input(verilog=v), library("osu018"), vectors=512, use_cache=False)
    check_consistent(r)
    assert r["family"] == "external" and r["er"] == 0 and r["vectors"] == 512


def test_cache_hit_returns_stored_result(designs):
    lib = library("osu018")
    first = characterize(designs["perf8"], lib, vectors=256, seed=7)
    again = characterize(designs["perf8"], lib, vectors=256, seed=7)
    assert again == first
    other = characterize(designs["perf8"], lib, vectors=256, seed=8)
    assert other["seed"] == 8 and other["mean_toggle_rate"] != first["mean_toggle_rate"]
    assert Path(first["netlist"]).is_file() and Path(first["logs"]["opensta"]).is_file()


@pytest.mark.slow
def test_sky130hd(designs):
    r = characterize(designs["exact8"], library("sky130hd"), use_cache=False)
    check_consistent(r)
    lo, hi = EXACT8_AREA["sky130hd"]
    assert lo < r["area_um2"] < hi and r["leakage_mw"] > 0
    assert not [c for c in r["cell_counts"] if "lpflow" in c or "probe" in c]  # PDK dont_use


def test_asap7_ps_units_end_to_end(designs):
    """ASAP7 (ps, fF, pW) through Yosys and OpenSTA, on two of its five files (SIMPLE + INVBUF:
    a complete combinational library; the full five take ~30 s to read the first time)."""
    files = [f for f in find_liberty_files("asap7") if "_SIMPLE_" in f.name or "_INVBUF_" in f.name]
    assert len(files) == 2
    lib = load_library("asap7", liberty=files)
    r = characterize(designs["exact8"], lib, use_cache=False)
    check_consistent(r)
    lo, hi = EXACT8_AREA["asap7"]
    assert lo < r["area_um2"] < hi
    # ns, not ps: a 7 nm 8x8 multiplier is a few hundred ps; mW, not pW
    assert 0.1 < r["delay_ns"] < 2.0 and 1e-4 < r["power_mw"] < 1.0


def test_cli_json_output_and_errors(cli, designs, tmp_path):
    design = designs["perf8"].json_path
    out = tmp_path / "ppa.json"
    proc = cli("characterize", design, "--pdk", "osu018", "--vectors", "256", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "area (um^2)" in proc.stdout and "ER (error rate)" in proc.stdout
    r = json.loads(out.read_text())
    for key in ("area_um2", "delay_ns", "power_mw", "dynamic_mw", "leakage_mw", "energy_pj",
                "cells", "pdk", "clock_ns", "vectors", "tools", "er", "mae", "wce", "nmed"):
        assert key in r, key
    proc = cli("characterize", design, "--pdk", "osu018", "--vectors", "256", "--json")
    assert json.loads(proc.stdout)["area_um2"] == r["area_um2"]

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n300,4\n")
    out2 = tmp_path / "never.json"
    proc = cli("characterize", design, "--activity", bad, "-o", out2)
    assert_one_line_error(proc)
    assert "outside 0..255" in proc.stderr and not out2.exists()
    proc = cli("characterize", design, "--clock-ns", "0")
    assert_one_line_error(proc)


def test_tool_failure_names_tool_and_log(cli, designs, tmp_path):
    """A library ABC cannot map to (only an inverter and a buffer) -> one line, Yosys, kept log."""
    text = OSU018.read_text()

    def cell(name, nxt):
        return text[text.index(f"cell ({name})"):text.index(f"cell ({nxt})")]

    lib = tmp_path / "invbuf.lib"
    lib.write_text(text[:text.index("cell (AND2X1)")] + cell("INVX1", "INVX2")
                   + cell("BUFX2", "BUFX4") + "}\n")
    out = tmp_path / "never.json"
    proc = cli("characterize", designs["exact4"].json_path, "--liberty", lib, "-o", out)
    assert_one_line_error(proc)
    assert "yosys:" in proc.stderr and "(log: " in proc.stderr and not out.exists()
    log = proc.stderr.split("(log: ")[1].rstrip(")\n")
    assert Path(log).is_file()


def test_clocked_design_api(tmp_path):
    """The pieces a systolic array uses: registers mapped by dfflibmap, the clock on a port."""
    import json as _json

    from axhw.ppa.activity import port_bit_names
    from axhw.ppa.sta import sta
    from axhw.ppa.synth import synthesize

    v = tmp_path / "mac.v"
    v.write_text("module mac(input clk, input [3:0] a, input [3:0] b, output reg [7:0] p);\n"
                 "  reg [3:0] ra, rb;\n"
                 "  always @(posedge clk) begin ra <= a; rb <= b; p <= ra * rb; end\n"
                 "endmodule\n")
    lib = library("osu018")
    syn = synthesize(v, "mac", lib, 5.0, tmp_path / "run")
    assert syn.cell_counts.get("DFFPOSX1") == 16 and syn.sequential_area_um2 > 0
    ports = [n for n in port_bit_names(_json.loads(syn.netlist_json.read_text()), "mac").values()
             if n != "clk"]
    t = sta(syn, lib, 5.0, ports, clock_port="clk")
    # reg -> 4x4 multiplier -> reg: clock-to-Q + logic + setup, more than one gate delay
    assert 0.5 < t.delay_ns < 5.0 and t.leakage_mw > 0
    # Idle data, running clock: the flops' clock pins still draw power.
    clocks = {p for p in t.pin_power if p.endswith("/CLK")}
    assert len(clocks) == 16
    idle = t.power({p: 2.0 if p in clocks else 0.0 for p in t.pin_power})
    assert idle.dynamic_mw > 0 and idle.leakage_mw == t.leakage_mw


def test_activity_statistics(designs, tmp_path):
    """Uniform operands: every input bit toggles half the time and is 1 half the time; product
    bit p[0] = a0 & b0 is 1 a quarter of the time and toggles 2 * 1/4 * 3/4 of the periods."""
    import json as _json

    from axhw.ppa.activity import operand_vectors, switching_activity
    from axhw.ppa.synth import synthesize

    d, lib = designs["exact8"], library("osu018")
    syn = synthesize(d.verilog_path, d.top, lib, 10.0, tmp_path)
    a, b = operand_vectors(d, 20_000, 5)
    act = switching_activity(syn, lib, d.ports, a, b)
    assert act.vectors == 20_000 and len(act.ports) == 16
    for toggle, duty in act.ports.values():
        assert toggle == pytest.approx(0.5, abs=0.02) and duty == pytest.approx(0.5, abs=0.02)
    module = _json.loads(syn.netlist_json.read_text())["modules"][d.top]
    p0 = module["ports"]["p"]["bits"][0]
    (pin,) = [f"{name}/{p}" for name, c in module["cells"].items()
              for p, bits in c["connections"].items()
              if c["port_directions"][p] == "output" and bits == [p0]]
    toggle, duty = act.pins[pin]
    assert duty == pytest.approx(0.25, abs=0.02) and toggle == pytest.approx(0.375, abs=0.02)
