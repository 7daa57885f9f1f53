"""Error metrics: spec closed forms (§4.1, §4.5, §6.1, §6.2, §6.3) on generated designs, the §3
EvoApprox conventions, distributions, NMED denominators."""

from __future__ import annotations

import numpy as np
import pytest

from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.design.golden import all_pairs
from axhw.measure.metrics import (Distribution, compute_metrics, design_metrics, load_distribution,
                                  nmed_denominator)


def design(tmp_path, family, bits=8, signed=False, **params):
    return load_design(write_design(make(family, bits, signed=signed, **params), tmp_path))


@pytest.mark.parametrize("j,k", [(0, 2), (1, 3), (2, 3), (4, 2), (0, 7)])
def test_perforation_closed_forms(tmp_path, j, k):
    """§4.1 unsigned SPP: MED, NMED (max product), ER, WCE, bias = -MED, on the RTL LUT."""
    n = 8
    m = design_metrics(design(tmp_path, "perforated", n, start=j, count=k), nmed_norm="maxprod")
    med = 2 ** (j - 2) * (2 ** k - 1) * (2 ** n - 1)
    assert m["mae"] == pytest.approx(med, rel=1e-12)
    assert m["nmed"] == pytest.approx(2 ** j * (2 ** k - 1) / (4 * (2 ** n - 1)), rel=1e-12)
    assert m["er"] == pytest.approx((1 - 2 ** -n) * (1 - 2 ** -k), rel=1e-12)
    assert m["wce"] == (2 ** n - 1) * 2 ** j * (2 ** k - 1)
    assert m["bias"] == pytest.approx(-med, rel=1e-12)
    assert m["nmed_denominator"] == (2 ** n - 1) ** 2 and m["source"].startswith("rtl")


@pytest.mark.parametrize("params,signed,ref", [
    # §4.5 [SELF] 8-bit reference rows: ER, MED, NMED_a, MRED, WCE, bias
    ({"start": 0, "count": 2}, False, (0.74707, 191.25, 2.941e-3, 3.566e-2, 765, -191.25)),
    ({"start": 1, "count": 3}, False, (0.87158, 892.5, 1.373e-2, 0.12298, 3570, -892.5)),
    ({"start": 0, "count": 1, "encoding": "booth"}, True,
     (0.74707, 64, 3.906e-3, 4.530e-2, 256, -0.25)),
    ({"start": 0, "count": 2, "encoding": "booth"}, True,
     (0.93384, 256, 1.5625e-2, 0.14784, 1024, -0.25)),
])
def test_spec_4_5_reference_rows(tmp_path, params, signed, ref):
    er, med, nmed, mred, wce, bias = ref
    m = design_metrics(design(tmp_path, "perforated", 8, signed, **params), nmed_norm="maxprod")
    assert m["er"] == pytest.approx(er, abs=5e-6)
    assert m["mae"] == pytest.approx(med, rel=1e-12)
    assert m["nmed"] == pytest.approx(nmed, rel=1e-3)
    assert m["mred"] == pytest.approx(mred, rel=1e-3)
    assert m["wce"] == wce
    assert m["bias"] == pytest.approx(bias, rel=1e-12)


@pytest.mark.parametrize("t,ref", [(4, (0.8125, 12.25, 49, 5.641e-3)),
                                   (6, (0.9375, 80.25, 321, 2.638e-2))])
def test_column_truncation_6_1(tmp_path, t, ref):
    er, med, wce, mred = ref
    m = design_metrics(design(tmp_path, "truncated", 8, mode="column", cut=t))
    assert m["er"] == er and m["mae"] == med and m["wce"] == wce
    assert m["mre"] == pytest.approx(mred, rel=1e-3)
    assert m["mae"] == ((t - 1) * 2 ** t + 1) / 4 and m["wce"] == (t - 1) * 2 ** t + 1


def test_date25_rm8_row(tmp_path):
    """§6.1 DATE'25 Table I mul8u_rm8 (t=8): ER 98.047 %, NMED 0.6840 % (/(2^2n-1)), MaxED 1793."""
    m = design_metrics(design(tmp_path, "truncated", 8, mode="column", cut=8))
    assert round(100 * m["er"], 3) == 98.047
    assert round(100 * m["nmed"], 4) == 0.6840 and m["nmed_norm"] == "2^2n-1"
    assert m["wce"] == 1793


@pytest.mark.parametrize("mode,guard,emax", [("cct", 4, 0.62890625), ("cct", 5, 0.53515625),
                                             ("vct", 4, 0.5664), ("vct", 1, 1.2773)])
def test_fixed_width_compared_at_product_scale(tmp_path, mode, guard, emax):
    """§6.2/§6.3 n=8, z=8: the 8-bit port holds product bits 8..15; errors in ulp = 2^8."""
    d = design(tmp_path, "truncated", 8, mode=mode, out_bits=8, guard=guard)
    assert d.out_shift == 8
    m = design_metrics(d)
    assert m["wce"] / 256 == pytest.approx(emax, abs=5e-5)
    assert m["out_shift"] == 8 and "product scale" in m["note"]


def test_vct_mean_and_mse_rows(tmp_path):
    """§6.3 table, VCT k=2: mean -0.126 ulp, MSE 0.1075 ulp^2."""
    m = design_metrics(design(tmp_path, "truncated", 8, mode="vct", out_bits=8, guard=2))
    assert m["bias"] / 256 == pytest.approx(-0.126, abs=5e-4)
    assert m["mse"] / 256 ** 2 == pytest.approx(0.1075, abs=5e-5)


