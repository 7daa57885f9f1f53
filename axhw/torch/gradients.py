"""Backward tables for LUT products: straight-through (exact product) and the LUT-difference
gradient of Meng et al., DATE 2025 (spec §8.4, their scripts/gen_bp_lut.py).

LUT-difference gradient w.r.t. operand x at fixed other operand w, on the table in operand-VALUE
order (raw order for unsigned tables):
  S(x) = mean of AM(x+d, w) over d = -H..H, the window clipped at the table edges;
  dAM/dx = (S(x+1) - S(x-1)) / 2 for H < x < N-1-H, else (max_x AM(x, w) - min_x AM(x, w)) / N.
The authors' code takes the edge max/min of the FIRST operand's gradient over row w of the table
(``lut[0:ROWS][b]``) instead of column w; ``code_quirk=True`` reproduces that (identical for
symmetric multipliers). For a signed table the edge value gets the sign of AM(max x) - AM(min x),
so that negative operands do not flip the gradient (the paper only treats unsigned multipliers).
"""

from __future__ import annotations

import numpy as np

from ..infra.errors import AxhwError
from .quant import code_values

__all__ = ["GRADIENTS", "lut_difference_gradients", "operand_gradient_tables", "ste_gradients"]

GRADIENTS = ("ste", "lut")


def _smooth(v: np.ndarray, h: int) -> np.ndarray:
    """Window mean along axis 0 with the window clipped at the edges (cumulative sums)."""
    n = v.shape[0]
    c = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(v, axis=0)])
    lo = np.clip(np.arange(n) - h, 0, n)
    hi = np.clip(np.arange(n) + h + 1, 0, n)
    return (c[hi] - c[lo]) / (hi - lo)[:, None]


def _grad_axis0(v: np.ndarray, h: int, signed: bool, edge_rows: bool) -> np.ndarray:
    """dAM/dx along axis 0 of the value-ordered table v[x, w]."""
    n = v.shape[0]
    s = _smooth(v, h)
    src = v.T if edge_rows else v  # quirk: max/min over row w instead of column w
    edge = (src.max(axis=0) - src.min(axis=0)) / n
    if signed:
        edge = edge * np.sign(src[-1] - src[0])
    g = np.broadcast_to(edge[None, :], v.shape).copy()
    inner = np.arange(h + 1, n - 1 - h)
    g[inner] = (s[inner + 1] - s[inner - 1]) / 2
    return g


def lut_difference_gradients(table: np.ndarray, signed: bool, half_window: int,
                             code_quirk: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(dAM/da, dAM/db) of an n-bit product table ``[a_raw, b_raw]``, both in raw-index layout."""
    if not isinstance(half_window, int) or half_window < 1:
        raise AxhwError(f"half_window={half_window!r} must be an integer >= 1")
    bits = int(table.shape[0]).bit_length() - 1
    order = np.argsort(code_values(bits, True) if signed else np.arange(1 << bits), kind="stable")
    v = table.astype(np.float64)[np.ix_(order, order)]
    ga = _grad_axis0(v, half_window, signed, edge_rows=code_quirk)
    gb = _grad_axis0(v.T, half_window, signed, edge_rows=False).T
    back = np.argsort(order)
    return ga[np.ix_(back, back)], gb[np.ix_(back, back)]


def ste_gradients(table: np.ndarray, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Straight-through: the exact product's derivatives, d(ab)/da = b and d(ab)/db = a."""
    bits = int(table.shape[0]).bit_length() - 1
    vals = code_values(bits, True) if signed else np.arange(1 << bits)
    a, b = np.meshgrid(vals, vals, indexing="ij")
    return b.astype(np.float64), a.astype(np.float64)


def operand_gradient_tables(table: np.ndarray, signed: bool, mode: str, half_window: int,
                            code_quirk: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Gradient tables indexed like the operand table (sign-magnitude-extended when unsigned).

    For sign-magnitude operands P = sign(a) sign(b) L(|a|, |b|), so dP/da = sign(b) dL/d|a|.
    """
    if mode not in GRADIENTS:
        raise AxhwError(f"gradient={mode!r} is not valid: choose one of {', '.join(GRADIENTS)}")
    if mode == "lut":
        ga, gb = lut_difference_gradients(table, signed, half_window, code_quirk)
    else:
        ga, gb = ste_gradients(table, signed)
    if signed:
        return ga, gb
    n = table.shape[0]
    sign = np.concatenate([np.ones(n), -np.ones(n)])
    return np.tile(ga, (2, 2)) * sign[None, :], np.tile(gb, (2, 2)) * sign[:, None]
