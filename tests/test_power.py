"""Power from the simulated activity: OpenSTA's per-pin energies x the mapped netlist's toggles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from axhw.ppa.activity import switching_activity
from axhw.ppa.characterize import characterize, input_port_names
from axhw.design.record import load_design, write_design
from axhw.gen.families import make
from axhw.design.external import load_input
from axhw.ppa.pdk import load_library
from axhw.ppa.sta import sta
from axhw.ppa.synth import synthesize
from axhw.infra.tools.opensta import run_tcl

from conftest import assert_one_line_error


@pytest.fixture(scope="module")
def nangate():
    return load_library("nangate45")


def gates(tmp_path, name, body, width=1, out=1):
    """A netlist of Nangate cells (kept as written by synthesis), ports A, B, O."""
    v = tmp_path / f"{name}.v"
    v.write_text(f"module {name}(input [{width - 1}:0] A, input [{width - 1}:0] B, "
                 f"output [{out - 1}:0] O);\n{body}\nendmodule\n")
    return v


def run(v, top, lib, a, b, tmp_path, clock_ns=2.0, ports=("A", "B", "O")):
    syn = synthesize(v, top, lib, clock_ns, tmp_path / f"run-{top}-{len(a)}")
    act = switching_activity(syn, lib, ports, np.asarray(a), np.asarray(b))
    timing = sta(syn, lib, clock_ns, input_port_names(syn))
    return syn, act, timing, timing.power(act.cell_pins)


def test_xor_output_toggles_as_simulated(nangate, tmp_path):
    """Uniform inputs: an XOR output toggles in half the periods (OpenSTA's own propagation says
    a quarter); its power is its energy at one toggle x 0.5."""
    v = gates(tmp_path, "x1", "XOR2_X1 g(.A(A[0]), .B(B[0]), .Z(O[0]));")
    rng = np.random.default_rng(3)
    _, act, timing, p = run(v, "x1", nangate, rng.integers(0, 2, 4000), rng.integers(0, 2, 4000),
                            tmp_path)
    assert act.cell_pins["g/Z"] == pytest.approx(0.5, abs=0.03)
    e_int, e_sw = timing.pin_power["g/Z"]
    assert e_int > 0 and e_sw > 0
    assert p.dynamic_mw == pytest.approx(sum(i + s for i, s in timing.pin_power.values())
                                         * act.cell_pins["g/Z"], rel=0.1)


def test_multi_output_cell_charges_each_output(nangate, tmp_path):
    """A half adder: (0,0)<->(1,1) toggles only CO, (0,0)<->(1,0) only S; each stream's dynamic
    power is that output pin's energy (plus its inputs'), and the two differ."""
    v = gates(tmp_path, "ha", "HA_X1 h(.A(A[0]), .B(B[0]), .S(O[0]), .CO(O[1]));", out=2)
    n = 64
    _, act_co, timing, p_co = run(v, "ha", nangate, [0, 1] * n, [0, 1] * n, tmp_path)
    _, act_s, _, p_s = run(v, "ha", nangate, [0, 1] * (n + 1), [0, 0] * (n + 1), tmp_path)
    assert act_co.cell_pins["h/S"] == 0 and act_co.cell_pins["h/CO"] == 1
    assert act_s.cell_pins["h/CO"] == 0 and act_s.cell_pins["h/S"] == 1
    pins = timing.pin_power
    assert set(pins) >= {"h/S", "h/CO"} and all(v[1] > 0 for k, v in pins.items() if k[2:] in "SCO")
    inputs = sum(i + s for k, (i, s) in pins.items() if k in ("h/A", "h/B"))
    assert p_co.dynamic_mw == pytest.approx(sum(pins["h/CO"]) + inputs, rel=1e-6)
    assert p_s.dynamic_mw == pytest.approx(sum(pins["h/S"]) + inputs / 2, rel=1e-6)
    assert abs(p_co.dynamic_mw - p_s.dynamic_mw) > 0.05 * p_s.dynamic_mw


def test_identical_functions_ranked_by_simulated_toggles(nangate, tmp_path):
    """O = A & B as one AND gate per bit, and as (A | B) & !(A ^ B): same function, the second
    has more nets toggling (XOR outputs toggle every other period); it costs more, by its toggles."""
    lean = gates(tmp_path, "lean", "\n".join(
        f"AND2_X1 g{k}(.A1(A[{k}]), .A2(B[{k}]), .ZN(O[{k}]));" for k in range(4)), 4, 4)
    busy = gates(tmp_path, "busy", "\n".join(
        f"wire x{k}, o{k}, n{k};\nXOR2_X1 x_{k}(.A(A[{k}]), .B(B[{k}]), .Z(x{k}));\n"
        f"OR2_X1 o_{k}(.A1(A[{k}]), .A2(B[{k}]), .ZN(o{k}));\nINV_X1 i_{k}(.A(x{k}), .ZN(n{k}));\n"
        f"AND2_X1 a_{k}(.A1(o{k}), .A2(n{k}), .ZN(O[{k}]));" for k in range(4)), 4, 4)
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 16, 4000), rng.integers(0, 16, 4000)
    results = {}
    for v, top in ((lean, "lean"), (busy, "busy")):
        _, act, timing, p = run(v, top, nangate, a, b, tmp_path)
        assert np.array_equal(act.outputs, a & b)
        toggle_energy = sum((i + s) * act.cell_pins[k] for k, (i, s) in timing.pin_power.items())
        assert p.dynamic_mw == pytest.approx(toggle_energy, rel=1e-9)
        results[top] = p.dynamic_mw
    assert results["busy"] > 2 * results["lean"]


def test_reproduces_opensta_total_with_its_own_activities(nangate, tmp_path):
    """Fed OpenSTA's propagated activities (input activity 0.5), the per-pin method gives
    OpenSTA's own total power within 3 %."""
    d = load_design(write_design(make("exact", 4), tmp_path))
    syn, _, timing, _ = run(d.verilog_path, d.top, nangate, [0, 1], [0, 1], tmp_path,
                            ports=d.ports)
    script = (syn.workdir / "sta.tcl").read_text().split("set_power_activity -global")[0]
    script += ("set_power_activity -input -activity 0.5 -duty 0.5\n"
               "puts \"axhw total [sta::design_power [sta::cmd_corner]]\"\n"
               "foreach p [get_pins *] { puts \"axhw pin [get_full_name $p] "
               "[get_property $p activity]\" }\n")
    text = run_tcl(script, syn.workdir / "vectorless.log")
    rates, total = {}, None
    for line in text.splitlines():
        if line.startswith("axhw total"):
            total = float(line.split()[5]) * 1e3  # internal switching leakage total (W)
        elif line.startswith("axhw pin"):
            rates[line.split()[2]] = float(line.split()[3]) * 2e-9  # per second -> per period
    ours = timing.power(rates).total_mw
    assert total > 0 and ours == pytest.approx(total, rel=0.03)