def test_evoapprox_conventions_on_constructed_tables():
    """§3: MAE/MSE over all pairs, MRE/WCRE over exact != 0 only; a circuit wrong only at exact
    product 0 (like mul8u_0AB) has zero MRE but non-zero ER/MAE."""
    A, B = all_pairs(8, 8, False)
    exact = A * B
    wrong_at_zero = np.where(exact == 0, 7, exact)
    m = compute_metrics(wrong_at_zero, exact, bits_a=8)
    zeros = int((exact == 0).sum())
    assert zeros == 511 and m["mre_pairs"] == 65025
    assert m["mre"] == 0 and m["wcre"] == 0
    assert m["er"] == zeros / 65536 and m["mae"] == 7 * zeros / 65536
    assert m["mse"] == 49 * zeros / 65536 and m["wce"] == 7
    # +1 everywhere: WCRE = 1 (at |exact| = 1), MRE = mean of 1/|Y| over Y != 0
    plus = compute_metrics(exact + 1, exact, bits_a=8)
    assert plus["wcre"] == 1.0 and plus["er"] == 1.0 and plus["bias"] == 1.0
    nz = exact[exact != 0]
    assert plus["mre"] == pytest.approx(np.mean(1.0 / nz), rel=1e-12)
    assert plus["rmse"] == 1.0


def test_signed_wcre_at_minus_one():
    """WCRE with signed operands: error 17 at A = B = -1 (exact 1) gives 17 (mul8s_1KV9's 1700 %)."""
    A, B = all_pairs(8, 8, True)
    exact = A * B
    approx = np.where((A == -1) & (B == -1), 18, exact)
    m = compute_metrics(approx, exact, bits_a=8, signed=True, nmed_norm="maxprod")
    assert m["wcre"] == 17 and m["wce"] == 17 and m["nmed_denominator"] == 2 ** 14


def test_nmed_denominators():
    assert nmed_denominator("2^2n-1", 8, 8, False) == 65535
    assert nmed_denominator("2^2n", 8, 8, True) == 65536
    assert nmed_denominator("maxprod", 8, 8, False) == 255 * 255
    assert nmed_denominator("maxprod", 8, 6, True) == 2 ** 12
    with pytest.raises(AxhwError, match="NMED"):
        nmed_denominator("max", 8, 8, False)


def test_delta_distribution_gives_that_pairs_error(tmp_path):
    d = design(tmp_path, "perforated", 8, start=1, count=3)
    a, b = 200, 0b1110  # b bits 1..3 perforated: error = -a * 14
    joint = np.zeros((256, 256))
    joint[a, b] = 5.0
    m = design_metrics(d, dist=Distribution(joint=joint / joint.sum(), source="delta"))
    assert m["er"] == 1.0 and m["mae"] == a * 14 and m["wce"] == a * 14
    assert m["bias"] == -a * 14 and m["mre"] == 1.0 and m["pairs"] == 1 and m["weighted"]


def test_marginals_equal_joint_and_files(tmp_path):
    d = design(tmp_path, "perforated", 8, start=0, count=2)
    rng = np.random.default_rng(5)
    pa, pb = rng.random(256), rng.random(256) ** 4
    np.savez(tmp_path / "m.npz", a=pa, b=pb)
    np.save(tmp_path / "joint.npy", np.multiply.outer(pa, pb) * 1000)
    from_npz = design_metrics(d, dist=load_distribution(str(tmp_path / "m.npz"), 8, 8))
    from_joint = design_metrics(d, dist=load_distribution(str(tmp_path / "joint.npy"), 8, 8))
    uniform = design_metrics(d)
    for key in ("er", "mae", "mse", "mre", "bias"):
        assert from_npz[key] == pytest.approx(from_joint[key], rel=1e-9)
    assert from_npz["mae"] != pytest.approx(uniform["mae"], rel=1e-3)
    # weighted MAE by hand
    lut_err = np.abs(((np.arange(256)[None, :] & 3)) * np.arange(256)[:, None])
    assert from_npz["mae"] == pytest.approx((np.multiply.outer(pa, pb) * lut_err).sum()
                                            / (pa.sum() * pb.sum()), rel=1e-9)


@pytest.mark.parametrize("content,match", [
    (np.ones((16, 16)), "shape"),
    (-np.ones((256, 256)), "non-negative"),
    (np.zeros((256, 256)), "not all zero"),
])
def test_bad_distributions(tmp_path, content, match):
    np.save(tmp_path / "d.npy", content)
    with pytest.raises(AxhwError, match=match):
        load_distribution(str(tmp_path / "d.npy"), 8, 8)


def test_missing_distribution_file(tmp_path):
    with pytest.raises(AxhwError, match="not found"):
        load_distribution(str(tmp_path / "nope.npy"), 8, 8)


def test_wide_designs_stream_golden_and_netsim(tmp_path):
    """Past 16 input bits: chunks from the golden model (axhw design) and from the gate-level
    evaluator (same Verilog as external) give the closed forms and each other's numbers."""
    from axhw.design.external import load_external

    n, j, k = 9, 2, 3
    d = design(tmp_path, "perforated", n, start=j, count=k)
    golden = design_metrics(d, nmed_norm="maxprod", chunk=1 << 12)
    assert golden["source"] == "golden model" and golden["pairs"] == 1 << 18
    assert golden["mae"] == 2 ** (j - 2) * (2 ** k - 1) * (2 ** n - 1)
    assert golden["wce"] == (2 ** n - 1) * 2 ** j * (2 ** k - 1)
    assert golden["er"] == (1 - 2 ** -n) * (1 - 2 ** -k)
    ext = design_metrics(load_external(d.verilog_path), nmed_norm="maxprod", chunk=1 << 14)
    assert ext["source"].startswith("rtl (netsim")
    for key in ("er", "mae", "wce", "mse", "mre", "wcre", "bias", "nmed", "pairs"):
        assert ext[key] == pytest.approx(golden[key], rel=1e-12), key
