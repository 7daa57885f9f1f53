"""The bit-linear GEMM path equals the LUT path bit-for-bit, and rejects LUTs it cannot fit."""

import numpy as np
import pytest
import torch

from axhw.design.record import write_design
from axhw.emu import (bitlinear_conv2d, bitlinear_matmul, emulator_for, fit_bit_linear,
                      lut_conv2d, lut_matmul, prepare_luts)
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.design.golden import golden_lut

DESIGNS = [
    ("exact", dict(bits_a=8)),
    ("exact", dict(bits_a=8, signed=True)),
    ("exact", dict(bits_a=4, bits_b=6, signed=True)),
    ("perforated", dict(bits_a=8, start=2, count=3)),
    ("perforated", dict(bits_a=8, signed=True, start=1, count=2)),
    ("truncated", dict(bits_a=8, mode="column", cut=6)),
    ("truncated", dict(bits_a=8, signed=True, mode="operand", cut=3)),
    ("bam", dict(bits_a=8, h=3, v=9)),
    ("bam", dict(bits_a=8, signed=True, h=2, v=7)),
]


@pytest.mark.parametrize("family,kw", DESIGNS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(DESIGNS)])
def test_bitlinear_equals_lut_path(family, kw):
    spec = make(family, **kw)
    assert spec.bit_linear
    lut = golden_lut(spec)
    form = fit_bit_linear(lut)
    np.testing.assert_array_equal(form.table(), lut)
    rng = np.random.default_rng(3)
    a = rng.integers(0, 1 << spec.bits_a, (3, 17, 300))
    b = rng.integers(0, 1 << spec.bits_b, (300, 19))
    want = lut_matmul(a, b, lut, backend="cpu")
    engines = ["fp32", "fp64"] + (["int8"] if form.fits_int8 else [])
    for engine in engines:
        got = bitlinear_matmul(a, b, form, engine=engine)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=engine)
    x = rng.integers(0, 1 << spec.bits_a, (2, 4, 7, 6))
    w = rng.integers(0, 1 << spec.bits_b, (6, 2, 3, 3))
    want = lut_conv2d(x, w, lut, 2, 1, (2, 1), 2, pad_code=7)
    for engine in engines:
        got = bitlinear_conv2d(x, w, form, 2, 1, (2, 1), 2, pad_code=7, engine=engine)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=engine)


def test_fp32_engine_splits_k_to_stay_exact():
    """K * 255 * 255 >> 2^24: one fp32 GEMM would round; the chunked one must not."""
    lut = golden_lut(make("exact", 8))
    form = fit_bit_linear(lut)
    a = np.full((2, 5000), 255)
    b = np.full((5000, 2), 255)
    got = bitlinear_matmul(torch.from_numpy(a), torch.from_numpy(b), form, engine="fp32")
    assert isinstance(got, torch.Tensor)
    assert int(got[0, 0]) == 5000 * 255 * 255
    x, w = np.full((1, 128, 3, 3), 255), np.full((1, 128, 3, 3), 255)  # K = 1152 > one chunk
    assert bitlinear_conv2d(x, w, form, engine="fp32")[0, 0, 0, 0] == 1152 * 255 * 255


def test_non_bit_linear_lut_is_rejected():
    spec = make("rounded", 8)
    assert not spec.bit_linear
    with pytest.raises(AxhwError, match="not bit-linear"):
        fit_bit_linear(golden_lut(spec))
    with pytest.raises(AxhwError, match="not bit-linear"):
        fit_bit_linear(np.random.default_rng(0).integers(0, 100, (16, 16)))


def test_fit_is_family_agnostic():
    """Booth perforation is not flagged bit_linear (no AND array), yet its digits are linear in
    the bits of b, so the generic fit reproduces its whole LUT."""
    spec = make("perforated", 8, encoding="booth", start=1, count=1)
    lut = golden_lut(spec)
    np.testing.assert_array_equal(fit_bit_linear(lut).table(), lut)


def test_emulator_dispatches_on_the_design_json(tmp_path):
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 256, (9, 40)), rng.integers(0, 256, (40, 5))
    perf_spec = make("perforated", 8, signed=True, start=1, count=2)
    perf = emulator_for(write_design(perf_spec, tmp_path))
    booth = emulator_for(write_design(make("perforated", 8, encoding="booth", start=1), tmp_path))
    assert perf.path == "bit-linear" and booth.path == "lut"
    for em in (perf, booth):
        np.testing.assert_array_equal(em.matmul(a, b), lut_matmul(a, b, em.luts))
    assert emulator_for(make("perforated", 8, encoding="booth", start=1),
                        fast_path=True).path == "bit-linear"
    # A bit_linear flag on a LUT that is not bit-linear is refused, never used.
    with pytest.raises(AxhwError, match="not bit-linear"):
        emulator_for(make("exact", 4), lut=rng.integers(0, 9, (16, 16)))


def test_bitlinear_bad_input():
    form = fit_bit_linear(golden_lut(make("exact", 4)))
    with pytest.raises(AxhwError, match="outside 0..15"):
        bitlinear_matmul(np.full((2, 3), 16), np.zeros((3, 2), int), form)
    with pytest.raises(AxhwError, match="equal K"):
        bitlinear_matmul(np.zeros((2, 3), int), np.zeros((4, 2), int), form)
    with pytest.raises(AxhwError, match="needs CUDA"):
        bitlinear_matmul(np.zeros((2, 3), int), np.zeros((3, 2), int), form, engine="fp16")


