"""Golden models of exact and perforated multipliers against the spec's closed forms and examples."""

import numpy as np
import pytest

from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.design.golden import all_pairs
from axhw.gen.hdl import booth


def stats(spec):
    A, B = all_pairs(spec.bits_a, spec.bits_b, spec.signed)
    exact = A * B
    e = spec.golden(A, B) - exact
    nz = exact != 0
    return {
        "er": (e != 0).mean(), "med": np.abs(e).mean(), "wce": int(np.abs(e).max()),
        "mred": (np.abs(e[nz]) / np.abs(exact[nz])).mean(), "bias": e.mean(),
    }


@pytest.mark.parametrize("n", [4, 6, 8])
def test_exact_golden(n):
    for signed in (False, True):
        for enc in ("and", "booth"):
            s = stats(make("exact", n, signed=signed, encoding=enc))
            assert s["wce"] == 0


@pytest.mark.parametrize("n,j,k", [(8, 0, 1), (8, 0, 2), (8, 1, 3), (8, 2, 3), (8, 4, 4), (8, 7, 1),
                                   (6, 2, 2), (6, 0, 5), (4, 1, 2)])
def test_spp_closed_forms(n, j, k):
    """§4.1: MED, NMED, ER, WCE, bias = -MED (uniform, exhaustive)."""
    s = stats(make("perforated", n, start=j, count=k))
    med = 2 ** (j - 2) * (2 ** k - 1) * (2 ** n - 1)
    assert s["med"] == pytest.approx(med, rel=1e-12)
    assert s["med"] / (2 ** n - 1) ** 2 == pytest.approx(2 ** j * (2 ** k - 1) / (4 * (2 ** n - 1)))
    assert s["er"] == pytest.approx((1 - 2.0 ** -n) * (1 - 2.0 ** -k), rel=1e-12)
    assert s["wce"] == (2 ** n - 1) * 2 ** j * (2 ** k - 1)
    assert s["bias"] == pytest.approx(-s["med"])


@pytest.mark.parametrize("j,k", [(0, 1), (2, 3), (5, 2), (0, 6)])
def test_spp_signed_golden_matches_definition(j, k):
    """§4.1 signed: Y = A·(B − Σ_{i=j}^{j+k−1} b_i 2^i) with A, B signed."""
    spec = make("perforated", 8, signed=True, start=j, count=k)
    A, B = all_pairs(8, 8, True)
    braw = B & 0xFF
    cleared = sum(((braw >> i) & 1) << i for i in range(j, j + k))
    assert np.array_equal(spec.golden(A, B), A * (B - cleared))


def test_worked_examples_4_4():
    """§4.4."""
    a, b = np.array([13]), np.array([11])
    assert make("perforated", 4, start=1, count=2).golden(a, b)[0] == 117
    assert make("perforated", 4, encoding="booth", start=0, count=1).golden(a, b)[0] == 156
    assert [int(d[0]) for d in booth.digits(np.array([11]), 4, False)] == [-1, -1, 1]
    assert [int(d[0]) for d in booth.digits(np.array([-6]), 4, True)] == [-2, -1]
    assert make("perforated", 4, signed=True, encoding="booth", start=0,
                count=1).golden(np.array([-3]), np.array([-6]))[0] == 12


@pytest.mark.parametrize("cfg,expected", [
    (dict(start=0, count=2), (0.74707, 191.25, 765, 3.566e-2, -191.25)),
    (dict(start=1, count=3), (0.87158, 892.5, 3570, 0.12298, -892.5)),
    (dict(signed=True, encoding="booth", start=0, count=1), (0.74707, 64, 256, 4.530e-2, -0.25)),
    (dict(signed=True, encoding="booth", start=0, count=2), (0.93384, 256, 1024, 0.14784, -0.25)),
    (dict(signed=True, encoding="booth", start=0, count=3), (0.98053, 1024, 4096, 0.42932, -0.25)),
])
def test_table_4_5(cfg, expected):
    s = stats(make("perforated", 8, **cfg))
    er, med, wce, mred, bias = expected
    assert s["er"] == pytest.approx(er, abs=6e-6)
    assert s["med"] == pytest.approx(med, rel=1e-6)
    assert s["wce"] == wce
    assert s["mred"] == pytest.approx(mred, rel=2e-4)
    assert s["bias"] == pytest.approx(bias, abs=1e-9)


def test_mbe_j0_is_rounding_the_multiplier():
    """§4.2: perforating the k LSB Booth PPs = rounding B to a multiple of 4^k, ties up."""
    for k in (1, 2, 3):
        spec = make("perforated", 8, signed=True, encoding="booth", start=0, count=k)
        A, B = all_pairs(8, 8, True)
        b_round = 4 ** k * np.floor_divide(B + 2 ** (2 * k - 1), 4 ** k)
        assert np.array_equal(spec.golden(A, B), A * b_round)


