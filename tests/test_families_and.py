"""Golden models of the AND-array families (truncated, bam, masked) against spec §6, §7."""

from fractions import Fraction

import numpy as np
import pytest

from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.gen.families.masked import lowest_kept_column, removed_mean, round_to_column
from axhw.design.golden import all_pairs
from axhw.gen.hdl.netlist import Netlist
from axhw.gen.hdl.pparray import build_and_array

from conftest import assert_one_line_error, run_cli


def errors(spec):
    """Error e = Ŷ - Y over all pairs, Ŷ at product scale (port << out_shift)."""
    A, B = all_pairs(spec.bits_a, spec.bits_b, spec.signed)
    return spec.golden(A, B) * (1 << spec.out_shift) - A * B, A * B


def stats(spec):
    e, exact = errors(spec)
    nz = exact != 0
    return {"er": (e != 0).mean(), "med": np.abs(e).mean(), "wce": int(np.abs(e).max()),
            "mred": (np.abs(e[nz]) / np.abs(exact[nz])).mean(), "bias": e.mean(),
            "nmed": np.abs(e).mean() / ((1 << (spec.bits_a + spec.bits_b)) - 1)}


# -- §6.1 column truncation ------------------------------------------------------------------
@pytest.mark.parametrize("n,t,er,nmed,wce", [(8, 8, 98.047, 0.6840, 1793),
                                             (6, 4, 81.25, 0.2991, 49)])
def test_rm_designs_date25(n, t, er, nmed, wce):
    s = stats(make("truncated", n, cut=t))
    assert round(100 * s["er"], 3) == er
    assert round(100 * s["nmed"], 4) == nmed
    assert s["wce"] == wce


@pytest.mark.parametrize("n", [4, 6, 8])
def test_column_truncation_closed_forms(n):
    for t in range(1, n + 1):
        s = stats(make("truncated", n, cut=t))
        assert s["med"] == ((t - 1) * 2**t + 1) / 4
        assert s["wce"] == (t - 1) * 2**t + 1
        assert s["bias"] == -s["med"]  # removing bits only ever lowers the product


@pytest.mark.parametrize("t,er,med,wce,mred", [(4, 0.8125, 12.25, 49, 5.641e-3),
                                               (6, 0.9375, 80.25, 321, 2.638e-2)])
def test_column_truncation_self_8bit(t, er, med, wce, mred):
    s = stats(make("truncated", 8, cut=t))
    assert (s["er"], s["med"], s["wce"]) == (er, med, wce)
    assert float(f"{s['mred']:.4g}") == mred


def test_column_correction_constant():
    # C_t = 2^t round(((t-1)2^t+1)/4 / 2^t), ties down.
    for t in range(1, 9):
        spec = make("truncated", 8, cut=t, correction="constant")
        expected = round_to_column(Fraction((t - 1) * 2**t + 1, 4), t)
        assert spec.constant() == expected and expected % (1 << t) == 0
        # t=2: E/4 = 5/16 -> 0; t=3: E/8 = 17/32 -> 1; t=8: 1793/1024 -> 2.
    assert [make("truncated", 8, cut=t, correction="constant").constant() for t in (2, 3, 8)] == \
        [0, 8, 512]
    assert round_to_column(Fraction(3, 2), 0) == 1 and round_to_column(Fraction(-3, 2), 0) == -2
    s0, s1 = stats(make("truncated", 8, cut=6)), stats(make("truncated", 8, cut=6,
                                                               correction="constant"))
    assert abs(s1["bias"]) < abs(s0["bias"]) and s1["med"] < s0["med"]


def test_column_truncation_signed_is_kept_bw_bits():
    spec = make("truncated", 6, signed=True, cut=7)
    A, B = all_pairs(6, 6, True)
    ref = np.zeros_like(A)
    for i in range(6):
        for j in range(6):
            if i + j >= 7:
                w = -1 if (i == 5) != (j == 5) else 1
                ref += w * (((A >> j) & 1) & ((B >> i) & 1)) << (i + j)
    assert np.array_equal(spec.golden(A, B), ref)