def test_operand_distribution_moves_power(nangate, tmp_path):
    """The same netlist: operands whose upper half of `a` never toggles draw clearly less
    dynamic power than uniform operands (and more than a constant stream: leakage only)."""
    d = load_design(write_design(make("exact", 8), tmp_path))
    rng = np.random.default_rng(2)
    low = tmp_path / "low.csv"
    low.write_text("a,b\n" + "".join(f"{x},{y}\n" for x, y in zip(rng.integers(0, 16, 2048),
                                                                 rng.integers(0, 256, 2048))))
    r_low = characterize(d, nangate, clock_ns=2.0, activity_file=low, use_cache=False)
    r_uni = characterize(d, nangate, clock_ns=2.0, vectors=2048, use_cache=False)
    assert r_uni["activity_model"] == r_low["activity_model"] == "zero-delay"
    assert r_low["dynamic_mw"] < 0.7 * r_uni["dynamic_mw"]
    assert r_low["leakage_mw"] == pytest.approx(r_uni["leakage_mw"])


def test_constant_design_has_zero_delay(nangate, tmp_path):
    """Every output tied: no timing path; delay 0 with a note, never OpenSTA's infinite slack."""
    v = tmp_path / "zero.v"
    v.write_text("module zero(input [3:0] A, input [3:0] B, output [7:0] O);\n"
                 "  assign O = 8'd0;\nendmodule\n")
    r = characterize(load_input(verilog=v), nangate, clock_ns=2.0, vectors=256, use_cache=False)
    assert r["delay_ns"] == 0 and r["slack_ns"] == 2.0 and "constant" in r["delay_note"]
    assert r["dynamic_mw"] == 0 and r["power_mw"] == pytest.approx(r["leakage_mw"])
    json.dumps(r, allow_nan=False)


