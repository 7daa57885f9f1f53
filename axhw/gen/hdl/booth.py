"""Radix-4 modified Booth machinery (spec §2.4), shared by every Booth-encoded family.

Digits ``d_j = -2 b_{2j+1} + b_{2j} + b_{2j-1}`` (b_{-1} = 0); signed B is sign-extended to an even
width (ceil(n/2) digits), unsigned B is zero-extended (floor(n/2)+1 digits, the last in {0, 1}).
Row j is ``d_j·A·4^j`` as a w-bit two's complement field (w = bits_a+1 signed, bits_a+2 unsigned)
plus ``neg_j`` at column 2j; sign extension is prevented by the constant
``K = -Σ_{kept} 2^{w-1+2j}``, recomputed from the kept rows, so perforation is just "skip rows".
Rounding families (PR, ROUP; spec §5.3-5.4) feed a row a rounded multiplicand without an adder:
``d·(A_H + c) = (A_H xor c)·(d with its sign flipped by c)`` for ``c = a_{q-1}``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .bitmatrix import BitMatrix
from .netlist import ZERO, Netlist

__all__ = ["num_digits", "digits", "encode", "add_select_row", "add_booth_row",
           "rounded_multiplicand", "round_half_up", "round_half_up_verilog", "build_booth",
           "booth_golden"]


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


def add_select_row(nl: Netlist, m: BitMatrix, a: Sequence[str], a_signed: bool, column: int,
                   neg: str, selects: Sequence[str]) -> None:
    """Add the row ``±(A << t)·2^column`` where ``selects[t]`` is one-hot (or all 0: row = 0).

    The field ``(A << t) xor neg`` plus ``neg`` at `column` is the two's complement negation when
    `neg`; its sign bit gets sign-extension prevention (``~s`` plus a constant). A Booth row is
    ``selects = (one, two)``; RADk's approximate digit selects among four shifts.
    """
    w = len(a) + len(selects) - 1 + (0 if a_signed else 1)  # bits of A << (len-1), signed
    row = m.new_row()
    for i in range(w):
        sel = ZERO
        for t, s in enumerate(selects):
            sel = nl.or2(sel, nl.and2(s, _bit(a, i - t, a_signed)))
        ppb = nl.xor2(sel, neg)
        if i < w - 1:
            m.add(row, column + i, ppb)
        else:  # sign bit: add ~s and fold -2^(w-1+column) into the constant
            m.add_negative(row, column + i, ppb, nl)
    m.add(row, column, neg)


def add_booth_row(nl: Netlist, m: BitMatrix, a: Sequence[str], a_signed: bool, j: int,
                  neg: str, one: str, two: str, shift: int = 0) -> None:
    """Add row j (value d_j·A·4^j·2^shift) to the matrix with sign-extension prevention.

    `a` is the multiplicand (LSB first) the row uses; families that round the multiplicand per row
    (PR, ROUP) pass ``rounded_multiplicand``'s A_H*, the flipped `neg` and ``shift = q``.
    """
    w = row_width(len(a), a_signed)
    column = 2 * j + shift
    nl.comment(f"Booth row {j}: d_{j}*A*4^{j}" + (f"*2^{shift}" if shift else "")
               + f", {w} bits from column {column}")
    add_select_row(nl, m, a, a_signed, column, neg, (one, two))


def rounded_multiplicand(nl: Netlist, a: Sequence[str], q: int) -> tuple[list[str], str]:
    """Adder-free ``round_half_up(A, q) = 2^q·(A_H + c)`` for signed A (spec §5.3).

    Returns ``(A_H xor c, c)`` with ``A_H = a[q:]`` and ``c = a_{q-1}``: since
    ``d·(A_H + 1) = (~A_H)·(-d)``, a row using A_H* with its Booth sign xor c and ``shift = q``
    has value ``d·round_half_up(A, q)``. The rounded-away bits of A make no partial products.
    """
    if q <= 0:
        return list(a), ZERO
    c = a[q - 1]
    return [nl.xor2(x, c) for x in a[q:]], c


def round_half_up(A: np.ndarray, q: int) -> np.ndarray:
    """``2^q·(floor(A/2^q) + a_{q-1})`` (spec §1; floor also for negative A); A when q <= 0."""
    A = np.asarray(A, dtype=np.int64)
    if q <= 0:
        return A
    return ((A >> q) + ((A >> (q - 1)) & 1)) << q


def round_half_up_verilog(x: str, q: int) -> str:
    """``round_half_up`` as a Verilog expression of the signed wire `x` (behavioural references)."""
    if q <= 0:
        return x
    return f"((({x} >>> {q}) + (({x} >>> {q - 1}) & 1)) <<< {q})"


def build_booth(nl: Netlist, a: Sequence[str], b: Sequence[str], width: int, signed: bool,
                kept_rows: Sequence[int], round_at: Sequence[int] | None = None) -> BitMatrix:
    """The kept Booth rows; with `round_at` (signed only), the i-th kept row multiplies
    round_half_up(A, round_at[i]) via ``rounded_multiplicand`` (PR/ROUP, spec §5.3-5.4)."""
    if round_at is not None and not signed:
        raise ValueError("rounded Booth rows are defined for signed operands only")
    m = BitMatrix(width)
    rounded: dict[int, tuple[list[str], str]] = {}  # q -> (A_H*, c), shared by rows with equal q
    for i, j in enumerate(kept_rows):
        neg, one, two = encode(nl, b, j, signed)
        q = 0 if round_at is None else max(0, round_at[i])
        if q == 0:
            add_booth_row(nl, m, a, signed, j, neg, one, two)
            continue
        if q not in rounded:
            rounded[q] = rounded_multiplicand(nl, a, q)
        a_star, c = rounded[q]
        add_booth_row(nl, m, a_star, signed, j, nl.xor2(neg, c), one, two, shift=q)
    return m


def booth_golden(A: np.ndarray, B: np.ndarray, bits_b: int, signed: bool,
                 kept_rows: Sequence[int], round_at: Sequence[int] | None = None) -> np.ndarray:
    """Σ_{j kept} d_j·A_j·4^j, exact integers; A_j = round_half_up(A, round_at[i]) for the i-th
    kept row when `round_at` is given (PR/ROUP), else A.

    Runs of consecutive rows with the same A_j take one multiply: Σ_{s<=j<e} d_j·4^j telescopes
    to ``sext_2e(B mod 4^e) − sext_2s(B mod 4^s)`` (the digits' overlap bits cancel)."""
    B = np.asarray(B, dtype=np.int64)
    A = np.asarray(A, dtype=np.int64)
    rows = list(kept_rows)
    if rows and not 0 <= min(rows) <= max(rows) < num_digits(bits_b, signed):
        raise ValueError(f"Booth rows {rows} outside 0..{num_digits(bits_b, signed) - 1}")
    qs = [0] * len(rows) if round_at is None else [max(0, q) for q in round_at]
    out = np.zeros(np.broadcast(A, B).shape, dtype=np.int64)
    start = 0
    for i, j in enumerate(rows):
        if i + 1 < len(rows) and rows[i + 1] == j + 1 and qs[i + 1] == qs[i]:
            continue  # the run goes on
        out += round_half_up(A, qs[i]) * (_low_digits_value(B, j + 1)
                                          - _low_digits_value(B, rows[start]))
        start = i + 1
    return out


def _low_digits_value(B: np.ndarray, count: int) -> np.ndarray | int:
    """Σ_{j<count} d_j·4^j = the low 2·count bits of B read as two's complement."""
    if count == 0:
        return 0
    sign = 1 << (2 * count - 1)
    return ((B & ((sign << 1) - 1)) ^ sign) - sign