# -- §6.2 / §6.3 CCT and VCT ------------------------------------------------------------------
def test_cct_constants_table():
    got = [make("truncated", 8, mode="cct", out_bits=8, guard=k).constant() for k in range(6)]
    assert got == [512, 256, 192, 160, 128, 128]


@pytest.mark.parametrize("k,emax", [(4, 0.62890625), (5, 0.53515625)])
def test_cct_emax_schulte(k, emax):
    e, _ = errors(make("truncated", 8, mode="cct", out_bits=8, guard=k))
    assert np.abs(e).max() / 256 == emax


@pytest.mark.parametrize("k,vct,cct", [
    (1, (1.2773, -0.250, 0.1855), (2.5039, 0.000, 0.2658)),
    (2, (0.8477, -0.126, 0.1075), (1.2539, +0.060, 0.1222)),
    (3, (0.6523, -0.0645, 0.0890), (0.7539, +0.0605, 0.0934)),
    (4, (0.5664, -0.0342, 0.0847), (0.6289, -0.0146, 0.0847)),
])
def test_vct_cct_self_table(k, vct, cct):
    for mode, (emax, mean, mse) in (("vct", vct), ("cct", cct)):
        e, _ = errors(make("truncated", 8, mode=mode, out_bits=8, guard=k))
        ulp = e / 256
        assert round(np.abs(ulp).max(), 4) == emax
        digits = len(str(mean).split(".")[1])
        assert round(ulp.mean(), digits) == pytest.approx(mean, abs=1e-12)
        assert round((ulp**2).mean(), 4) == mse


def test_worked_example_4bit():
    a, b = np.array([13]), np.array([11])
    cct = make("truncated", 4, mode="cct", out_bits=4, guard=1)
    vct = make("truncated", 4, mode="vct", out_bits=4, guard=1)
    assert cct.constant() == 8
    assert (cct.golden(a, b)[0] << cct.out_shift, vct.golden(a, b)[0] << vct.out_shift) == (144, 128)
    assert cct.golden(a, b)[0] == 144 >> 4 and cct.out_shift == 4 and cct.out_bits == 4
    assert make("truncated", 4, cut=3).golden(a, b)[0] == 136
    assert make("bam", 4, h=1, v=3).golden(a, b)[0] == 128


def test_vct_structure():
    # n x n -> n with k >= 1: only a_{T-1} b_0 of column T-1 is left out (spec §6.3).
    spec = make("truncated", 8, mode="vct", out_bits=8, guard=2)
    t = 16 - 8 - 2
    assert spec.vct_bits() == [(i, t - 1 - i) for i in range(1, t)]
    assert spec.constant() == 1 << t  # k-1 = 1 one at column T
    # bits_b >= z+k: the first two bits are left out.
    wide = make("truncated", 8, 12, mode="vct", out_bits=8, guard=2)
    assert wide.first_column == 10 and wide.vct_bits() == [(i, 9 - i) for i in range(4, 10)]


def test_fixed_width_ports_fit():
    """Every (z, k) at 4x4 and 5x3 is either rejected in one line or has port values in [0, 2^z)."""
    for na, nb in ((4, 4), (5, 3)):
        for mode in ("cct", "vct"):
            for z in range(1, na + nb):
                for k in range(0, na + nb - z + 1):
                    try:
                        spec = make("truncated", na, nb, mode=mode, out_bits=z, guard=k)
                    except AxhwError as exc:
                        assert "overflows" in str(exc) or "at least 2" in str(exc)
                        continue
                    A, B = all_pairs(na, nb, False)
                    p = spec.golden(A, B)
                    assert p.min() >= 0 and p.max() < 1 << z
                    assert spec.out_shift == na + nb - z and not spec.bit_linear


def test_bit_linear_flags():
    assert make("truncated", 8, cut=3).bit_linear
    assert make("truncated", 8, mode="operand", cut=3).bit_linear
    assert not make("truncated", 8, mode="cct", out_bits=8).bit_linear
    assert make("bam", 8, h=1, v=3).bit_linear and make("masked", 8, mask="1").bit_linear


