"""Rounding-based (RoBA, rounded operands, RADk) and ROUP / PR|k,m families: golden models against
the spec (§5.1-5.4, §1, §4.2) examples, closed forms, [V-exec] and [SELF] numbers; validation;
the CLI's one-line errors."""

import numpy as np
import pytest

from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.gen.families.rounded import roba_round
from axhw.design.golden import all_pairs
from axhw.gen.hdl import booth
from axhw.measure.metrics import compute_metrics
from conftest import assert_one_line_error


def exhaustive_metrics(spec):
    A, B = all_pairs(spec.bits_a, spec.bits_b, spec.signed)
    return compute_metrics(spec.golden(A, B), A * B, bits_a=spec.bits_a, bits_b=spec.bits_b,
                           signed=spec.signed, nmed_norm="maxprod")


def sampled_mred_percent(specs, n=16, samples=1_000_000, seed=2026):
    """MRED (%) of each spec on the same uniformly drawn signed n-bit pairs (§5.2, §5.3 setting)."""
    rng = np.random.default_rng(seed)
    A = rng.integers(-(1 << (n - 1)), 1 << (n - 1), samples)
    B = rng.integers(-(1 << (n - 1)), 1 << (n - 1), samples)
    return [100 * compute_metrics(s.golden(A, B), A * B)["mred"] for s in specs]


def one(spec, a, b):
    return int(spec.golden(np.array([a]), np.array([b]))[0])


# -- RoBA (§5.1) -------------------------------------------------------------------------------
def test_roba_rounding_examples():
    x = np.array([0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 24, 25, 255])
    assert roba_round(x).tolist() == [0, 1, 2, 2, 4, 4, 8, 8, 16, 16, 32, 32, 256]


def test_roba_example_and_self_table():
    assert one(make("rounded", 4), 13, 11) == 152  # A_r=16, B_r=8: 176 + 104 - 128
    m = exhaustive_metrics(make("rounded", 8))
    assert m["er"] == pytest.approx(0.93092, abs=6e-6)
    assert m["mae"] == pytest.approx(455.06, abs=6e-3)
    assert m["mred"] == pytest.approx(2.8622e-2, rel=2e-5)
    assert m["wce"] == 4096
    assert m["bias"] == pytest.approx(-0.238, abs=6e-4)
    assert m["wcre"] == pytest.approx(1 / 9, rel=1e-12)  # max RED = 1/9 [V-exec]


@pytest.mark.parametrize("n", [3, 6, 10])
def test_roba_definition(n):
    """Exact minus (A_r−A)(B_r−B); exact when an operand is a power of two; RED <= 1/9."""
    spec = make("rounded", n)
    A, B = all_pairs(n, n, False)
    y = spec.golden(A, B)
    assert np.array_equal(y, A * B - (roba_round(A) - A) * (roba_round(B) - B))
    pow2 = (A & (A - 1)) == 0
    assert np.array_equal(y[pow2], (A * B)[pow2])
    nz = A * B != 0
    assert (np.abs(y - A * B)[nz] * 9 <= (A * B)[nz]).all()


def test_sroba_is_signed_uroba_of_magnitudes():
    A, B = all_pairs(8, 8, True)
    u = make("rounded", 9).golden(np.abs(A), np.abs(B))  # |−128| = 128 needs 9 unsigned bits
    assert np.array_equal(make("rounded", 8, signed=True).golden(A, B), np.sign(A * B) * u)


# -- rounded operands (§1) -----------------------------------------------------------------------
@pytest.mark.parametrize("signed", [False, True])
def test_operand_rounding_is_product_of_rounded_operands(signed):
    for r in (1, 3, 5):
        A, B = all_pairs(6, 6, signed)
        # round half up = floor(x/2^r + 1/2)·2^r, here in floating point as an independent form
        ra = np.floor(A / 2 ** r + 0.5).astype(np.int64) << r
        rb = np.floor(B / 2 ** r + 0.5).astype(np.int64) << r
        assert np.array_equal(make("rounded", 6, signed=signed, mode="operand",
                                   round=r).golden(A, B), ra * rb)


