"""Radix-4 modified Booth machinery (spec §2.4), shared by every Booth-encoded family.

Digits ``d_j = -2 b_{2j+1} + b_{2j} + b_{2j-1}`` (b_{-1} = 0); signed B is sign-extended to an even
width (ceil(n/2) digits), unsigned B is zero-extended (floor(n/2)+1 digits, the last in {0, 1}).
Row j is ``d_j·A·4^j`` as a w-bit two's complement field (w = bits_a+1 signed, bits_a+2 unsigned)
plus ``neg_j`` at column 2j; sign extension is prevented by the constant
``K = -Σ_{kept} 2^{w-1+2j}``, recomputed from the kept rows, so perforation is just "skip rows".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .bitmatrix import BitMatrix
from .netlist import ZERO, Netlist


def num_digits(bits_b: int, signed: bool) -> int:
    return (bits_b + 1) // 2 if signed else bits_b // 2 + 1


def digits(B: np.ndarray, bits_b: int, signed: bool) -> list[np.ndarray]:
    """Booth digits of operand values B (any shape), least significant first."""
    B = B.astype(np.int64)
    nd = num_digits(bits_b, signed)
    out = []
    for j in range(nd):
        b_hi = (B >> (2 * j + 1)) & 1  # arithmetic shift: sign-extends signed B
        b_mid = (B >> (2 * j)) & 1
        b_lo = (B >> (2 * j - 1)) & 1 if j > 0 else np.zeros_like(B)
        out.append(-2 * b_hi + b_mid + b_lo)
    return out


def row_width(bits_a: int, signed: bool) -> int:
    return bits_a + 1 if signed else bits_a + 2


def _bit(bits: Sequence[str], k: int, signed: bool) -> str:
    """Bit k of an operand given LSB-first, sign- or zero-extended; bit -1 is 0."""
    if k < 0:
        return ZERO
    if k < len(bits):
        return bits[k]
    return bits[-1] if signed else ZERO


def encode(nl: Netlist, b: Sequence[str], j: int, signed: bool) -> tuple[str, str, str]:
    """Booth encoder for digit j -> (neg, one, two) signals."""
    hi, mid, lo = _bit(b, 2 * j + 1, signed), _bit(b, 2 * j, signed), _bit(b, 2 * j - 1, signed)
    one = nl.xor2(mid, lo, name=f"one_{j}") if ZERO not in (mid, lo) else nl.xor2(mid, lo)
    both = nl.and2(mid, lo)
    neither = nl.and2(nl.not1(mid), nl.not1(lo))
    two = nl.or2(nl.and2(hi, neither), nl.and2(nl.not1(hi), both))
    neg = nl.and2(hi, nl.not1(both))
    return neg, one, two


def add_booth_row(nl: Netlist, m: BitMatrix, a: Sequence[str], a_signed: bool, j: int,
                  neg: str, one: str, two: str) -> None:
    """Add row j (value d_j·A·4^j) to the matrix with sign-extension prevention.

    `a` is the multiplicand (LSB first) the row uses; families that round the multiplicand per row
    (PR, ROUP) pass a modified `a` and a modified `neg`.
    """
    w = row_width(len(a), a_signed)
    row = m.new_row()
    nl.comment(f"Booth row {j}: d_{j}*A*4^{j}, {w} bits from column {2 * j}")
    for i in range(w):
        sel = nl.or2(nl.and2(one, _bit(a, i, a_signed)), nl.and2(two, _bit(a, i - 1, a_signed)))
        ppb = nl.xor2(sel, neg)
        if i < w - 1:
            m.add(row, 2 * j + i, ppb)
        else:  # sign bit: add ~s and fold -2^(w-1+2j) into the constant
            m.add_negative(row, 2 * j + i, ppb, nl)
    m.add(row, 2 * j, neg)


def build_booth(nl: Netlist, a: Sequence[str], b: Sequence[str], width: int, signed: bool,
                kept_rows: Sequence[int]) -> BitMatrix:
    m = BitMatrix(width)
    for j in kept_rows:
        neg, one, two = encode(nl, b, j, signed)
        add_booth_row(nl, m, a, signed, j, neg, one, two)
    return m


def booth_golden(A: np.ndarray, B: np.ndarray, bits_b: int, signed: bool,
                 kept_rows: Sequence[int]) -> np.ndarray:
    """Σ_{j kept} d_j·A·4^j, exact integers."""
    d = digits(B, bits_b, signed)
    out = np.zeros(np.broadcast(A, B).shape, dtype=np.int64)
    A = A.astype(np.int64)
    for j in kept_rows:
        out += d[j] * A << (2 * j)
    return out