def test_bit_linear_flag_matches_the_emulators_fit():
    """bit_linear=True must mean the LUT is a fixed sum of AND bits plus a constant (the
    emulator's fit succeeds on the whole table); CCT/VCT's final floor breaks that."""
    from axhw.emu.bitlinear import fit_bit_linear
    from axhw.design.golden import golden_lut

    for spec in (make("bam", 6, signed=True, h=2, v=7, row_operand="a"),
                 make("masked", 6, 4, signed=True, mask="0x3c0f3f", compensation="constant"),
                 make("truncated", 6, signed=True, cut=7, correction="constant"),
                 make("truncated", 6, 5, signed=True, mode="operand", cut=2),
                 make("truncated", 6, mode="cct", out_bits=6, guard=2),
                 make("truncated", 6, mode="vct", out_bits=6, guard=1)):
        if spec.bit_linear:
            fit_bit_linear(golden_lut(spec))
        else:
            with pytest.raises(AxhwError, match="not bit-linear"):
                fit_bit_linear(golden_lut(spec))


# -- §6.4 operand truncation --------------------------------------------------------------
@pytest.mark.parametrize("na,nb,signed", [(6, 6, False), (6, 6, True), (7, 4, True)])
def test_operand_truncation(na, nb, signed):
    A, B = all_pairs(na, nb, signed)
    for t in range(1, min(na, nb)):
        spec = make("truncated", na, nb, signed=signed, mode="operand", cut=t)
        m = (1 << t) - 1
        assert np.array_equal(spec.golden(A, B), (A - (A & m)) * (B - (B & m)))


# -- §6.5 BAM -------------------------------------------------------------------------------------
@pytest.mark.parametrize("row", ["a", "b"])
def test_signed_bam_evoapprox(row):
    spec = make("bam", 8, signed=True, h=6, v=11, row_operand=row)
    assert round(100 * stats(spec)["mred"], 4) == 147.6305
    nl = Netlist("t")
    a, b = nl.port("input", "a", 8), nl.port("input", "b", 8)
    assert build_and_array(nl, a, b, 16, True, spec.keep).const_mod() == 0xA800


def test_signed_bam_rows_are_a_bits():
    """row_operand=a: Σ_{i>=h, i+j>=v} w_ij a_i b_j 2^(i+j) (EvoApproxLib signed BAM, §6.5)."""
    A, B = all_pairs(8, 8, True)
    ref = np.zeros_like(A)
    for i in range(6, 8):
        for j in range(8):
            if i + j >= 11:
                w = -1 if (i == 7) != (j == 7) else 1
                ref += w * (((A >> i) & 1) & ((B >> j) & 1)) << (i + j)
    assert np.array_equal(make("bam", 8, signed=True, h=6, v=11, row_operand="a").golden(A, B), ref)


@pytest.mark.parametrize("h,v,er,med,mred,wce", [
    (0, 4, 0.8125, 12.25, 5.641e-3, 49), (2, 6, 0.95020, 240.25, 5.129e-2, 961),
    (3, 8, 0.98291, 704.25, 0.12802, 2817), (1, 10, 0.99023, 1664.25, 0.25473, 6657)])
def test_bam_self_table(h, v, er, med, mred, wce):
    s = stats(make("bam", 8, h=h, v=v))
    assert round(s["er"], 5) == er and s["med"] == med and s["wce"] == wce
    assert float(f"{s['mred']:.4g}") == float(f"{mred:.4g}")


def test_bam_operand_swap_and_exact():
    A, B = all_pairs(6, 4, False)
    left = make("bam", 6, 4, h=2, v=5, row_operand="a").golden(A, B)
    assert np.array_equal(left, make("bam", 4, 6, h=2, v=5, row_operand="b").golden(B, A))
    assert np.array_equal(make("bam", 6, 4, signed=True).golden(*all_pairs(6, 4, True)),
                          np.multiply(*all_pairs(6, 4, True)))


