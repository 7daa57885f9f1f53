"""Bit-parallel gate-level evaluator: equals the golden model; Liberty functions; parser edges."""

from __future__ import annotations

import gzip
import itertools
import re

import numpy as np
import pytest

from axhw.sim import netsim
from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.design.golden import all_pairs, pair_values, to_raw
from axhw.ppa.pdk import PDKS, locate_pdk

DESIGNS = [
    ("exact", 8, False, {}),
    ("exact", 8, True, {"encoding": "booth", "tree": "wallace"}),
    ("perforated", 8, False, {"start": 2, "count": 3}),
    ("perforated", 8, True, {"start": 1, "count": 2}),
    ("perforated", 8, False, {"start": 1, "count": 2, "encoding": "booth"}),
    ("perforated", 8, True, {"start": 0, "count": 1, "encoding": "booth", "tree": "array"}),
]


@pytest.mark.parametrize("family,bits,signed,params", DESIGNS)
def test_all_pairs_equal_golden(tmp_path, family, bits, signed, params):
    d = load_design(write_design(make(family, bits, signed=signed, **params), tmp_path))
    index = np.arange(1 << (2 * bits))
    out = netsim.simulate_pairs(d.verilog_path, d.top, d.ports, bits, bits, d.out_bits, index)
    A, B = all_pairs(bits, bits, signed)
    np.testing.assert_array_equal(out, to_raw(d.golden(A, B), d.out_bits))


def test_asymmetric_random_pairs_and_sweep(tmp_path):
    d = load_design(write_design(make("exact", 12, 6, signed=True), tmp_path))
    nl = netsim.generic_netlist(d.verilog_path, d.top)
    index = np.random.default_rng(3).integers(0, 1 << 18, 5000)
    out = netsim.simulate_pairs(d.verilog_path, d.top, d.ports, 12, 6, d.out_bits, index)
    A, B = pair_values(index, 12, 6, True)
    np.testing.assert_array_equal(out, to_raw(d.golden(A, B), d.out_bits))
    # Streaming a range in chunks (with a ragged last chunk) gives the same words.
    chunks = list(netsim.sweep_pairs(nl, d.ports, 12, 6, d.out_bits, 640, 20_000, chunk=4096))
    assert [lo for lo, _ in chunks] == list(range(640, 20_000, 4096))
    swept = np.concatenate([o for _, o in chunks])
    A, B = pair_values(np.arange(640, 20_000), 12, 6, True)
    np.testing.assert_array_equal(swept, to_raw(d.golden(A, B), d.out_bits))


def test_mutated_netlist_is_caught(tmp_path):
    """The evaluator really reads the gates: flipping one XOR to XNOR changes outputs."""
    d = load_design(write_design(make("exact", 6), tmp_path))
    nl = netsim.generic_netlist(d.verilog_path, d.top)
    k = next(i for i, c in enumerate(nl.cells) if c.type == "$_XOR_")
    nl.cells[k].type = "$_XNOR_"
    A, B = all_pairs(6, 6, False)
    out = netsim.evaluate(nl, {"a": A, "b": B})["p"]
    assert (out.astype(np.int64) != A * B).any()


def test_ports_checked(tmp_path):
    d = load_design(write_design(make("exact", 4), tmp_path))
    with pytest.raises(AxhwError, match="expected 4, 4, 9"):
        netsim.simulate_pairs(d.verilog_path, d.top, d.ports, 4, 4, 9, np.arange(4))


def test_pack_unpack_roundtrip():
    rng = np.random.default_rng(0)
    v = rng.integers(0, 1 << 40, 1000)
    assert np.array_equal(netsim.unpack(netsim.pack(v, 40), 1000), v.astype(np.uint64))
    for lo, n in ((0, 64), (128, 1000), (1 << 20, 77)):
        got = netsim.pack_range(lo, n, 24)
        want = netsim.pack(np.arange(lo, lo + n), 24)
        assert all(np.array_equal(g, w) for g, w in zip(got, want))


# -- a hand-made technology-mapped netlist with Liberty functions --------------------------------
LIB = {
    "FA": {"S": "((A^B)^C)", "CO": "(((A B)+(B C))+(C A))"},
    "AOI21": {"Y": "!((A1 & A2) | B)"},
    "MUX2": {"Y": "(S*B) + (S'*A)"},
    "TIEHI": {"H": "1"},
}


def _mapped_json() -> dict:
    # inputs x[2:0] = bits 2,3,4; outputs y[3:0] = bits 5..8 (y[3] is the constant "0").
    def cell(ctype, conns, dirs=None):
        c = {"type": ctype, "connections": {k: [v] for k, v in conns.items()}}
        if dirs:
            c["port_directions"] = dirs
        return c

    return {"modules": {"tech": {
        "ports": {"x": {"direction": "input", "bits": [2, 3, 4]},
                  "y": {"direction": "output", "bits": [5, 6, 7, "0"]}},
        "cells": {
            # listed out of order on purpose: the reader sorts topologically
            "u_mux": cell("MUX2", {"A": 9, "B": 2, "S": 10, "Y": 7}),
            "u_fa": cell("FA", {"A": 2, "B": 3, "C": 4, "S": 5, "CO": 9},
                         {"A": "input", "B": "input", "C": "input", "S": "output", "CO": "output"}),
            "u_aoi": cell("AOI21", {"A1": 9, "A2": 11, "B": 4, "Y": 6}),
            "u_tie": cell("TIEHI", {"H": 11}),
            "u_inv": cell("$_NOT_", {"A": 3, "Y": 10}),
        },
        "netnames": {"x": {"bits": [2, 3, 4]}, "y": {"bits": [5, 6, 7, "0"]},
                     "carry": {"bits": [9]}, "$auto$1": {"bits": [10], "hide_name": 1},
                     "hi": {"bits": [11]}},
    }}}