def test_glitch_model_counts_hazard_pulses(nangate, tmp_path):
    """O[0] = A ^ (A through 16 inverters) is constant 0 after settling, but every toggle of A
    sends a pulse 16 inverter delays wide (longer than the XOR's delay) through the XOR: two
    output toggles; O[1] = A ^ (A through 2 inverters): the pulse is shorter than the XOR's
    delay and swallowed (inertial delay). Zero-delay counts neither."""
    chain = "\n".join(f"wire w{k + 1};\nINV_X1 i{k}(.A(w{k}), .ZN(w{k + 1}));" for k in range(16))
    v = gates(tmp_path, "hz", "wire w0;\nassign w0 = A[0];\n" + chain +
              "\nXOR2_X1 x(.A(A[0]), .B(w16), .Z(O[0]));\nXOR2_X1 y(.A(A[0]), .B(w2), .Z(O[1]));"
              "\nLOGIC1_X1 t(.Z(O[2]));", 1, 3)
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 2, 2000), np.zeros(2000, dtype=np.int64)
    syn = synthesize(v, "hz", nangate, 2.0, tmp_path / "hz")
    timing = sta(syn, nangate, 2.0, input_port_names(syn))
    zero = switching_activity(syn, nangate, ("A", "B", "O"), a, b)
    glitch = switching_activity(syn, nangate, ("A", "B", "O"), a, b, "glitch", timing.sdf)
    assert glitch.model == "glitch" and zero.model == "zero-delay"
    a_rate = zero.cell_pins["x/A"]
    assert zero.cell_pins["x/Z"] == 0 and glitch.cell_pins["x/Z"] == pytest.approx(2 * a_rate)
    assert glitch.cell_pins["y/Z"] == 0 and glitch.cell_pins["t/Z"] == 0  # a tie cell: no events
    assert glitch.cell_pins["i15/ZN"] == zero.cell_pins["i15/ZN"] == pytest.approx(a_rate)
    assert timing.power(glitch.cell_pins).dynamic_mw > timing.power(zero.cell_pins).dynamic_mw


def test_glitch_model_end_to_end(nangate, cli, tmp_path):
    """The glitch model on a multiplier: more toggles and power than zero-delay (carries ripple
    and glitch), the same area; the result names the model; an unknown model is one line."""
    d = write_design(make("exact", 4), tmp_path)
    zd, gl = (characterize(load_design(d), nangate, clock_ns=2.0, vectors=512, use_cache=False,
                           activity_model=model) for model in ("zero-delay", "glitch"))
    assert zd["activity_model"] == "zero-delay" and gl["activity_model"] == "glitch"
    assert gl["mean_toggle_rate"] > zd["mean_toggle_rate"]
    assert gl["dynamic_mw"] > zd["dynamic_mw"] and gl["area_um2"] == zd["area_um2"]
    proc = cli("characterize", d, "--activity-model", "psychic")
    assert "psychic" in proc.stderr
    assert_one_line_error(proc)


def test_sweep_spec_activity_model(tmp_path):
    """A sweep SPEC passes `activity_model` to characterize (part of each point's cache key)
    and each row says which model produced its power."""
    from axhw.infra.errors import AxhwError
    from axhw.sweep.run import _characterize
    from axhw.sweep.spec import spec_from_dict

    raw = {"designs": [{"type": "exact"}], "vectors": 256}
    assert spec_from_dict(raw).options()["activity_model"] == "zero-delay"
    options = spec_from_dict({**raw, "activity_model": "glitch"}).options()
    assert options["activity_model"] == "glitch"
    with pytest.raises(AxhwError, match="activity_model"):
        spec_from_dict({**raw, "activity_model": "psychic"})
    row = _characterize(load_design(write_design(make("exact", 4), tmp_path)), "nangate45",
                        {**options, "pdk_root": None})
    assert row["activity_model"] == "glitch" and row["power_mw"] > 0


def test_array_power_from_gemm_toggles(tmp_path):
    """Systolic array: every pin OpenSTA charges has a simulated rate (clock pins 2 per period);
    the GEMM workload draws more than the same array clocked with idle data, which draws more
    than leakage."""
    from axhw.systolic.array import SystolicArray
    from axhw.systolic.characterize import gemm_activity
    from axhw.systolic.design import array_from_dict, write_array

    lib = load_library("osu018")
    d = load_design(write_array(SystolicArray.from_strings(4, 4, False, {
        "rows": "2", "cols": "2", "backpressure": "0"}), tmp_path))
    arr = array_from_dict(d.meta, str(d.json_path))
    syn = synthesize(d.verilog_path, d.top, lib, 10.0, tmp_path / "run", map_flops=True)
    act, _ = gemm_activity(syn, lib, arr, 8, 1)
    ports = [p for p in input_port_names(syn) if p != "clk"]
    timing = sta(syn, lib, 10.0, ports, clock_port="clk")
    clocks = [p for p in timing.pin_power if p.endswith("/CLK")]
    assert clocks and all(act.cell_pins[p] == 2.0 for p in clocks)
    busy = timing.power(act.cell_pins)
    idle = timing.power({p: (2.0 if p in clocks else 0.0) for p in timing.pin_power})
    assert busy.dynamic_mw > 1.2 * idle.dynamic_mw > 0 and busy.leakage_mw == idle.leakage_mw