# -- §7 masked ------------------------------------------------------------------------------------
def _mask(n_a, removed):
    return hex(sum(1 << (i * n_a + j) for i, j in removed))


@pytest.mark.parametrize("signed", [False, True])
def test_masked_special_cases(signed):
    n = 6
    A, B = all_pairs(n, n, signed)
    pairs = [(i, j) for i in range(n) for j in range(n)]
    cases = [
        (make("perforated", n, signed=signed, start=1, count=3),
         [(i, j) for i, j in pairs if 1 <= i < 4]),
        (make("truncated", n, signed=signed, cut=5), [(i, j) for i, j in pairs if i + j < 5]),
        (make("bam", n, signed=signed, h=2, v=6), [(i, j) for i, j in pairs if i < 2 or i + j < 6]),
        (make("truncated", n, signed=signed, mode="operand", cut=2),
         [(i, j) for i, j in pairs if i < 2 or j < 2]),
    ]
    for spec, removed in cases:
        masked = make("masked", n, signed=signed, mask=_mask(n, removed))
        assert np.array_equal(masked.golden(A, B), spec.golden(A, B)), spec.top
    cols = make("masked", n, signed=signed, drop_columns=(0, 1, 2, 3, 4))
    assert np.array_equal(cols.golden(A, B), make("truncated", n, signed=signed, cut=5).golden(A, B))


@pytest.mark.parametrize("signed", [False, True])
def test_masked_compensation_equals_column_correction(signed):
    A, B = all_pairs(6, 6, signed)
    for t in (3, 5, 7):
        tr = make("truncated", 6, signed=signed, cut=t, correction="constant")
        ms = make("masked", 6, signed=signed, drop_columns=tuple(range(t)), compensation="constant")
        assert ms.constant() == tr.constant()
        assert np.array_equal(ms.golden(A, B), tr.golden(A, B))


def test_masked_compensation_fits_port_and_reduces_bias():
    rng = np.random.default_rng(7)
    for signed in (False, True):
        A, B = all_pairs(4, 4, signed)
        lo, hi = (-(1 << 7), 1 << 7) if signed else (0, 1 << 8)
        for _ in range(40):
            mask = hex(int(rng.integers(1, (1 << 16) - 1)))
            plain = make("masked", 4, signed=signed, mask=mask)
            comp = make("masked", 4, signed=signed, mask=mask, compensation="constant")
            y = comp.golden(A, B)
            assert lo <= y.min() and y.max() < hi
            # Exhaustive inputs make each pp bit 1 on exactly 1/4 of the pairs, so the plain bias is
            # minus the removed bits' mean, and the constant leaves at most half a kept-column ulp.
            e0 = Fraction(int((plain.golden(A, B) - A * B).sum()), A.size)
            assert e0 == -removed_mean(4, 4, signed, plain.keep)
            t = lowest_kept_column(4, 4, plain.keep)
            assert abs(e0 + comp.constant()) <= Fraction(1 << t, 2)


def test_masked_asymmetric_bit_order():
    # bit i*bits_a + j removes pp[i][j] = a[j] b[i]: remove a[5] b[1] from a 6x3 array.
    spec = make("masked", 6, 3, mask=hex(1 << (1 * 6 + 5)))
    A, B = all_pairs(6, 3, False)
    assert np.array_equal(spec.golden(A, B), A * B - (((A >> 5) & 1) & ((B >> 1) & 1)) * 64)