def test_liberty_cells_exhaustive():
    nl = netsim.read_yosys_json(_mapped_json(), "tech", cell_functions=LIB)
    assert [c.name for c in nl.cells].index("u_fa") < [c.name for c in nl.cells].index("u_mux")
    x = np.arange(8)
    outs, nets = netsim.evaluate(nl, {"x": x}, cell_functions=LIB, nets=True)
    x0, x1, x2 = x & 1, (x >> 1) & 1, (x >> 2) & 1
    s, co = x0 ^ x1 ^ x2, (x0 & x1) | (x1 & x2) | (x0 & x2)
    aoi = 1 - ((co & 1) | x2)
    mux = np.where(1 - x1, x0, co)
    np.testing.assert_array_equal(outs["y"], s | aoi << 1 | mux << 2)
    assert nl.net_names[9] == "carry" and nl.net_names[10] == "$auto$1"
    # every driven net is returned packed; bit k of word 0 = vector k
    carry = int(nets[9][0]) & 0xFF
    assert [carry >> k & 1 for k in range(8)] == list(co)
    assert int(nets[11][0]) & 0xFF == 0xFF


def test_mapped_netlist_errors():
    data = _mapped_json()
    with pytest.raises(AxhwError, match="no pin directions"):
        netsim.read_yosys_json(data, "tech")
    with pytest.raises(AxhwError, match="no module 'nope'"):
        netsim.read_yosys_json(data, "nope", cell_functions=LIB)
    nl = netsim.read_yosys_json(data, "tech", cell_functions=LIB)
    with pytest.raises(AxhwError, match="no function for cell type"):
        netsim.evaluate(nl, {"x": np.arange(8)})
    loop = _mapped_json()
    loop["modules"]["tech"]["cells"]["u_inv"]["connections"]["A"] = [6]  # AOI -> MUX -> ... -> INV
    loop["modules"]["tech"]["cells"]["u_aoi"]["connections"]["A1"] = [7]
    with pytest.raises(AxhwError, match="combinational loop"):
        netsim.read_yosys_json(loop, "tech", cell_functions=LIB)


# -- the Liberty function parser -----------------------------------------------------------------
def _truth(expr: str, pins: str) -> list[int]:
    f = netsim.parse_liberty_function(expr)
    ones = np.full(1, ~np.uint64(0), dtype=np.uint64)
    out = []
    for combo in itertools.product((0, 1), repeat=len(pins)):
        vals = {p: ones if v else np.zeros(1, dtype=np.uint64) for p, v in zip(pins, combo)}
        out.append(int(f(vals, ones)[0] & np.uint64(1)))
    return out


@pytest.mark.parametrize("expr,pins,fn", [
    ("A", "A", lambda a: a),
    ("!A", "A", lambda a: 1 - a),
    ("A'", "A", lambda a: 1 - a),
    ("A''", "A", lambda a: a),
    ("(A B)'", "AB", lambda a, b: 1 - (a & b)),
    ("A B", "AB", lambda a, b: a & b),
    ("A*B", "AB", lambda a, b: a & b),
    ("A&B", "AB", lambda a, b: a & b),
    ("A|B", "AB", lambda a, b: a | b),
    ("A + B C", "ABC", lambda a, b, c: a | (b & c)),       # AND binds tighter than OR
    ("A ^ B C", "ABC", lambda a, b, c: a ^ (b & c)),       # AND binds tighter than XOR
    ("A + B ^ C", "ABC", lambda a, b, c: a | (b ^ c)),     # XOR binds tighter than OR
    ("!A B", "AB", lambda a, b: (1 - a) & b),              # NOT binds to one operand
    ("!(A B)", "AB", lambda a, b: 1 - (a & b)),
    ("A (B+C)", "ABC", lambda a, b, c: a & (b | c)),
    ("(A)(B)", "AB", lambda a, b: a & b),
    ('"(!((S A) + (!S B)))"', "SAB", lambda s, a, b: 1 - ((s & a) | ((1 - s) & b))),
    ("A & 1", "A", lambda a: a),
    ("A + 0", "A", lambda a: a),
    ("0", "", lambda: 0),
    ("1", "", lambda: 1),
    ("  IN_1[0] ^ b.x ", ["IN_1[0]", "b.x"], lambda a, b: a ^ b),
])
def test_parse_liberty_function(expr, pins, fn):
    want = [fn(*combo) for combo in itertools.product((0, 1), repeat=len(pins))]
    assert _truth(expr, pins) == want


@pytest.mark.parametrize("expr", ["", "A +", "(A B", "A B)", "A $ B", "+A", "!", "A ^^ B", "()"])
def test_parse_liberty_function_errors(expr):
    with pytest.raises(AxhwError) as exc:
        netsim.parse_liberty_function(expr)
    assert "\n" not in str(exc.value) and "Liberty function" in str(exc.value)


@pytest.mark.parametrize("pdk", list(PDKS))
def test_parses_every_function_of_a_real_library(pdk):
    """Every cell function of every known library (bundled or apt: never skipped)."""
    funcs = set()
    for path in locate_pdk(pdk).files:
        with gzip.open(path, "rt") if path.name.endswith(".gz") else open(path) as fh:
            funcs |= set(re.findall(r'function\s*:\s*"([^"]*)"', fh.read()))
    assert len(funcs) > 10
    for f in funcs:
        assert netsim.parse_liberty_function(f).pins or f.strip() in ("0", "1")  # tie cells