def test_operand_unsigned_port_is_one_bit_wider():
    spec = make("rounded", 8, mode="operand", round=2)
    assert spec.out_bits == 17 and not spec.out_signed and spec.notes()
    assert one(spec, 255, 255) == 1 << 16  # 255 rounds up to 256
    assert make("rounded", 8, signed=True, mode="operand", round=2).out_bits == 16


# -- RADk (§5.2) ----------------------------------------------------------------------------------
def test_rad_digit_rounding_thresholds():
    spec = make("rounded", 16, signed=True, mode="rad", k=8)
    # B = y0 only (B_H = 0): |y0| -> 0, 16, 32, 64, 128 at thresholds 8, 24, 48, 96 (>=)
    for y0, r in [(0, 0), (7, 0), (8, 16), (23, 16), (24, 32), (47, 32), (48, 64), (95, 64),
                  (96, 128), (127, 128), (-1, 0), (-8, -16), (-96, -128), (-128, -128)]:
        assert one(spec, 1, y0) == r, y0
    assert one(spec, 3, 256 + 100) == 3 * (256 + 128)


@pytest.mark.parametrize("n,k", [(8, 6), (12, 8), (16, 10)])
def test_rad_msbs_are_exact_booth_rows(n, k):
    """Booth-digit formulation (§5.2): MSB part = Booth rows k/2.. of B; y0 = Σ digits < k/2."""
    rng = np.random.default_rng(k)
    A = rng.integers(-(1 << (n - 1)), 1 << (n - 1), 50_000)
    B = rng.integers(-(1 << (n - 1)), 1 << (n - 1), 50_000)
    nd = booth.num_digits(n, True)
    y0 = booth.booth_golden(np.ones_like(B), B, n, True, range(k // 2))
    spec = make("rounded", n, signed=True, mode="rad", k=k)
    lsb = spec.golden(A, B) - booth.booth_golden(A, B, n, True, range(k // 2, nd))
    assert np.array_equal(lsb, A * spec.golden(np.ones_like(y0), y0))
    assert np.array_equal(spec.golden(A, B), A * spec.golden(np.ones_like(B), B))  # Ŷ = A·B'
    assert np.array_equal(y0, ((B & ((1 << k) - 1)) ^ (1 << (k - 1))) - (1 << (k - 1)))


def test_rad_published_mred():
    """RAD256 0.2796 % [V-exec], RAD64 0.0791 %, RAD1024 0.932 % [SELF]: 1M signed 16-bit pairs."""
    specs = [make("rounded", 16, signed=True, mode="rad", k=k) for k in (8, 6, 10)]
    got = sampled_mred_percent(specs)
    for value, want in zip(got, (0.2796, 0.0791, 0.932)):
        assert value == pytest.approx(want, abs=0.01)
    assert round(got[0], 2) == 0.28  # IEEE Micro'18 Table 2
    # Ŷ = A·B' (B' = B with its rounded LSB digit), so RED depends on B only: exact over all B.
    B = np.arange(-(1 << 15), 1 << 15)
    B = B[B != 0]
    for spec, want in zip(specs, (0.2796, 0.0791, 0.932)):
        exact = 100 * np.mean(np.abs(spec.golden(np.ones_like(B), B) - B) / np.abs(B))
        assert exact == pytest.approx(want, abs=0.01)


# -- ROUP and PR|k,m (§5.3, §5.4) -------------------------------------------------------------
def test_roup_worked_example():
    A, B = -77, 105
    assert [int(d[0]) for d in booth.digits(np.array([B]), 8, True)] == [1, -2, -1, 2]
    for (p, r), want in {(1, 0): -8008, (0, 6): -8064, (1, 6): -8000, (2, 8): -8448}.items():
        assert one(make("roup", 8, signed=True, perforate=p, round=r), A, B) == want
    assert int(booth.round_half_up(np.array([A]), 3)[0]) == -80
    assert one(make("roup", 8, signed=True, perforate=1, q=(3, 3, 3)), A, B) == -8320  # PR|1,3


@pytest.mark.parametrize("pr,expected", [
    ((1, 0), (0.74707, 64.0, 3.906e-3, 4.530e-2, 256)),
    ((0, 4), (0.84375, 6.375, 3.891e-4, 1.072e-2, 28)),
    ((0, 6), (0.94922, 32.08, 1.958e-3, 4.210e-2, 164)),
    ((1, 6), (0.95801, 73.24, 4.470e-3, 6.506e-2, 356)),
    ((2, 8), (0.98657, 284.5, 1.737e-2, 0.19343, 1424)),
    ((2, 10), (0.99097, 500.1, 3.052e-2, 0.32334, 2624)),
])
def test_roup_self_table(pr, expected):
    m = exhaustive_metrics(make("roup", 8, signed=True, perforate=pr[0], round=pr[1]))
    er, med, nmed, mred, wce = expected
    assert m["er"] == pytest.approx(er, abs=6e-6)
    assert m["mae"] == pytest.approx(med, abs=0.06)
    assert m["nmed_denominator"] == 1 << 14 and m["nmed"] == pytest.approx(nmed, rel=2e-3)
    assert m["mred"] == pytest.approx(mred, rel=1e-3)
    assert m["wce"] == wce


def test_roup_q_vector_and_perforation_equivalences():
    A, B = all_pairs(8, 8, True)
    # q_j = max(0, R - 2j) over the kept rows j = P..3
    assert np.array_equal(make("roup", 8, signed=True, perforate=1, round=6).golden(A, B),
                          make("roup", 8, signed=True, perforate=1, q=(4, 2, 0)).golden(A, B))
    # R = 0: plain MBE perforation of the P LSB rows (§4.2)
    assert np.array_equal(make("roup", 8, signed=True, perforate=2).golden(A, B),
                          make("perforated", 8, signed=True, encoding="booth", start=0,
                               count=2).golden(A, B))


@pytest.mark.parametrize("k,m", [(1, 3), (2, 4), (0, 5)])
def test_pr_is_rounded_a_times_rounded_b(k, m):
    """PR|k,m (§5.3): Ŷ = Â·B', B' = 4^k·floor((B + 2^(2k−1))/4^k) (§4.2, j = 0)."""
    A, B = all_pairs(8, 8, True)
    b_round = ((B + ((1 << (2 * k)) >> 1)) >> (2 * k)) << (2 * k)
    spec = make("roup", 8, signed=True, perforate=k, q=(m,) * (4 - k))
    assert np.array_equal(spec.golden(A, B), booth.round_half_up(A, m) * b_round)


def test_pr_and_roup_sampled_mred():
    """PR|2,4 0.2255 % [V-exec] (published 0.23 %); PR [SELF] 16-bit values; ROUP [SELF] P=2."""
    def pr(k, m):
        return make("roup", 16, signed=True, perforate=k, q=(m,) * (8 - k))

    got = sampled_mred_percent([pr(2, 4), pr(2, 2), pr(3, 6), pr(4, 6)])
    for value, want in zip(got, (0.2255, 0.148, 0.788, 1.784)):
        assert value == pytest.approx(want, abs=0.01)
    assert round(got[0], 2) == 0.23
    p2, r8, r10 = sampled_mred_percent(
        [make("roup", 16, signed=True, perforate=2, round=r) for r in (0, 8, 10)])
    for value, want in ((p2, 0.1241), (r8, 0.1244), (r10, 0.1254)):
        assert value == pytest.approx(want, abs=0.005)
    assert p2 < r8 < r10


# -- ports, structure, validation ---------------------------------------------------------------
SMALL_CONFIGS = [
    *[("rounded", na, nb, s, dict(mode="roba")) for na, nb in [(2, 2), (5, 3), (6, 6)]
      for s in (False, True)],
    *[("rounded", na, nb, s, dict(mode="operand", round=r)) for na, nb, r in
      [(2, 2, 1), (4, 6, 3), (6, 5, 1)] for s in (False, True)],
    ("rounded", 7, 7, True, dict(mode="rad", k=6)),
    ("rounded", 5, 8, True, dict(mode="rad", k=6)),
    ("roup", 2, 2, True, dict(perforate=0, round=1)),
    ("roup", 6, 5, True, dict(perforate=1, round=7)),
    ("roup", 5, 6, True, dict(perforate=2, q=(4,))),
    ("roup", 6, 6, True, dict(q=(5, 1, 3))),
]


@pytest.mark.parametrize("family,na,nb,signed,params", SMALL_CONFIGS)
def test_golden_fits_port_and_hardware_has_no_multiplier(family, na, nb, signed, params):
    spec = make(family, na, nb, signed=signed, **params)
    y = spec.golden(*all_pairs(na, nb, signed))
    w = spec.out_bits
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if spec.out_signed else (0, (1 << w) - 1)
    assert lo <= y.min() and y.max() <= hi
    body = [ln for ln in spec.verilog().splitlines() if not ln.lstrip().startswith("//")]
    assert not any("*" in ln for ln in body)
    assert f"module {spec.top}_ref(" in spec.behavioural_verilog()


@pytest.mark.parametrize("family,signed,params,message", [
    ("rounded", False, dict(mode="foo"), "mode='foo' is not valid"),
    ("rounded", False, dict(round=2), "round applies only to mode=operand"),
    ("rounded", False, dict(mode="operand"), "mode=operand needs round"),
    ("rounded", False, dict(mode="operand", round=8), "round=8 is out of range"),
    ("rounded", False, dict(mode="operand", round=2, k=6), "k applies only to mode=rad"),
    ("rounded", False, dict(mode="rad", k=6), "signed operands only"),
    ("rounded", True, dict(mode="rad", k=5), "k must be even with 4 < k < bits_b"),
    ("rounded", True, dict(mode="rad", k=8), "k must be even with 4 < k < bits_b"),
    ("rounded", True, dict(mode="rad"), "mode=rad needs k"),
    ("rounded", True, dict(tree="bogus"), "tree='bogus' is not valid"),
    ("roup", False, dict(), "signed operands only"),
    ("roup", True, dict(perforate=4), "perforate=4 is out of range"),
    ("roup", True, dict(perforate=1, round=10), "round=10 is out of range"),
    ("roup", True, dict(perforate=1, q=(2, 2)), "it needs 3, one per kept Booth row 1..3"),
    ("roup", True, dict(q=(8, 0, 0, 0)), "q entry=8 is out of range"),
    ("roup", True, dict(round=2, q=(1, 1, 1, 1)), "either round=R or q"),
])
def test_invalid_parameters(family, signed, params, message):
    with pytest.raises(AxhwError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make(family, 8, signed=signed, **params)


@pytest.mark.parametrize("args", [
    ["--type", "rounded", "-p", "mode=rad", "-p", "k=6"],
    ["--type", "rounded", "--signed", "--bits", "6", "-p", "mode=rad", "-p", "k=6"],
    ["--type", "rounded", "-p", "mode=operand", "-p", "round=x"],
    ["--type", "roup", "--signed", "-p", "q=1,2"],
    ["--type", "roup", "-p", "perforate=1"],
])
def test_cli_invalid_combinations(cli, tmp_path, args):
    out = tmp_path / "out"
    proc = cli("gen", *args, "-o", out)
    assert_one_line_error(proc)
    assert not out.exists() or not any(out.iterdir())


def test_cli_generates_roup_q_vector(cli, tmp_path):
    proc = cli("gen", "--type", "roup", "--bits", "8", "--signed", "-p", "perforate=1",
               "-p", "q=3,3,3", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("mul8s_roup_p1_q3_3_3.json")
