"""General masked AND array (spec §7): any set of partial products removed, optional constant.

``mask=HEX``: bit ``i*bits_a + j`` set removes ``pp[i][j] = a[j] & b[i]`` (row i = multiplier bit);
``drop_columns=c,...`` removes whole columns; both together remove the union. Signed operands use
Baugh–Wooley weights with the constant recomputed from the kept bits, so the product is
``Σ_kept w_ij a_j b_i 2^(i+j)`` (+ C with ``compensation=constant``). Perforation, column and operand
truncation and BAM are special cases; the helpers here also give truncation its constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..hdl.pparray import KeepFn, build_and_array, masked_golden, pp_weight_sign
from .base import (WIDE_BITS, Multiplier, TreeReduced, check, check_choice, final_adder_param,
                   param, tree_param)

__all__ = ["removed_mean", "round_to_column", "lowest_kept_column", "compensation_constant",
           "verilog_int", "pp_term", "kept_sum", "MaskedMultiplier"]

COMPENSATIONS = ("none", "constant")


def removed_mean(bits_a: int, bits_b: int, signed: bool, keep: KeepFn) -> Fraction:
    """E[Σ_removed w_ij pp_ij 2^(i+j)] for uniform operands: every pp bit is 1 with probability 1/4
    (operand bits are independent and uniform, signed or not)."""
    total = sum(pp_weight_sign(i, j, bits_a, bits_b, signed) << (i + j)
                for i in range(bits_b) for j in range(bits_a) if not keep(i, j))
    return Fraction(total, 4)


def round_to_column(x: Fraction, t: int) -> int:
    """``2^t · round(x / 2^t)``, ties rounded down (Stine's CCT generators)."""
    return math.ceil(x / (1 << t) - Fraction(1, 2)) * (1 << t)


def lowest_kept_column(bits_a: int, bits_b: int, keep: KeepFn) -> int:
    return min(i + j for i in range(bits_b) for j in range(bits_a) if keep(i, j))


def compensation_constant(bits_a: int, bits_b: int, signed: bool, keep: KeepFn) -> int:
    """Mean of the removed bits, rounded to a multiple of the lowest kept column's weight, so the
    constant only lands in columns that still have hardware (spec §6.2 last bullet, §7)."""
    t = lowest_kept_column(bits_a, bits_b, keep)
    return round_to_column(removed_mean(bits_a, bits_b, signed, keep), t)


def _hex_digits(mask: str) -> str:
    return mask.strip().lower().removeprefix("0x").replace("_", "")


def verilog_int(v: int) -> str:
    """A 64-bit signed Verilog literal (plain integers are only 32 bits)."""
    return f"64'sd{v}" if v >= 0 else f"-64'sd{-v}"


def pp_term(i: int, j: int) -> str:
    """pp[i][j] as a non-negative signed Verilog value, so the expression it joins stays signed."""
    return f"$signed({{1'b0, a[{j}] & b[{i}]}})"


def kept_sum(bits_a: int, bits_b: int, signed: bool, keep: KeepFn) -> str:
    """``Σ_kept w_ij·2^(i+j)·pp[i][j]`` as a signed Verilog expression: the golden model of §7
    written out for a behavioural reference (no Baugh–Wooley complements, no tree). Stating it
    bit by bit rather than as ``sa * sb`` minus the removed bits keeps the SAT proof an adder
    equivalence: 0.3 s instead of 300 s for an 8x8 signed BAM."""
    terms = ["64'sd0"]
    for i in range(bits_b):
        for j in range(bits_a):
            if keep(i, j):
                w = pp_weight_sign(i, j, bits_a, bits_b, signed) << (i + j)
                terms.append(f"{'+' if w > 0 else '-'} {verilog_int(abs(w))} * {pp_term(i, j)}")
    return " ".join(terms)


@dataclass(frozen=True)
class MaskedMultiplier(TreeReduced, Multiplier):
    mask: str = param("", "hex; bit i*bits_a+j set removes pp[i][j] = a[j]&b[i]", short="m",
                      range="0..2^(bits_a*bits_b)-1")
    drop_columns: tuple[int, ...] = param((), "columns c = i+j removed entirely (increasing)",
                                          short="dc", range="0..bits_a+bits_b-2")
    compensation: str = param("none", "add the rounded mean of the removed bits as a constant",
                              short="", range="|".join(COMPENSATIONS))
    tree: str = tree_param()
    final_adder: str = final_adder_param()

    family = "masked"
    abbrev = "masked"
    description = "AND-array multiplier with a mask of removed partial products"
    max_bits = WIDE_BITS
    bit_linear = True

    def validate(self) -> None:
        check_choice("compensation", self.compensation, COMPENSATIONS)
        na, nb = self.bits_a, self.bits_b
        npp = na * nb
        digits = _hex_digits(self.mask)
        check(all(c in "0123456789abcdef" for c in digits),
              f"mask={self.mask!r} is not a hexadecimal number")
        check(len(digits) <= -(-npp // 4) and self.mask_bits() >> npp == 0,
              f"mask={self.mask} does not fit a {na}x{nb} array: bit i*bits_a+j stands for pp[i][j], "
              f"so the mask has {npp} bits (at most {-(-npp // 4)} hex digits, value < 2^{npp})")
        cols = self.drop_columns
        check(all(0 <= c <= na + nb - 2 for c in cols),
              f"drop_columns={','.join(map(str, cols))}: columns are 0..{na + nb - 2}")
        check(all(x < y for x, y in zip(cols, cols[1:])),
              "drop_columns must be strictly increasing")
        kept = npp - self.removed_count()
        check(kept < npp, "masked: nothing removed (give mask=HEX and/or drop_columns=c,...); "
                          "use --type exact for the exact multiplier")
        check(kept > 0, "masked: the mask removes every partial product")

    def mask_bits(self) -> int:
        digits = _hex_digits(self.mask)
        return int(digits, 16) if digits else 0

    def removed_count(self) -> int:
        return sum(not self.keep(i, j) for i in range(self.bits_b) for j in range(self.bits_a))

    def keep(self, i: int, j: int) -> bool:
        return not (self.mask_bits() >> (i * self.bits_a + j)) & 1 and (i + j) not in self.drop_columns

    def constant(self) -> int:
        if self.compensation == "none":
            return 0
        return compensation_constant(self.bits_a, self.bits_b, self.signed, self.keep)

    def notes(self) -> list[str]:
        if self.compensation == "none":
            return []
        return [f"compensation constant {self.constant()} = mean of the removed bits for uniform "
                f"operands, rounded (ties down) to the lowest kept column"]

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return masked_golden(A, B, self.bits_a, self.bits_b, self.signed, self.keep) + self.constant()

    def behavioural_verilog(self) -> str:
        from ..hdl.reference import ref_module  # noqa: PLC0415

        kept = kept_sum(self.bits_a, self.bits_b, self.signed, self.keep)
        return ref_module(self, f"{kept} + {verilog_int(self.constant())}")

    def build(self, nl, a, b) -> None:
        nl.comment(f"{self.removed_count()} partial products removed by the mask")
        m = build_and_array(nl, a, b, self.out_bits, self.signed, self.keep)
        m.const += self.constant()
        self.emit_product(nl, m)
