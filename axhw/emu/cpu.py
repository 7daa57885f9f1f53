"""numba CPU kernels (parallel over output rows). Same arithmetic as the CUDA kernels: every
output is the integer sum of table entries, so results agree bit-for-bit."""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

ROWS = 4  # output rows sharing one pass over the b-offsets (cache reuse)


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
    """Direct (implicit-GEMM order) convolution over raw codes: no im2col buffer.

    x: N x C x H x W codes, woff: O x C/g x kh x kw b-side table offsets, out: N x O x OH x OW.
    """
    N, C, H, W = x.shape
    O, Cg, KH, KW = woff.shape
    OH, OW = out.shape[2], out.shape[3]
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    Og = O // groups
    for job in prange(N * O):
        n = job // O
        o = job % O
        g = o // Og
        for c in range(Cg):
            ci = g * Cg + c
            for ky in range(KH):
                for kx in range(KW):
                    wo = woff[o, c, ky, kx]
                    pad_val = table[np.int64(pad_code) * size_b + wo]
                    for oy in range(OH):
                        iy = oy * sh - ph + ky * dh
                        inside_y = 0 <= iy < H
                        for ox in range(OW):
                            ix = ox * sw - pw + kx * dw
                            if inside_y and 0 <= ix < W:
                                out[n, o, oy, ox] += table[np.int64(x[n, ci, iy, ix]) * size_b + wo]
                            else:
                                out[n, o, oy, ox] += pad_val
