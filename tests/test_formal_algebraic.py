"""`verify --method formal --engine algebraic`: backward rewriting against the golden model's
degree-2 polynomial (axhw.verify.algebraic), to 32x32, with real counterexamples for broken RTL."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_one_line_error

from axhw.verify import algebraic
from axhw.sim import netsim
from axhw.design.record import load_design, write_design
from axhw.infra.errors import ToolError, VerificationFailed
from axhw.gen.families import make
from axhw.verify.formal import choose_engine, prove_algebraic
from axhw.verify.dispatch import verify_design


def _design(tmp_path, *args, **kw):
    return load_design(write_design(make(*args, **kw), tmp_path))


def _prove(design):
    (r,) = verify_design(design, method="formal", engine="algebraic")
    assert (r.method, r.sim, r.mismatches, r.ok) == ("formal", "algebraic", 0, True)
    assert r.checked == 1 << (design.bits_a + design.bits_b)
    return r


EIGHT_BIT = [
    ("exact", False, {}),
    ("exact", True, {"tree": "wallace"}),
    ("exact", False, {"tree": "array", "final_adder": "rca"}),
    ("exact", True, {"encoding": "booth"}),
    ("exact", False, {"encoding": "booth", "final_adder": "pg_rca"}),
    ("truncated", True, {"cut": 6}),
    ("truncated", False, {"cut": 5, "correction": "constant"}),
    ("truncated", False, {"mode": "operand", "cut": 2}),
    ("bam", True, {"h": 2, "v": 5}),
    ("perforated", False, {"start": 1, "count": 2}),
    ("perforated", True, {"start": 1, "count": 1, "encoding": "booth"}),
    ("masked", True, {"mask": "0x00f0"}),
    ("masked", False, {"drop_columns": (0, 1, 2), "compensation": "constant"}),
]


@pytest.mark.parametrize("family,signed,params", EIGHT_BIT,
                         ids=lambda v: v if isinstance(v, str) else str(v))
def test_proves_8_bit_designs_against_every_pair(tmp_path, family, signed, params):
    r = _prove(_design(tmp_path, family, 8, signed=signed, **params))
    assert "every pair (65,536)" in r.detail


@pytest.mark.parametrize("family,bits,signed,params", [
    ("exact", 32, True, {}),
    ("truncated", 16, False, {"cut": 12, "correction": "constant"}),
    ("bam", 16, True, {"h": 3, "v": 10}),
    ("perforated", 16, True, {"start": 2, "count": 3, "encoding": "booth"}),
    ("masked", 16, False, {"drop_columns": (0, 1, 20)}),
])
def test_proves_wide_designs(tmp_path, family, bits, signed, params):
    r = _prove(_design(tmp_path, family, bits, signed=signed, **params))
    assert f"mod 2^{2 * bits}" in r.detail


def test_proves_unequal_widths(tmp_path):
    r = _prove(_design(tmp_path, "exact", 12, 7, signed=True, encoding="booth"))
    assert f"every pair ({1 << 19:,})" in r.detail


def test_prefix_final_adder_at_32_bits_by_adder_substitution(tmp_path):
    d = _design(tmp_path, "exact", 32, final_adder="kogge_stone")
    seconds, detail = prove_algebraic(d, timeout=300)
    assert "mul32u_exact_rca" in detail and "by SAT" in detail


def _corrupt(design, old: str, new: str):
    text = design.verilog_path.read_text()
    assert text.count(old) == 1
    design.verilog_path.write_text(text.replace(old, new))


def _counterexample(exc) -> dict[str, int]:
    msg = str(exc.value)
    assert "counterexample" in msg and "\n" not in msg
    return {k: int(v) for k, v in (kv.split("=") for kv in
                                   msg.split("counterexample ")[1].split(" (")[0].split())}


def _rtl_at(design, a: int, b: int) -> int:
    """The design's output at (a, b), simulated at gate level (netsim), read as its port value."""
    raw = lambda v, n: v & ((1 << n) - 1)  # noqa: E731
    index = np.array([(raw(a, design.bits_a) << design.bits_b) | raw(b, design.bits_b)],
                     dtype=np.uint64 if design.bits_a + design.bits_b > 62 else np.int64)
    out = int(np.asarray(netsim.simulate_pairs(design.verilog_path, design.top, design.ports,
                                               design.bits_a, design.bits_b, design.out_bits,
                                               index)).astype(np.uint64)[0])
    out &= (1 << design.out_bits) - 1
    return out - (out >> (design.out_bits - 1) << design.out_bits) if design.out_signed else out


