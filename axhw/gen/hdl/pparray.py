"""AND-array partial products (spec §2.1, §2.2, §7), shared by every SPP family.

``pp[i][j] = a[j] & b[i]``: row i is multiplier bit b_i, column i+j. Signed operands use modified
Baugh–Wooley: a bit whose weight is negative (exactly one of j = bits_a-1, i = bits_b-1) enters
complemented and its ``-2^(i+j)`` goes into the matrix constant, recomputed from the *kept* bits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .bitmatrix import BitMatrix
from .netlist import Netlist

__all__ = ["KeepFn", "pp_weight_sign", "build_and_array", "operand_bits", "masked_golden"]

KeepFn = Callable[[int, int], bool]  # (row i, column-of-a j) -> keep pp[i][j]?


def pp_weight_sign(i: int, j: int, bits_a: int, bits_b: int, signed: bool) -> int:
    """+1 or -1: the sign of pp[i][j]'s weight in the two's-complement product."""
    if not signed:
        return 1
    return -1 if ((j == bits_a - 1) != (i == bits_b - 1)) else 1


def build_and_array(nl: Netlist, a: list[str], b: list[str], width: int, signed: bool,
                    keep: KeepFn) -> BitMatrix:
    """Fill a BitMatrix with the kept AND partial products, one row per multiplier bit."""
    na, nb = len(a), len(b)
    m = BitMatrix(width)
    for i in range(nb):
        row = m.new_row()
        kept = [j for j in range(na) if keep(i, j)]
        if not kept:
            continue
        nl.comment(f"partial-product row {i} (b[{i}]): columns {i + kept[0]}..{i + kept[-1]}")
        for j in kept:
            pp = nl.and2(a[j], b[i], name=f"pp_r{i}_a{j}")
            if pp_weight_sign(i, j, na, nb, signed) < 0:
                m.add_negative(row, i + j, pp, nl)
            else:
                m.add(row, i + j, pp)
    return m


def operand_bits(x: np.ndarray, bits: int) -> list[np.ndarray]:
    """Raw bits of operand values x (two's complement if negative), LSB first, as int64 0/1 arrays."""
    raw = x.astype(np.int64) & ((1 << bits) - 1)
    return [(raw >> k) & 1 for k in range(bits)]


def masked_golden(A: np.ndarray, B: np.ndarray, bits_a: int, bits_b: int, signed: bool,
                  keep: KeepFn) -> np.ndarray:
    """Σ_{kept} w_ij a_j b_i 2^{i+j}, vectorized (spec §7). Exact integer value, int64."""
    abits = operand_bits(A, bits_a)
    bbits = operand_bits(B, bits_b)
    out = np.zeros(np.broadcast(A, B).shape, dtype=np.int64)
    for i in range(bits_b):
        for j in range(bits_a):
            if keep(i, j):
                term = (abits[j] & bbits[i]) << (i + j)
                out += term * pp_weight_sign(i, j, bits_a, bits_b, signed)
    return out
