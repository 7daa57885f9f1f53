"""Final carry-propagate adders (axhw.gen.hdl.adders) alone and as the final adder of every tree family.

Gate-level evaluation (axhw.sim.netsim, Yosys techmap only, so the gates checked are the generated
ones) is exhaustive: every adder at widths 1..8 against ``+``, every tree family × adder at 8×8.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error

from axhw.sim import netsim
from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import family_names, get_family, make
from axhw.gen.families.base import Multiplier
from axhw.design.golden import all_pairs, pair_values, to_raw
from axhw.gen.hdl import adders
from axhw.gen.hdl.netlist import Netlist
from axhw.infra.tools import yosys

STRUCTURAL = [a for a in adders.ADDERS if a != "synth"]
TREE_FAMILIES = [n for n in family_names() if get_family(n).is_tree_based()]
MAX_W = 8


def _all_widths_module(name: str) -> str:
    """One module: for every width w <= MAX_W, the w-bit adder of a[w-1:0], b[w-1:0] with
    carry-out (port c<w>) and without (port m<w>)."""
    nl = Netlist(f"add_{name}")
    a = nl.port("input", "a", MAX_W)
    b = nl.port("input", "b", MAX_W)
    for w in range(1, MAX_W + 1):
        nl.port("output", f"c{w}", w + 1)
        nl.assign_vector(f"c{w}", adders.add(nl, name, a[:w], b[:w], carry_out=True))
        nl.port("output", f"m{w}", w)
        nl.assign_vector(f"m{w}", adders.add(nl, name, a[:w], b[:w]))
    return nl.emit()


@pytest.mark.parametrize("name", STRUCTURAL)
def test_adder_equals_plus_exhaustively(tmp_path, name):
    path = tmp_path / "add.v"
    path.write_text(_all_widths_module(name))
    gates = netsim.generic_netlist(path, f"add_{name}", optimize=False)
    A, B = all_pairs(MAX_W, MAX_W, False)
    out = netsim.evaluate(gates, {"a": A, "b": B})
    for w in range(1, MAX_W + 1):
        mask = (1 << w) - 1
        want = (A & mask) + (B & mask)
        np.testing.assert_array_equal(out[f"c{w}"].astype(np.int64), want, err_msg=f"{name} w={w}")
        np.testing.assert_array_equal(out[f"m{w}"].astype(np.int64), want & mask)


@pytest.mark.parametrize("network", sorted(adders.PREFIX_NETWORKS))
def test_prefix_networks_have_their_depth(network):
    """Kogge-Stone / Sklansky / Knowles are log2(n) deep, Han-Carlson and Ladner-Fischer one
    level more, Brent-Kung 2·log2(n) - 1: the networks are the named ones, not just correct."""
    depth = {"kogge_stone": 5, "sklansky": 5, "knowles": 5, "han_carlson": 6,
             "ladner_fischer": 6, "brent_kung": 9}[network]
    levels = adders.PREFIX_NETWORKS[network](32)
    assert len([lv for lv in levels if lv]) == depth
    fanout = max(sum(1 for _, j in lv if j == k) for lv in levels for k in range(32))
    assert fanout == {"kogge_stone": 1, "knowles": 2, "han_carlson": 1, "brent_kung": 1,
                      "sklansky": 16, "ladner_fischer": 8}[network]


def _family_zoo(adder: str) -> list[Multiplier]:
    """Every tree family at 8×8 with a non-trivial parameter, signed and unsigned."""
    approx = {"bam": {"h": 2, "v": 5}, "perforated": {"start": 1, "count": 2},
              "truncated": {"cut": 5, "correction": "constant"}, "masked": {"drop_columns": (3,)},
              "rounded": {"mode": "rad", "k": 6}, "roup": {"perforate": 1, "round": 1},
              "pruned": {"ties": "5"}}
    zoo = []
    for fam in TREE_FAMILIES:
        for signed in (False, True):
            try:
                zoo.append(make(fam, 8, signed=signed, final_adder=adder, **approx.get(fam, {})))
            except AxhwError:  # a signedness the family does not define (roup: signed only)
                continue
    assert {s.family for s in zoo} == set(TREE_FAMILIES)
    return zoo


def _wrapper(zoo: list[Multiplier]) -> str:
    """All designs side by side in one file (one Yosys run): port p<k> is design k's output."""
    ports = ",\n".join(["  input [7:0] a", "  input [7:0] b"]
                        + [f"  output [{s.out_bits - 1}:0] p{k}" for k, s in enumerate(zoo)])
    body = [f"  {s.top} u{k}(.a(a), .b(b), .p(p{k}));" for k, s in enumerate(zoo)]
    return "\n".join([s.verilog() for s in zoo]
                     + ["module zoo(", ports, ");", *body, "endmodule", ""])


@pytest.mark.parametrize("adder", STRUCTURAL)
def test_every_tree_family_with_adder_equals_golden(tmp_path, adder):
    """Every tree family (signed and unsigned) with this adder, on all 65536 pairs."""
    zoo = _family_zoo(adder)
    for spec in zoo:
        assert f"final carry-propagate adder: {adder}" in spec.verilog()
    path = tmp_path / "zoo.v"
    path.write_text(_wrapper(zoo))
    out = netsim.evaluate(netsim.generic_netlist(path, "zoo", optimize=False),
                          {"a": np.arange(1 << 16) >> 8, "b": np.arange(1 << 16) & 255})
    for k, spec in enumerate(zoo):
        va, vb = pair_values(np.arange(1 << 16), 8, 8, spec.signed)
        np.testing.assert_array_equal(out[f"p{k}"].astype(np.int64),
                                      to_raw(spec.golden(va, vb), spec.out_bits), err_msg=spec.top)