def test_fast_path_stack_with_per_filter_selection(monkeypatch):
    """prepare_luts(fast_path=True): per-filter mixes of bit-linear designs run as one dense GEMM
    per LUT and equal the LUT kernels; a stack with a non-bit-linear LUT keeps the kernels."""
    specs = [make("exact", 8, signed=True), make("perforated", 8, signed=True, start=0, count=3),
             make("bam", 8, signed=True, h=2, v=7)]
    stack = np.stack([golden_lut(sp) for sp in specs])
    fast = prepare_luts(stack, fast_path=True)
    assert fast.forms is not None and len(fast.forms) == 3
    import axhw.emu.bitlinear as bl

    gemms = []
    real = bl.bitlinear_matmul
    monkeypatch.setattr(bl, "bitlinear_matmul", lambda *a, **k: gemms.append(1) or real(*a, **k))
    rng = np.random.default_rng(11)
    a, b = rng.integers(0, 256, (4, 5, 60)), rng.integers(0, 256, (60, 12))
    for index in (rng.integers(0, 3, 12), rng.integers(0, 3, (60, 12))):
        got = lut_matmul(torch.from_numpy(a), torch.from_numpy(b), fast, torch.from_numpy(index))
        want = lut_matmul(a, b, stack, index, backend="cpu")
        assert got.dtype == torch.int32 and want.dtype == np.int32
        np.testing.assert_array_equal(got.numpy(), want)
    assert len(gemms) == 3  # per-column: one GEMM per LUT; per-element: the LUT kernel
    x, w = rng.integers(0, 256, (2, 3, 6, 6)), rng.integers(0, 256, (5, 3, 3, 3))
    index = np.array([2, 0, 1, 1, 0])
    np.testing.assert_array_equal(lut_conv2d(x, w, fast, 1, 1, lut_index=index, pad_code=9),
                                  lut_conv2d(x, w, stack, 1, 1, lut_index=index, pad_code=9,
                                             backend="cpu"))
    full_rank = np.random.default_rng(0).integers(-(2**14), 2**14, (256, 256))
    mixed = np.stack([stack[0], full_rank])  # a LUT with neither a bit-linear nor a low-rank form
    assert prepare_luts(mixed, fast_path=True).forms is None


def test_grouped_conv_fast_path_equals_lut_kernels():
    """The dense bit-linear conv honours groups exactly like the LUT kernels."""
    from axhw.emu import lut_conv2d, prepare_luts

    rng = np.random.default_rng(7)
    lut = golden_lut(make("perforated", 8, start=1, count=2))
    x = rng.integers(0, 256, size=(2, 6, 7, 7))
    w = rng.integers(0, 256, size=(4, 3, 3, 3))
    slow = lut_conv2d(x, w, prepare_luts(lut), 1, 1, 1, 2)
    fast = lut_conv2d(x, w, prepare_luts(lut, fast_path=True), 1, 1, 1, 2)
    np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))


@pytest.mark.parametrize("kw", [dict(signed=True, mode="roba"), dict(mode="roba")])
def test_low_rank_form_of_roba(kw):
    """RoBA is not bit-linear but of rank 2: the fast path fits a low-rank form that reproduces
    every entry, and its dense GEMMs equal the LUT kernels."""
    from axhw.emu.forms import fit_low_rank

    lut = golden_lut(make("rounded", 8, **kw))
    with pytest.raises(AxhwError, match="not bit-linear"):
        fit_bit_linear(lut)
    form = fit_low_rank(lut.astype(np.int64), int(np.abs(lut).max()))
    assert form is not None and form.rank <= 2
    np.testing.assert_array_equal(form.table(), lut)
    fast = prepare_luts(lut, fast_path=True)
    assert fast.forms is not None
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 256, (9, 70)), rng.integers(0, 256, (70, 11))
    np.testing.assert_array_equal(bitlinear_matmul(a, b, form), lut_matmul(a, b, lut))
    x, w = rng.integers(0, 256, (2, 4, 7, 7)), rng.integers(0, 256, (6, 2, 3, 3))
    np.testing.assert_array_equal(lut_conv2d(x, w, fast, 2, 1, 1, 2, pad_code=3),
                                  lut_conv2d(x, w, lut, 2, 1, 1, 2, pad_code=3, backend="cpu"))
    perturbed = lut.copy()
    perturbed[5, 7] += 1  # one entry off: rank 3, no exact integer form of rank 2 reproduces it
    other = fit_low_rank(perturbed.astype(np.int64), int(np.abs(perturbed).max()))
    assert other is None or np.array_equal(other.table(), perturbed)


@pytest.mark.parametrize("spec", [make("exact", 8, signed=True), make("bam", 8, h=2, v=7),
                                  make("truncated", 8, signed=True, mode="operand", cut=3)],
                         ids=["exact", "bam", "truncated"])
def test_direct_fp32_conv_splits_channels_exactly(spec):
    """The fp32 engine's conv (torch conv2d on operand maps, no im2col) splits input channels so
    that every partial sum stays below 2^24: 150 channels x 3x3 needs two chunks here."""
    lut = golden_lut(spec)
    form = fit_bit_linear(lut)
    assert form.rank >= 1  # bam, truncated: U, V and constant terms as well
    rng = np.random.default_rng(4)
    x = torch.from_numpy(rng.integers(0, 256, (1, 150, 5, 6)))
    w = torch.from_numpy(rng.integers(0, 256, (3, 150, 3, 3)))
    got = bitlinear_conv2d(x, w, form, 1, 1, engine="fp32", pad_code=7)
    np.testing.assert_array_equal(got.numpy(), lut_conv2d(x, w, lut, 1, 1, pad_code=7,
                                                          backend="cpu").numpy())
    got = bitlinear_conv2d(x[:, :12], w[:, :4], form, 2, 1, 1, 3, engine="fp32")  # groups
    np.testing.assert_array_equal(got.numpy(), lut_conv2d(x[:, :12], w[:, :4], lut, 2, 1, 1, 3,
                                                          backend="cpu").numpy())
