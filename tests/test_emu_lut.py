"""axhw.emu LUT kernels (numba CPU backend) against plain numpy references."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from axhw.emu import lut_conv2d, lut_matmul, prepare_luts
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.design.golden import golden_lut, to_value


def ref_matmul(a, b, luts, index=None):
    """Σ_k lut[index, a[..., k], b[k, n]] by fancy indexing (int64)."""
    luts = np.asarray(luts, dtype=np.int64)
    luts = luts[None] if luts.ndim == 2 else luts
    sel = np.zeros(b.shape, dtype=np.int64) if index is None else np.broadcast_to(index, b.shape)
    return luts[sel, a[..., :, None], b].sum(-2)


def ref_conv2d(x, w, luts, stride, padding, dilation, groups, index=None, pad_code=0):
    """Pad with pad_code, then loop over kernel taps with vectorized gathers."""
    luts = np.asarray(luts, dtype=np.int64)
    luts = luts[None] if luts.ndim == 2 else luts
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_code)
    OH = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
    sel = np.zeros(w.shape, np.int64) if index is None else np.broadcast_to(
        np.asarray(index).reshape(index.shape + (1,) * (4 - np.ndim(index))), w.shape)
    out = np.zeros((N, O, OH, OW), np.int64)
    Og = O // groups
    for o in range(O):
        g = o // Og
        for c in range(Cg):
            for ky in range(KH):
                for kx in range(KW):
                    patch = xp[:, g * Cg + c, ky * dh: ky * dh + sh * (OH - 1) + 1: sh,
                               kx * dw: kx * dw + sw * (OW - 1) + 1: sw]
                    out[:, o] += luts[sel[o, c, ky, kx], patch, w[o, c, ky, kx]]
    return out


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 9), st.integers(0, 40),
       st.integers(1, 40), st.integers(1, 3), st.integers(0, 2**32))
def test_matmul_matches_reference(ba, bb, m, k, n, nluts, seed):
    rng = np.random.default_rng(seed)
    luts = rng.integers(-(2**20), 2**20, (nluts, 1 << ba, 1 << bb))
    a = rng.integers(0, 1 << ba, (m, k))
    b = rng.integers(0, 1 << bb, (k, n))
    for index in (rng.integers(0, nluts, n), rng.integers(0, nluts, (k, n))):
        got = lut_matmul(a, b, luts, index, backend="cpu")
        assert got.shape == (m, n)
        np.testing.assert_array_equal(got, ref_matmul(a, b, luts, index))
    np.testing.assert_array_equal(lut_matmul(a, b, luts[0]), ref_matmul(a, b, luts[0]))


def test_leading_dims_dtypes_and_torch():
    rng = np.random.default_rng(1)
    lut = golden_lut(make("exact", 8, signed=True))
    a = rng.integers(0, 256, (2, 3, 50)).astype(np.uint8)
    b = rng.integers(0, 256, (50, 7)).astype(np.int16)
    got = lut_matmul(a, b, lut)
    assert got.dtype == np.int32 and got.shape == (2, 3, 7)  # 50 * 2^14 < 2^31
    np.testing.assert_array_equal(got, to_value(a, 8, True) @ to_value(b, 8, True))
    t = lut_matmul(torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(lut))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.int32
    np.testing.assert_array_equal(t.numpy(), got)


def test_accumulator_widens_to_int64_when_int32_could_overflow():
    lut = np.full((4, 4), 2**30, dtype=np.int64)
    a, b = np.zeros((1, 3), np.int64), np.zeros((3, 1), np.int64)
    got = lut_matmul(a, b, lut)
    assert got.dtype == np.int64 and got[0, 0] == 3 * 2**30
    assert lut_matmul(a[:, :1], b[:1], lut).dtype == np.int32  # 1 * 2^30 fits


def test_prepared_stack_is_reused():
    luts = prepare_luts(np.arange(2 * 16 * 16).reshape(2, 16, 16))
    a, b = np.ones((2, 3), np.int64), np.ones((3, 4), np.int64)
    np.testing.assert_array_equal(lut_matmul(a, b, luts, np.array([0, 1, 1, 0])),
                                  ref_matmul(a, b, luts.table.reshape(2, 16, 16),
                                             np.array([0, 1, 1, 0])))


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    ((1, 1), (0, 0), (1, 1), 1), ((2, 1), (1, 2), (1, 1), 2), ((1, 2), (2, 1), (2, 1), 4),
    ((3, 3), (1, 1), (1, 1), 1)])
def test_conv2d_matches_reference(stride, padding, dilation, groups):
    rng = np.random.default_rng(sum(stride) + groups)
    luts = rng.integers(-500, 500, (3, 16, 8))
    x = rng.integers(0, 16, (2, 4, 9, 8))
    w = rng.integers(0, 8, (8, 4 // groups, 3, 2))
    got = lut_conv2d(x, w, luts[0], stride, padding, dilation, groups, pad_code=5)
    np.testing.assert_array_equal(got, ref_conv2d(x, w, luts[0], stride, padding, dilation,
                                                  groups, pad_code=5))
    for index in (rng.integers(0, 3, 8), rng.integers(0, 3, (8, 4 // groups)),
                  rng.integers(0, 3, w.shape)):
        got = lut_conv2d(x, w, luts, stride, padding, dilation, groups, lut_index=index)
        np.testing.assert_array_equal(got, ref_conv2d(x, w, luts, stride, padding, dilation,
                                                      groups, index))


def test_conv2d_exact_lut_equals_torch_conv():
    """Independent cross-check: an exact signed LUT gives torch's integer convolution."""
    rng = np.random.default_rng(7)
    lut = golden_lut(make("exact", 8, signed=True))
    x = rng.integers(0, 256, (2, 6, 10, 10))
    w = rng.integers(0, 256, (4, 3, 3, 3))
    got = lut_conv2d(x, w, lut, 2, 1, 1, 2)
    want = torch.nn.functional.conv2d(torch.from_numpy(to_value(x, 8, True)).double(),
                                      torch.from_numpy(to_value(w, 8, True)).double(),
                                      stride=2, padding=1, groups=2)
    np.testing.assert_array_equal(got, want.long().numpy())


