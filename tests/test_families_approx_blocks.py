"""Recursive multipliers of approximate 2x2 blocks and approximate 4:2-compressor trees: block and
compressor truth tables, exactness when nothing is approximate, each parameter moves the result,
RTL == golden on every pair (netsim; cocotb on Icarus and Verilator), one-line errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from axhw.cli import main
from axhw.design import load_design, write_design
from axhw.families import make
from axhw.families.compressor import APPROXIMATE, exact_42
from axhw.golden import all_pairs
from axhw.hdl.ops import ArrayOps
from axhw.lut import design_lut
from axhw.verify import verify_design


# -- recursive --------------------------------------------------------------------------------
@pytest.mark.parametrize("block,wrong", [
    ("m1", {(3, 3): 7}),                       # Kulkarni et al. 2011: 3x3 = 7, 1 of 16
    ("m3", {(3, 3): 11}),
    ("m4", {(3, 3): 5}),
    ("m2", {(1, 1): 0, (1, 3): 2, (3, 1): 2}),  # ArithsGen's M2 drops a0 b0
])
def test_2x2_blocks(block, wrong):
    A, B = all_pairs(2, 2, False)
    got = make("recursive", 2, block=block).golden(A, B)
    errors = {(a, b): g for a, b, g in zip(A.tolist(), B.tolist(), got.tolist()) if g != a * b}
    assert errors == wrong


def test_kulkarni_block_mean_relative_error():
    # One wrong product of 16 (7 for 9): mean relative error 2/9/16 = 1.39 %.
    A, B = all_pairs(2, 2, False)
    got = make("recursive", 2, block="m1").golden(A, B)
    exact = A * B
    rel = np.where(exact > 0, np.abs(got - exact) / np.maximum(exact, 1), 0.0)
    assert rel.mean() == pytest.approx(2 / 9 / 16)


@pytest.mark.parametrize("bits_a,bits_b", [(8, 8), (4, 8), (2, 16)])
@pytest.mark.parametrize("block", ["m1", "m2", "m3", "m4"])
def test_recursive_exact_when_no_block_is_approximate(bits_a, bits_b, block):
    A, B = all_pairs(bits_a, bits_b, False)
    np.testing.assert_array_equal(
        make("recursive", bits_a, bits_b, block=block, approx_cols=0).golden(A, B), A * B)


def test_recursive_parameters_move_the_result():
    A, B = all_pairs(8, 8, False)
    err = {c: int((make("recursive", 8, approx_cols=c).golden(A, B) != A * B).sum())
           for c in (0, 2, 4, 8, 16)}
    assert err[0] == 0 and err[0] < err[2] < err[4] < err[8] < err[16]
    by_block = {blk: make("recursive", 8, block=blk).golden(A, B) for blk in ("m1", "m3", "m4")}
    assert not np.array_equal(by_block["m1"], by_block["m3"])
    assert not np.array_equal(by_block["m1"], by_block["m4"])
    # Every block of an all-m1 8x8 multiplier errs only when both of its operand pairs are 3.
    m1 = by_block["m1"]
    assert (m1 <= A * B).all()


# -- 4:2 compressors --------------------------------------------------------------------------
def _truth_table_errors(fn, with_cin: bool) -> int:
    rows = np.array(list(itertools.product((0, 1), repeat=5 if with_cin else 4))).T
    x = list(rows) + ([] if with_cin else [np.zeros(rows.shape[1], dtype=np.int64)])
    s, carry, cout = fn(ArrayOps(), *x, "t")
    return int(((s + 2 * carry + 2 * np.asarray(cout)) != sum(x)).sum())


def test_compressor_truth_tables():
    assert _truth_table_errors(exact_42, True) == 0
    assert _truth_table_errors(APPROXIMATE["momeni1"][0], True) == 13    # of 32 rows
    assert _truth_table_errors(APPROXIMATE["momeni2"][0], False) == 5    # of 16 rows


@pytest.mark.parametrize("bits_a,bits_b", [(8, 8), (5, 7), (2, 2)])
@pytest.mark.parametrize("compressor", ["momeni1", "momeni2"])
def test_compressor_tree_exact_when_no_column_is_approximate(bits_a, bits_b, compressor):
    A, B = all_pairs(bits_a, bits_b, False)
    spec = make("compressor", bits_a, bits_b, compressor=compressor, approx_cols=0)
    np.testing.assert_array_equal(spec.golden(A, B), A * B)


def test_compressor_parameters_move_the_result():
    A, B = all_pairs(8, 8, False)
    med = {c: float(np.abs(make("compressor", 8, approx_cols=c).golden(A, B) - A * B).mean())
           for c in (0, 4, 7, 16)}
    assert med[0] == 0 < med[4] < med[7] < med[16]
    d1 = make("compressor", 8, compressor="momeni1", approx_cols=7).golden(A, B)
    d2 = make("compressor", 8, compressor="momeni2", approx_cols=7).golden(A, B)
    assert not np.array_equal(d1, d2)


# -- RTL == golden ----------------------------------------------------------------------------
NETSIM_MATRIX = [
    ("recursive", 8, 8, dict(block="m1")),
    ("recursive", 8, 8, dict(block="m2", approx_cols=6, tree="array")),
    ("recursive", 8, 8, dict(block="m3", tree="wallace")),
    ("recursive", 4, 8, dict(block="m4", approx_cols=5)),
    ("compressor", 8, 8, dict(compressor="momeni1")),
    ("compressor", 8, 8, dict(compressor="momeni1", approx_cols=7)),
    ("compressor", 8, 8, dict(compressor="momeni2", approx_cols=9)),
    ("compressor", 5, 7, dict(compressor="momeni2")),
]


@pytest.mark.parametrize("family,ba,bb,params", NETSIM_MATRIX)
def test_rtl_equals_golden_every_pair_netsim(tmp_path, family, ba, bb, params):
    d = load_design(write_design(make(family, ba, bb, **params), tmp_path))
    lut = design_lut(d, use_cache=False)  # raises VerificationFailed on any mismatch
    A, B = all_pairs(ba, bb, False)
    np.testing.assert_array_equal(lut.ravel(), d.golden(A, B))


# One simulator per family keeps the suite fast (a Verilator build is the slow part); `axhw verify
# --sim both` on both designs is in docs/families-recursive-compressor.md.
@pytest.mark.parametrize("family,params,sim", [
    ("recursive", dict(block="m1", approx_cols=8, tree="wallace"), "icarus"),
    ("compressor", dict(compressor="momeni1", approx_cols=7), "verilator"),
])
def test_rtl_equals_golden_every_pair_cocotb(tmp_path, family, params, sim):
    d = load_design(write_design(make(family, 8, **params), tmp_path))
    (result,) = verify_design(d, sim=sim)
    assert result.sim == sim and result.ok and result.checked == 65536


# -- errors and listing -----------------------------------------------------------------------
@pytest.mark.parametrize("args,words", [
    (["--type", "recursive", "--bits", "6"], "power of two"),
    (["--type", "recursive", "--signed"], "unsigned operands only"),
    (["--type", "recursive", "-p", "block=m5"], "block='m5' is not valid"),
    (["--type", "recursive", "-p", "approx_cols=17"], "approx_cols=17 is out of range"),
    (["--type", "compressor", "--signed"], "unsigned operands only"),
    (["--type", "compressor", "-p", "compressor=yang"], "compressor='yang' is not valid"),
    (["--type", "compressor", "-p", "approx_cols=-1"], "approx_cols=-1 is out of range"),
])
def test_invalid_parameters_are_one_line(tmp_path, capsys, args, words):
    assert main(["gen", *args, "-o", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("axhw: error: ") and words in err, err
    assert not (tmp_path / "out").exists()


def test_listed_in_families(capsys):
    assert main(["families"]) == 0
    out = capsys.readouterr().out
    assert "recursive: recursive multiplier of approximate 2x2 blocks" in out
    assert "compressor: 4:2-compressor tree with approximate compressors" in out
