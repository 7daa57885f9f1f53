"""The bit-linear form of a LUT: per-code integer tables whose products rebuild every entry.

A bit-linear multiplier's product is a fixed sum of kept partial-product bits plus a constant
(exact, perforated AND, truncated, BAM, masked arrays; Baugh-Wooley complements add terms linear
in single bits). With a_j, b_i the raw operand bits:

    P(a, b) = Σ_ji W[j, i] a_j b_i + Σ_j u_j a_j + Σ_i v_i b_i + c

The coefficients are read off the LUT at single-bit operands, columns of W that are multiples of
each other are merged (exact/perforated: one term), and the resulting low-rank form

    P(a, b) = Σ_r A_r[a] · B_r[b] + U[a] + V[b] + c        (per-code integer tables)

is checked against EVERY LUT entry; a LUT it does not reproduce is rejected. So no per-family code
exists here and a wrong ``bit_linear`` flag can never give a wrong answer. Tables that are not
bit-linear but of small rank (RoBA) get the same form from :func:`fit_low_rank`. Pure numpy: the LUT
stack (axhw.emu.luts) and the GEMM path (axhw.emu.bitlinear) both build on this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..infra.errors import AxhwError

__all__ = ["BitLinearForm", "fit_low_rank", "fit_table"]

MAX_RANK = 8  # larger low-rank forms are not worth a GEMM over K * rank


@dataclass(frozen=True, eq=False)
class BitLinearForm:
    """``lut[a, b] == amat[a] @ bmat[b] + ua[a] + vb[b] + const`` for every code pair (verified)."""

    amat: np.ndarray  # (2^bits_a, R) int64, centred per column
    bmat: np.ndarray  # (2^bits_b, R) int64, centred per column
    ua: np.ndarray  # (2^bits_a,) int64
    vb: np.ndarray  # (2^bits_b,) int64
    const: int
    maxabs: int  # max |lut|: fixes the result dtype exactly like lut_matmul

    @property
    def rank(self) -> int:
        return self.amat.shape[1]

    @property
    def operand_max(self) -> tuple[int, int]:
        return int(np.abs(self.amat).max(initial=0)), int(np.abs(self.bmat).max(initial=0))

    @property
    def fits_int8(self) -> bool:
        return all(m.size == 0 or (m.min() >= -128 and m.max() <= 127)
                   for m in (self.amat, self.bmat))

    def table(self) -> np.ndarray:
        return self.amat @ self.bmat.T + self.ua[:, None] + self.vb[None, :] + self.const


def _bit_table(bits: int) -> np.ndarray:
    codes = np.arange(1 << bits, dtype=np.int64)
    return (codes[:, None] >> np.arange(bits)) & 1  # (2^bits, bits)


def _merge_columns(W: np.ndarray):
    """Group columns of W that are integer multiples of one primitive vector.

    Returns (directions (R, rows), factors (R, cols)) with W == directions.T @ factors.
    """
    groups: dict[tuple[int, ...], np.ndarray] = {}
    for i in range(W.shape[1]):
        col = W[:, i]
        nz = np.flatnonzero(col)
        if nz.size == 0:
            continue
        g = math.gcd(*(int(v) for v in np.abs(col[nz])))
        g = g if col[nz[0]] > 0 else -g
        key = tuple(int(v) for v in col // g)
        groups.setdefault(key, np.zeros(W.shape[1], dtype=np.int64))[i] = g
    if not groups:
        return np.zeros((0, W.shape[0]), np.int64), np.zeros((0, W.shape[1]), np.int64)
    return np.array(list(groups), dtype=np.int64), np.stack(list(groups.values()))


def _balance(amat: np.ndarray, bmat: np.ndarray):
    """Move powers of two between A_r and B_r (A_r B_r unchanged) so both spans are small:
    operand truncation gives A in 0..63 and B in 0..1008 unbalanced, 0..252 each balanced."""
    amat, bmat = amat.copy(), bmat.copy()
    for r in range(amat.shape[1]):
        for x, y in ((amat, bmat), (bmat, amat)):  # move from x to y while it helps
            while True:
                gx = math.gcd(*(int(v) for v in x[:, r]))
                span_x, span_y = np.ptp(x[:, r]), np.ptp(y[:, r])
                if gx % 2 or gx == 0 or span_y * 2 > span_x // 2 or span_y == 0:
                    break
                x[:, r] //= 2
                y[:, r] *= 2
    return amat, bmat


def fit_table(L: np.ndarray, maxabs: int) -> BitLinearForm:
    """Fit the bit-linear form to one ``(2^ba, 2^bb)`` int64 table and verify it on every entry
    (AxhwError if the table is not bit-linear). maxabs: max |entry| of the stack it belongs to."""
    ba, bb = L.shape[0].bit_length() - 1, L.shape[1].bit_length() - 1
    pa, pb = 1 << np.arange(ba), 1 << np.arange(bb)
    c = int(L[0, 0])
    u = L[pa, 0] - c
    v = L[0, pb] - c
    W = L[pa[:, None], pb[None, :]] - L[pa, 0][:, None] - L[0, pb][None, :] + c  # (ba, bb)
    # Merge along whichever side gives fewer GEMM terms.
    dir_a, fac_b = _merge_columns(W)  # W = dir_a.T @ fac_b
    dir_b, fac_a = _merge_columns(W.T)  # W.T = dir_b.T @ fac_a
    if dir_b.shape[0] < dir_a.shape[0]:
        dir_a, fac_b = fac_a, dir_b
    abits, bbits = _bit_table(ba), _bit_table(bb)
    form = _centred(abits @ dir_a.T, bbits @ fac_b.T, abits @ u, bbits @ v, c, maxabs)
    bad = np.argwhere(form.table() != L)
    if bad.size:
        a_raw, b_raw = (int(x) for x in bad[0])
        raise AxhwError(f"LUT is not bit-linear: the fitted form misses {len(bad)} entries, "
                        f"first at a={a_raw}, b={b_raw}")
    return form


def fit_low_rank(L: np.ndarray, maxabs: int, max_rank: int = MAX_RANK) -> BitLinearForm | None:
    """The same form for a table of small rank that is not bit-linear (RoBA: rank 2, rounded
    operands and RADk: rank 1), or None. A_r are LUT columns (the smallest-magnitude columns
    that span the table), B the integer coefficients rebuilding every column from them; the form
    is accepted only if it reproduces every entry. Tables of rank > max_rank (EvoApprox circuits)
    are rejected after one (2^ba x max_rank+1) random projection, without an SVD of the table."""
    Lf = L.astype(np.float64)
    probe = Lf @ np.random.default_rng(0).standard_normal((L.shape[1], max_rank + 1))
    rank = np.linalg.matrix_rank(probe)  # = rank(L) unless that exceeds max_rank
    if rank > max_rank:
        return None
    cols: list[int] = []
    basis = np.zeros((L.shape[0], 0))
    norms = np.linalg.norm(Lf, axis=0)
    order = np.argsort(np.abs(L).max(axis=0), kind="stable")
    for _ in range(rank):  # the smallest column outside the span of those chosen so far
        resid = np.linalg.norm(Lf[:, order] - basis @ (basis.T @ Lf[:, order]), axis=0)
        new = order[np.flatnonzero(resid > 1e-9 * np.maximum(norms[order], 1))]
        if new.size == 0:
            break
        cols.append(int(new[0]))
        q = Lf[:, cols[-1]] - basis @ (basis.T @ Lf[:, cols[-1]])
        basis = np.column_stack([basis, q / np.linalg.norm(q)])
    amat = L[:, cols]
    coef = np.rint(np.linalg.lstsq(amat.astype(np.float64), Lf, rcond=None)[0]).astype(np.int64)
    if not np.array_equal(amat @ coef, L):
        return None  # rational coefficients: not an integer form
    zero_a, zero_b = np.zeros(L.shape[0], np.int64), np.zeros(L.shape[1], np.int64)
    form = _centred(amat, coef.T, zero_a, zero_b, 0, maxabs)
    return form if np.array_equal(form.table(), L) else None


def _centred(amat, bmat, ua, vb, c: int, maxabs: int) -> BitLinearForm:
    """Balance powers of two between the sides and centre each term's operands:
    (A + za)(B + zb) = AB + zb A + za B + za zb, so int8 fits 0..255 ranges."""
    amat, bmat = _balance(amat, bmat)
    za = -((-(amat.min(0) + amat.max(0))) // 2) if amat.size else np.zeros(0, np.int64)
    zb = -((-(bmat.min(0) + bmat.max(0))) // 2) if bmat.size else np.zeros(0, np.int64)
    amat, bmat = amat - za, bmat - zb
    return BitLinearForm(amat=amat, bmat=bmat, ua=ua + amat @ zb, vb=vb + bmat @ za,
                         const=c + int(za @ zb), maxabs=maxabs)