LUT = np.zeros((16, 16), np.int32)


@pytest.mark.parametrize("call,message", [
    (lambda: lut_matmul(np.zeros((2, 3), int), np.zeros((4, 2), int), LUT), "K mismatch"),
    (lambda: lut_matmul(np.full((2, 3), 16), np.zeros((3, 2), int), LUT), "outside 0..15"),
    (lambda: lut_matmul(np.full((2, 3), -1), np.zeros((3, 2), int), LUT), "outside 0..15"),
    (lambda: lut_matmul(np.zeros((2, 3)), np.zeros((3, 2), int), LUT), "integer raw codes"),
    (lambda: lut_matmul(np.zeros((2, 3), int), np.zeros((3, 2), int), LUT.astype(float)),
     "must hold integers"),
    (lambda: lut_matmul(np.zeros((2, 3), int), np.zeros((3, 2), int), np.zeros((16, 12), int)),
     r"not 2\^bits"),
    (lambda: lut_matmul(np.zeros((2, 3), int), np.zeros((3, 2), int), np.zeros((2, 16, 16), int)),
     "needs lut_index"),
    (lambda: lut_matmul(np.zeros((2, 3), int), np.zeros((3, 2), int), np.zeros((2, 16, 16), int),
                        np.array([0, 2])), "selects LUT 2"),
    (lambda: lut_matmul(np.zeros((2, 3), int), np.zeros((3, 2), int), np.zeros((2, 16, 16), int),
                        np.zeros(3, int)), "lut_index shape"),
    (lambda: lut_matmul(np.zeros((2, 3), int), np.zeros((3, 2), int), LUT, backend="tpu"),
     "backend='tpu'"),
    (lambda: lut_conv2d(np.zeros((1, 4, 5, 5), int), np.zeros((2, 3, 3, 3), int), LUT),
     "input channels per group"),
    (lambda: lut_conv2d(np.zeros((1, 4, 5, 5), int), np.zeros((2, 4, 7, 7), int), LUT),
     "does not fit"),
    (lambda: lut_conv2d(np.zeros((1, 4, 5, 5), int), np.zeros((2, 4, 3, 3), int), LUT,
                        pad_code=16), "pad_code"),
    (lambda: lut_conv2d(np.zeros((1, 4, 5, 5), int), np.zeros((2, 4, 3, 3), int), LUT,
                        stride=0), "stride"),
])
def test_bad_input_is_a_one_line_axhw_error(call, message):
    with pytest.raises(AxhwError, match=message) as exc:
        call()
    assert "\n" not in str(exc.value)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.sampled_from([1, 2, 3]), st.integers(1, 40),
       st.integers(1, 3), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2),
       st.integers(0, 2**32), st.booleans())
