"""numba CPU kernels (parallel over output rows). Same arithmetic as the CUDA kernels: every
output is the integer sum of table entries, so results agree bit-for-bit."""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

ROWS = 4  # GEMM output rows sharing one pass over the b-offsets (cache reuse)
FILTERS = 8  # conv filters sharing one pass over an output row's input codes


@numba.njit(parallel=True, cache=True)
def gemm(a, boff, table, size_b, out):
    """out[m, n] += table[a[m, k] * size_b + boff[k, n]]."""
    M, K = a.shape
    N = boff.shape[1]
    for blk in prange((M + ROWS - 1) // ROWS):
        m0 = blk * ROWS
        m1 = min(m0 + ROWS, M)
        for k in range(K):
            for m in range(m0, m1):
                base = np.int64(a[m, k]) * size_b
                for n in range(N):
                    out[m, n] += table[base + boff[k, n]]


@numba.njit(parallel=True, cache=True)
def conv2d(x, woff, table, size_b, stride, padding, dilation, groups, pad_code, out):
    """Direct convolution in implicit-GEMM order over raw codes: no im2col buffer.

    x: N x C x H x W codes, woff: O x C/g x kh x kw b-side table offsets, out: N x O x OH x OW.
    Each task owns FILTERS filters of one image; each input code read feeds FILTERS look-ups.
    """
    N, C, H, W = x.shape
    O, Cg, KH, KW = woff.shape
    OH, OW = out.shape[2], out.shape[3]
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    Og = O // groups
    nob = (Og + FILTERS - 1) // FILTERS  # filter blocks per group (never spanning two)
    for job in prange(N * groups * nob):
        n = job // (groups * nob)
        g = (job // nob) % groups
        o0 = g * Og + (job % nob) * FILTERS
        o1 = min(o0 + FILTERS, (g + 1) * Og)
        bases = np.empty(OW, dtype=np.int64)
        for c in range(Cg):
            ci = g * Cg + c
            for ky in range(KH):
                for kx in range(KW):
                    # ox range whose input column is inside the image: no bounds test there.
                    lo_t = pw - kx * dw
                    ox_lo = 0 if lo_t <= 0 else (lo_t + sw - 1) // sw
                    hi_t = W - 1 + pw - kx * dw
                    ox_hi = 0 if hi_t < 0 else min(OW, hi_t // sw + 1)
                    ox_lo = min(ox_lo, ox_hi)
                    pad_base = np.int64(pad_code) * size_b
                    for oy in range(OH):
                        iy = oy * sh - ph + ky * dh
                        # Table-row bases of this output row's inputs, shared by the filters.
                        if 0 <= iy < H:
                            for ox in range(OW):
                                bases[ox] = pad_base
                            for ox in range(ox_lo, ox_hi):
                                bases[ox] = np.int64(x[n, ci, iy, ox * sw - pw + kx * dw]) * size_b
                        else:
                            for ox in range(OW):
                                bases[ox] = pad_base
                        for o in range(o0, o1):
                            wo = woff[o, c, ky, kx]
                            for ox in range(OW):
                                out[n, o, oy, ox] += table[bases[ox] + wo]