@pytest.mark.parametrize("j,k", [(1, 1), (1, 2), (2, 1), (0, 3), (2, 2)])
def test_mbe_error_formula(j, k):
    """§4.2: ED = A·4^j·(sext_2k(⌊B/4^j⌋ mod 4^k) + b_{2j−1}), unsigned and signed."""
    for signed in (False, True):
        spec = make("perforated", 8, signed=signed, encoding="booth", start=j, count=k)
        A, B = all_pairs(8, 8, signed)
        field = (B >> (2 * j)) & (4 ** k - 1)
        field = field - (field >> (2 * k - 1)) * 4 ** k
        b_prev = (B >> (2 * j - 1)) & 1 if j > 0 else 0
        assert np.array_equal(A * B - spec.golden(A, B), A * 4 ** j * (field + b_prev))


def test_unsigned_mbe_caveat():
    """§4.2 caveat: unsigned MBE perforation with j > 0 goes negative / above 2^2n-1, so the port
    is 2n+2 bits two's complement. (Our exhaustive count is 4080 negative outputs for (j=1,k=2):
    16 multipliers B with b7=b6=b5=0, b1=1, times 255 nonzero A; the spec quotes 1360.)"""
    A, B = all_pairs(8, 8, False)
    y = make("perforated", 8, encoding="booth", start=1, count=2).golden(A, B)
    assert int((y < 0).sum()) == 4080
    y2 = make("perforated", 8, encoding="booth", start=2, count=1).golden(A, B)
    assert int((y2 > 2 ** 16 - 1).sum()) > 0
    for spec in (make("perforated", 8, encoding="booth", start=1, count=2),
                 make("perforated", 8, encoding="booth", start=2, count=1)):
        assert spec.out_bits == 18 and spec.out_signed
        lo, hi = -(2 ** 17), 2 ** 17 - 1
        y = spec.golden(A, B)
        assert y.min() >= lo and y.max() <= hi
    j0 = make("perforated", 8, encoding="booth", start=0, count=2)
    y0 = j0.golden(A, B)
    assert j0.out_bits == 16 and not j0.out_signed and y0.min() >= 0 and y0.max() <= 255 * 256


def test_booth_exact_equals_product_all_widths():
    for n in range(2, 11):
        for signed in (False, True):
            A, B = all_pairs(n, n, signed)
            kept = range(booth.num_digits(n, signed))
            assert np.array_equal(booth.booth_golden(A, B, n, signed, kept), A * B)


@pytest.mark.parametrize("kw,needle", [
    (dict(start=8), "start=8 is out of range: valid is 0..7"),
    (dict(start=7, count=2), "count=2 is out of range: valid is 1..1"),
    (dict(signed=True, start=7), "start=7 is out of range: valid is 0..6"),
    (dict(encoding="booth", start=4), "start=4 is out of range: valid is 0..3"),
    (dict(encoding="csd"), "encoding='csd' is not valid"),
    (dict(tree="nope"), "tree='nope' is not valid"),
])
def test_invalid_parameters(kw, needle):
    with pytest.raises(AxhwError) as exc:
        make("perforated", 8, **kw)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_width_range():
    with pytest.raises(AxhwError, match="bits_a=33 is out of range: valid is 2..32"):
        make("exact", 33)
    with pytest.raises(AxhwError, match="bits_a=17 is out of range: valid is 2..16"):
        make("rounded", 17)
    with pytest.raises(AxhwError, match="bits_b=1"):
        make("exact", 8, 1)


def test_top_names_distinct_and_valid():
    import itertools
    import re

    names = set()
    for j, k, enc, tree in itertools.product(range(3), range(1, 3), ("and", "booth"),
                                             ("array", "dadda")):
        spec = make("perforated", 8, start=j, count=k, encoding=enc, tree=tree)
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", spec.top)
        names.add(spec.top)
    assert len(names) == 3 * 2 * 2 * 2
    assert make("perforated", 8, start=2, count=3).top == "mul8u_perf_j2_k3"
    assert make("exact", 6, 4, signed=True).top == "mul6x4s_exact"


def test_dadda_textbook_adder_count():
    """A classic 8x8 Dadda reduction uses 35 full adders and 7 half adders."""
    v = make("exact", 8, tree="dadda").verilog()
    fa = sum(1 for ln in v.splitlines() if ln.strip().startswith("wire fa") and "_s =" in ln)
    ha = sum(1 for ln in v.splitlines() if ln.strip().startswith("wire ha") and "_s =" in ln)
    assert (fa, ha) == (35, 7)


def test_no_multiply_operator_in_approximate_designs():
    for spec in (make("perforated", 8, start=2, count=3),
                 make("perforated", 8, signed=True, encoding="booth", start=1, count=1)):
        body = "\n".join(ln for ln in spec.verilog().splitlines()
                         if not ln.strip().startswith("//"))
        assert "*" not in body
