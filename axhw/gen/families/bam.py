"""Broken-array multiplier (BAM; Mahdiani et al., TCAS-I 2010; spec §6.5).

Keeps the partial products ``a_j b_i`` (i = bit of the row operand) with ``i >= h`` (horizontal
break level) and ``i + j >= v`` (vertical break level). ``row_operand=b`` is ArithsGen's
orientation (rows are multiplier bits); ``row_operand=a`` is that of the older EvoApproxLib
netlists (same function with the roles of the operands swapped). Signed operands keep their
Baugh–Wooley weights, with the constant recomputed from the kept bits (EvoApproxLib signed BAM).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hdl.pparray import build_and_array, masked_golden
from .base import (WIDE_BITS, Multiplier, TreeReduced, check, check_choice, check_range,
                   final_adder_param, param, tree_param)
from .masked import kept_sum

__all__ = ["BrokenArrayMultiplier"]

ROW_OPERANDS = ("b", "a")


@dataclass(frozen=True)
class BrokenArrayMultiplier(TreeReduced, Multiplier):
    h: int = param(0, "horizontal break level: rows i < h removed", short="h", always=True,
                   range="0..(row operand bits)-1")
    v: int = param(0, "vertical break level: columns i+j < v removed", short="v", always=True,
                   range="h..bits_a+bits_b-2")
    row_operand: str = param("b", "operand whose bits index the rows (i)", short="r",
                             range="|".join(ROW_OPERANDS))
    tree: str = tree_param()
    final_adder: str = final_adder_param()

    family = "bam"
    abbrev = "bam"
    description = "broken-array multiplier (Mahdiani et al. 2010)"
    max_bits = WIDE_BITS
    bit_linear = True

    def validate(self) -> None:
        check_choice("row_operand", self.row_operand, ROW_OPERANDS)
        rows = self.bits_b if self.row_operand == "b" else self.bits_a
        check_range("h", self.h, 0, rows - 1)
        check(self.h <= self.v, f"h={self.h} > v={self.v}: the break levels need h <= v")
        # v <= bits_a+bits_b-2 keeps at least the top partial product a[n-1]b[m-1].
        check_range("v", self.v, self.h, self.bits_a + self.bits_b - 2)

    def keep(self, i: int, j: int) -> bool:
        """pp[i][j] = a[j] & b[i] in the shared array's indexing (row i = bit of b)."""
        row = i if self.row_operand == "b" else j
        return row >= self.h and i + j >= self.v

    def notes(self) -> list[str]:
        return [f"output bits below {self.v} are always 0"] if self.v > 0 else []

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return masked_golden(A, B, self.bits_a, self.bits_b, self.signed, self.keep)

    def behavioural_verilog(self) -> str:
        from ..hdl.reference import ref_module  # noqa: PLC0415

        return ref_module(self, kept_sum(self.bits_a, self.bits_b, self.signed, self.keep))

    def build(self, nl, a, b) -> None:
        nl.comment(f"broken array: rows of {self.row_operand} below {self.h} and columns below "
                   f"{self.v} removed")
        m = build_and_array(nl, a, b, self.out_bits, self.signed, self.keep)
        self.emit_product(nl, m)