def test_default_adder_keeps_the_design_bytes_and_others_change_them():
    """synth leaves top and Verilog as before the parameter existed; any other adder names
    itself in the top and replaces the behavioural '+'."""
    base = make("exact", 8)
    assert base.params()["final_adder"] == "synth" and base.top == "mul8u_exact"
    assert "row_sum + row_carry" in base.verilog() and "final_adder" not in base.verilog()
    ks = make("exact", 8, final_adder="kogge_stone")
    assert ks.top == "mul8u_exact_kogge_stone" and ks.params()["final_adder"] == "kogge_stone"
    assert "+" not in ks.verilog().split("final carry-propagate adder")[1]
    assert ks.verilog() != make("exact", 8, final_adder="brent_kung").verilog()


def test_bad_adder_and_non_tree_family_are_one_line_errors(cli):
    with pytest.raises(AxhwError, match="final_adder='ks' is not valid: choose one of synth"):
        make("exact", 8, final_adder="ks")

    @dataclasses.dataclass(frozen=True)
    class NoTree(Multiplier):
        family = "no_tree"

    with pytest.raises(AxhwError, match="tree-based types only: no_tree has no reduction tree"):
        NoTree.from_strings(8, 8, False, {"final_adder": "rca"})
    assert_one_line_error(cli("gen", "--type", "bam", "-p", "final_adder=bogus", "-o", "x"))


def test_sweep_over_final_adders(tmp_path, cli):
    """The example SPEC grids every adder; a one-liner sweep runs two through the pipeline
    (verify, metrics, Yosys + OpenSTA) and the adder moves area and delay."""
    from axhw.sweep import load_spec  # noqa: PLC0415
    from axhw.sweep.points import expand  # noqa: PLC0415

    root = Path(__file__).resolve().parents[1] / "examples"
    points = expand(load_spec(root / "final_adders.yaml"))
    assert sorted(p.params["final_adder"] for p in points) == sorted(adders.ADDERS)
    proc = cli("sweep", "--type", "exact", "--bits", "4", "--grid", "final_adder=synth,rca",
               "--verify", "exhaustive", "-o", tmp_path / "out", "-j", "1")
    assert proc.returncode == 0, proc.stderr
    df = pd.read_parquet(tmp_path / "out" / "results.parquet").set_index("p_final_adder")
    assert list(df["status"]) == ["ok", "ok"] and (df["verify_mismatches"] == 0).all()
    assert df.loc["synth", "area_um2"] != df.loc["rca", "area_um2"]
    assert df.loc["synth", "delay_ns"] != df.loc["rca", "delay_ns"]


def test_every_adder_proved_equal_to_plus_at_32_bits(tmp_path):
    """Yosys SAT proves each structural adder (with carry-out) equal to '+' on all 2^64 input
    pairs; a planted bug (one XOR swapped for OR) is found."""
    modules, script = [], [f"read_verilog {yosys.quote(tmp_path / 'adders.v')}", "proc"]
    for w in (32,):
        modules.append(f"module ref{w}(input [{w - 1}:0] a, b, output [{w}:0] s);\n"
                       f"  assign s = a + b;\nendmodule")
        for name in STRUCTURAL + ["broken"]:
            nl = Netlist(f"{name}{w}")
            a, b = nl.port("input", "a", w), nl.port("input", "b", w)
            nl.port("output", "s", w + 1)
            nl.assign_vector("s", adders.add(nl, "kogge_stone" if name == "broken" else name,
                                             a, b, carry_out=True))
            text = nl.emit()
            if name == "broken":
                text = text.replace(" ^ ", " | ", 1)
            modules.append(text)
            script += [f"miter -equiv -flatten -make_outputs {name}{w} ref{w} m_{name}{w}",
                       f"sat -prove trigger 0 m_{name}{w}"]
    (tmp_path / "adders.v").write_text("\n".join(modules))
    log = tmp_path / "yosys.log"
    yosys.run_script(script, log)
    verdicts = re.findall(r"SAT proof finished - (no model found: SUCCESS|model found: FAIL)",
                          log.read_text())
    want = ["no model found: SUCCESS"] * len(STRUCTURAL) + ["model found: FAIL"]
    assert verdicts == want


def test_characterize_without_error_metrics(tmp_path):
    """The adder benchmark's PPA-only characterization: same PPA, no metric keys."""
    from axhw.ppa.characterize import characterize  # noqa: PLC0415
    from axhw.ppa.pdk import load_library  # noqa: PLC0415

    try:
        library = load_library("osu018")
    except AxhwError as exc:
        pytest.skip(str(exc))
    d = load_design(write_design(make("exact", 4, final_adder="sklansky"), tmp_path))
    ppa = characterize(d, library, use_cache=False, error_metrics=False)
    full = characterize(d, library, use_cache=False)
    assert "mae" not in ppa and full["mae"] == 0
    assert ppa["area_um2"] == full["area_um2"] and ppa["delay_ns"] == full["delay_ns"]
