"""What the cell-approximating families (`recursive`, `compressor`) share: the column limit below
which their cells are approximate, and summing weighted array bits into the golden value."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import check_range, param

__all__ = ["approx_cols_param", "ApproxColumns"]


def approx_cols_param(cells: str) -> Any:
    """`cells` says which cells count as "in columns below c"."""
    return param(None, f"{cells} below this column are approximate (none = all, 0 = exact)",
                 short="c", range="0..bits_a+bits_b")


class ApproxColumns:
    """Mixin for a Multiplier dataclass with an ``approx_cols`` field (``approx_cols_param``)."""

    def check_approx_cols(self) -> None:
        if self.approx_cols is not None:
            check_range("approx_cols", self.approx_cols, 0, self.out_bits)

    @property
    def approx_limit(self) -> int:
        """Cells in columns below this are approximate."""
        return self.out_bits if self.approx_cols is None else self.approx_cols

    def weighted_sum(self, bits, shape) -> np.ndarray:
        """Σ bit << column over (column, 0/1 array) pairs, modulo 2^out_bits (the port's wrap)."""
        out = np.zeros(shape, dtype=np.int64)
        for column, bit in bits:
            out += np.asarray(bit, dtype=np.int64) << column
        return out % (1 << self.out_bits)