@pytest.mark.parametrize("bits,signed,old,new", [
    (8, False, "wire pp_r0_a3 = a[3] & b[0];", "wire pp_r0_a3 = a[3] | b[0];"),
    # deep inside the 32x32 tree: one AND of a full adder's carry becomes an XOR
    (32, True, "wire fa_d2_c38_1_c = (fa_d1_c37_3_c & fa_d1_c37_4_c)",
     "wire fa_d2_c38_1_c = (fa_d1_c37_3_c ^ fa_d1_c37_4_c)"),
])
def test_broken_gate_gives_a_real_counterexample(tmp_path, bits, signed, old, new):
    d = _design(tmp_path, "exact", bits, signed=signed)
    _corrupt(d, old, new)
    with pytest.raises(VerificationFailed) as exc:
        verify_design(d, method="formal", engine="algebraic")
    cex = _counterexample(exc)
    a, b = cex["a"], cex["b"]
    product = a * b
    if not signed:
        product &= (1 << 2 * bits) - 1
    assert cex["reference"] == product != cex["design"] == _rtl_at(d, a, b)


def test_broken_prefix_adder_design_fails(tmp_path):
    """With adder substitution the SAT miter (design == ripple twin) catches the broken gate."""
    d = _design(tmp_path, "exact", 16, final_adder="sklansky")
    _corrupt(d, "wire fa_d2_c18_1_c = (fa_d1_c17_3_c & fa_d1_c18_0_s)",
             "wire fa_d2_c18_1_c = (fa_d1_c17_3_c ^ fa_d1_c18_0_s)")
    with pytest.raises(VerificationFailed) as exc:
        verify_design(d, method="formal", engine="algebraic")
    cex = _counterexample(exc)
    a, b = cex["a"], cex["b"]
    assert cex["reference"] == a * b != cex["design"] == _rtl_at(d, a, b)


def test_spec_polynomial_of_a_signed_product():
    """Möbius interpolation gives Σ ±2^(i+j) a_j b_i (Baugh-Wooley signs) and nothing else."""
    spec = make("exact", 4, signed=True)
    ops = algebraic.Operands(list(range(10, 14)) + list(range(20, 24)), 4, 4, True)
    poly = algebraic.spec_polynomial(spec, ops)
    want = {}
    for i in range(4):
        for j in range(4):
            w = (1 << (i + j)) * (-1 if (i == 3) != (j == 3) else 1)
            want[frozenset([10 + j, 20 + i])] = w % 256
    assert poly == want
    assert algebraic.check_spec_polynomial(spec, ops, poly) == "every pair (256)"


def test_golden_not_of_degree_two_is_refused(tmp_path, cli):
    """Rounding families are not polynomials of degree <= 2: one line naming the way out."""
    path = write_design(make("truncated", 6, mode="cct", out_bits=6, guard=1), tmp_path)
    proc = cli("verify", path, "--method", "formal", "--engine", "algebraic")
    assert_one_line_error(proc)
    assert "does not apply" in proc.stderr and "degree <= 2" in proc.stderr


def test_engine_choice(tmp_path, cli):
    small = _design(tmp_path, "exact", 4)
    wide = _design(tmp_path, "exact", 10)
    assert choose_engine(small) == "sat" and choose_engine(wide) == "algebraic"
    assert choose_engine(wide, "sat") == "sat"
    (r,) = verify_design(small, method="formal", engine="algebraic")
    assert r.sim == "algebraic" and r.ok
    (r,) = verify_design(small, method="formal")
    assert r.sim == "yosys-sat" and r.ok
    proc = cli("verify", wide.json_path, "--engine", "sat", "--method", "random")
    assert_one_line_error(proc)
    assert "--engine applies to --method formal only" in proc.stderr


def test_timeout_stops_the_algebraic_engine(tmp_path):
    d = _design(tmp_path, "exact", 8)
    with pytest.raises(ToolError, match="did not finish within 0 s"):
        verify_design(d, method="formal", engine="algebraic", timeout=1e-3)