# -- validation -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kw,needle", [
    ("truncated", dict(cut=16), "cut=16 is out of range"),
    ("truncated", dict(), "needs cut"),
    ("truncated", dict(mode="operand", cut=8), "cut=8 is out of range"),
    ("truncated", dict(mode="operand", cut=2, correction="constant"), "mode=column only"),
    ("truncated", dict(mode="column", cut=2, guard=1), "guard applies"),
    ("truncated", dict(mode="column", cut=2, out_bits=8), "out_bits applies"),
    ("truncated", dict(mode="cct"), "needs out_bits"),
    ("truncated", dict(mode="cct", out_bits=8, guard=9), "guard=9 is out of range"),
    ("truncated", dict(mode="cct", out_bits=16), "out_bits=16 is out of range"),
    ("truncated", dict(mode="vct", out_bits=8, cut=3), "cut applies"),
    ("truncated", dict(mode="cct", out_bits=2, guard=6), "overflows"),
    ("truncated", dict(mode="vct", out_bits=1), "at least 2"),
    ("truncated", dict(mode="cct", out_bits=8, signed=True), "unsigned operands only"),
    ("truncated", dict(mode="diagonal", cut=2), "mode='diagonal' is not valid"),
    ("bam", dict(h=5, v=3), "h <= v"),
    ("bam", dict(h=8, v=9), "h=8 is out of range"),
    ("bam", dict(h=1, v=15), "v=15 is out of range"),
    ("bam", dict(row_operand="c"), "row_operand"),
    ("masked", dict(mask="1" + "0" * 16), "the mask has 64 bits"),
    ("masked", dict(mask="g1"), "not a hexadecimal"),
    ("masked", dict(), "nothing removed"),
    ("masked", dict(mask="f" * 16), "removes every"),
    ("masked", dict(drop_columns=(3, 2)), "strictly increasing"),
    ("masked", dict(drop_columns=(15,)), "columns are 0..14"),
    ("masked", dict(mask="1", compensation="mean"), "compensation='mean'"),
])
def test_invalid_parameters(name, kw, needle):
    signed = kw.pop("signed", False)
    with pytest.raises(AxhwError, match=None) as exc:
        make(name, 8, signed=signed, **kw)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_mask_length_rule_small():
    with pytest.raises(AxhwError, match="the mask has 16 bits"):
        make("masked", 4, mask="00001")  # 5 hex digits for 16 bits
    with pytest.raises(AxhwError, match="the mask has 9 bits"):
        make("masked", 3, mask="200")  # bit 9 does not exist in a 3x3 array
    make("masked", 3, mask="0ff")


def test_names_and_params_roundtrip(tmp_path):
    from axhw.design.record import load_design, write_design

    specs = [make("truncated", 8, cut=4), make("truncated", 8, mode="vct", out_bits=8, guard=2),
             make("truncated", 6, 4, signed=True, mode="operand", cut=2, tree="array"),
             make("bam", 8, signed=True, h=6, v=11, row_operand="a"),
             make("masked", 8, drop_columns=(0, 1, 2), compensation="constant"),
             make("masked", 8, mask="0xff")]
    tops = [s.top for s in specs]
    assert tops[:2] == ["mul8u_trunc_column_t4_z16", "mul8u_trunc_vct_z8_g2"]
    assert tops[3] == "mul8s_bam_h6_v11_ra" and tops[4] == "mul8u_masked_dc0_1_2_constant"
    assert len(set(tops)) == len(tops)
    for s in specs:
        design = load_design(write_design(s, tmp_path))
        assert design.spec == s and design.out_bits == s.out_bits
        assert design.out_shift == s.out_shift and design.meta["bit_linear"] == s.bit_linear


# -- CLI ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["--type", "truncated", "-p", "cut=16"],
    ["--type", "truncated", "-p", "mode=cct", "-p", "out_bits=8", "--signed"],
    ["--type", "truncated", "-p", "mode=vct", "-p", "out_bits=8", "-p", "guard=x"],
    ["--type", "bam", "-p", "h=5", "-p", "v=3"],
    ["--type", "masked", "-p", "mask=0x1ffff", "--bits", "4"],
    ["--type", "masked", "-p", "drop_columns=1,a"],
])
def test_cli_invalid_one_line_no_files(tmp_path, args):
    out = tmp_path / "out"
    proc = run_cli("gen", "--bits", "8", *args, "-o", out) if "--bits" not in args else \
        run_cli("gen", *args, "-o", out)
    assert_one_line_error(proc)
    assert not out.exists() or not any(out.iterdir())
