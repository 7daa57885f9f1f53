"""numba CPU kernel of the LUT-difference backward (no (M, K, N) index tensor is built)."""

from __future__ import annotations

import numba
from numba import prange


@numba.njit(parallel=True, cache=True)
def lut_backward(a, boff, ga, gb, side, gp, grad_a, grad_b):
    """grad_a[m,k] = Σ_n gp[m,n] ga[a[m,k]*side + boff[k,n]]; grad_b[k,n] = Σ_m gp[m,n] gb[...]."""
    M, K = a.shape
    N = boff.shape[1]
    for m in prange(M):
        for k in range(K):
            base = a[m, k] * side
            acc = 0.0
            for n in range(N):
                acc += ga[base + boff[k, n]] * gp[m, n]
            grad_a[m, k] = acc
    for k in prange(K):  # one thread per row of grad_b: no write races
        for m in range(M):
            base = a[m, k] * side
            for n in range(N):
                grad_b[k, n] += gb[base + boff[k, n]] * gp[m, n]
