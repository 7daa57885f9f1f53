"""Operands past 16 bits (to 32) for exact, truncated, bam, perforated and masked: 64-bit words in
the golden helpers, RTL == golden on random pairs, sampled metrics with confidence intervals,
random verification in a simulator, and a SAT formal proof that stops at its timeout."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_one_line_error, requires_icarus

from axhw.sim import netsim
from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.design.golden import pair_values, random_pair_index, to_raw, to_value
from axhw.measure.metrics import design_metrics
from axhw.verify.dispatch import verify_design

WIDE = [("exact", True, {}), ("truncated", False, {"cut": 30, "correction": "constant"}),
        ("bam", True, {"h": 3, "v": 20}), ("perforated", False, {"start": 4, "count": 3}),
        ("masked", False, {"drop_columns": (0, 1, 2, 40)})]


def test_64_bit_words_round_trip():
    v = np.array([-(1 << 62), -1, 0, (1 << 62) + 5], dtype=np.int64)
    raw = to_raw(v, 64)
    assert raw.dtype == np.uint64 and int(raw[1]) == (1 << 64) - 1
    assert np.array_equal(to_value(raw, 64, True), v)
    # (2^32-1)^2 wraps in int64 but its 64 raw bits, read unsigned, are the product.
    big = np.array([(1 << 32) - 1], dtype=np.int64)
    assert int(to_value(to_raw(big * big, 64), 64, False)[0]) == ((1 << 32) - 1) ** 2
    index = random_pair_index(32, 32, 1000, seed=3)
    assert index.dtype == np.uint64 and int(index.max()) >= 1 << 63
    A, B = pair_values(index, 32, 32, False)
    assert int(A.max()) >= 1 << 31 and int(B.min()) >= 0
    assert random_pair_index(8, 8, 10, 3).dtype == np.int64


@pytest.mark.parametrize("family,signed,params", WIDE)
def test_32_bit_rtl_equals_golden_on_random_pairs(tmp_path, family, signed, params):
    d = load_design(write_design(make(family, 32, signed=signed, **params), tmp_path))
    assert d.out_bits == 64
    A, B = pair_values(random_pair_index(32, 32, 4000, seed=7), 32, 32, signed)
    gates = netsim.generic_netlist(d.verilog_path, d.top, optimize=False)
    raw_a, raw_b = to_raw(A, 32), to_raw(B, 32)
    got = netsim.evaluate(gates, {"a": raw_a, "b": raw_b})["p"]
    np.testing.assert_array_equal(got, to_raw(d.golden(A, B), 64))


def test_widths_past_16_only_where_supported(cli):
    make("exact", 32, 20)
    with pytest.raises(AxhwError, match="bits_a=33 is out of range: valid is 2..32"):
        make("exact", 33)
    with pytest.raises(AxhwError, match="bits_a=17 is out of range: valid is 2..16"):
        make("rounded", 17)
    assert_one_line_error(cli("gen", "--type", "roup", "--bits", "32", "--signed", "-o", "x"))


def test_sampled_metrics_have_intervals_that_cover_the_true_mean(tmp_path):
    """Column truncation below t of an unsigned n×n array removes each bit a_j·b_i (P = 1/4):
    E[e] = -Σ_{c<t} (c+1)·2^c / 4 exactly; the 95 % interval of the sampled bias contains it,
    and the sample size is what was asked."""
    t = 20
    d = load_design(write_design(make("truncated", 32, cut=t), tmp_path))
    m = design_metrics(d, samples=20_000, seed=5)
    assert m["sampled"] and m["samples"] == m["pairs"] == 20_000 and m["confidence"] == 0.95
    lo, hi = m["ci95"]["bias"]
    true_bias = -sum((c + 1) * 2 ** c for c in range(t)) / 4
    assert lo < true_bias < hi and lo < m["bias"] < hi
    assert m["ci95"]["mae"] == [-hi, -lo]  # every error is <= 0 here
    assert m["wce"] <= sum((c + 1) * 2 ** c for c in range(t))
    other = design_metrics(d, samples=20_000, seed=6)
    assert other["bias"] != m["bias"] and other["ci95"]["bias"] != m["ci95"]["bias"]
    exact = design_metrics(load_design(write_design(make("exact", 32), tmp_path)),
                           samples=1000)
    assert exact["er"] == exact["mae"] == 0 and exact["ci95"]["mae"] == [0.0, 0.0]


def test_metrics_cli_prints_sample_size_and_intervals(tmp_path, cli):
    path = write_design(make("perforated", 24, start=2, count=2), tmp_path)
    proc = cli("metrics", path, "--samples", "5000")
    assert proc.returncode == 0, proc.stderr
    assert "5,000 pairs" in proc.stdout and "(95 % CI " in proc.stdout
    assert_one_line_error(cli("metrics", path, "--samples", "1"))


def test_sat_formal_at_32_bits_stops_at_its_timeout(tmp_path, cli):
    """The SAT engine cannot prove a 32x32 multiplier (the algebraic one can:
    tests/test_formal_algebraic.py); it stops at --timeout with one line."""
    path = write_design(make("exact", 32), tmp_path)
    proc = cli("verify", path, "--method", "formal", "--engine", "sat", "--timeout", "3")
    assert_one_line_error(proc)
    assert "did not finish within 3 s" in proc.stderr


@requires_icarus
def test_random_verification_at_32_bits_in_icarus(tmp_path):
    d = load_design(write_design(make("exact", 32, signed=True), tmp_path))
    (r,) = verify_design(d, sim="icarus", method="random", samples=300, seed=2)
    assert r.ok and r.checked == 300


def test_exhaustive_refused_and_random_by_default_past_16x16(tmp_path, cli):
    from axhw.verify.dispatch import default_method  # noqa: PLC0415

    d = load_design(write_design(make("exact", 17, 16), tmp_path))
    assert default_method(d) == "random"
    assert default_method(load_design(write_design(make("exact", 16), tmp_path))) == "exhaustive"
    proc = cli("verify", d.json_path, "--method", "exhaustive")
    assert_one_line_error(proc)
    assert "2^33 pairs cannot all be simulated" in proc.stderr