def test_conv2d_kernels_match_reference(n, c, groups, og, k, stride, padding, dilation, seed,
                                        wide):
    """Both CPU conv kernels (filters gathered per tap for >= 8 filters per group, rows gathered
    otherwise), odd sizes, groups, strides, dilation, zero rows skipped, int64 tables."""
    rng = np.random.default_rng(seed)
    lo = -(2**40) if wide else -(2**12)
    luts = rng.integers(lo, -lo, (2, 16, 8))
    luts[:, rng.integers(0, 16, 5)] = 0  # rows the kernels skip (pad code 0 among them)
    luts[:, 0] = 0
    size = (k - 1) * dilation + 1 + rng.integers(0, 6)
    x = rng.integers(0, 16, (n, c * groups, size, size + 1))
    w = rng.integers(0, 8, (og * groups, c, k, k))
    for pad_code in (0, 7):
        got = lut_conv2d(x, w, luts[0], stride, padding, dilation, groups, pad_code=pad_code)
        np.testing.assert_array_equal(got, ref_conv2d(x, w, luts[0], (stride,) * 2, (padding,) * 2,
                                                      (dilation,) * 2, groups, pad_code=pad_code))
    index = rng.integers(0, 2, w.shape[0])
    got = lut_conv2d(x, w, luts, stride, padding, dilation, groups, lut_index=index)
    np.testing.assert_array_equal(got, ref_conv2d(x, w, luts, (stride,) * 2, (padding,) * 2,
                                                  (dilation,) * 2, groups, index))


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 19), st.integers(0, 30), st.sampled_from([1, 15, 16, 17, 40, 300]),
       st.integers(0, 2**32), st.booleans())
def test_gemm_kernel_blocks_and_zero_rows(m, k, n, seed, wide):
    """Row/column blocks with tails (the kernel's 8 x 256 tiles, 16-lane gathers), rows of zeros
    skipped, int64 tables on the scalar path: all equal the fancy-indexing reference."""
    rng = np.random.default_rng(seed)
    lo = -(2**40) if wide else -(2**15)
    lut = rng.integers(lo, -lo, (32, 16))
    lut[rng.integers(0, 32, 8)] = 0
    a, b = rng.integers(0, 32, (m, k)), rng.integers(0, 16, (k, n))
    np.testing.assert_array_equal(lut_matmul(a, b, lut), ref_matmul(a, b, lut))


def test_zero_rows_are_the_rows_zero_in_every_lut():
    luts = np.ones((2, 4, 4), np.int64)
    luts[:, 1] = 0
    luts[0, 2] = 0  # zero in one LUT only: must not be skipped
    np.testing.assert_array_equal(prepare_luts(luts).zero_rows(), [0, 1, 0, 0])
