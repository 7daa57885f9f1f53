"""Truncated AND-array multipliers (spec §6.1–§6.4), one family with four modes.

* ``column``: keep pp bits with ``i+j >= cut`` (DATE'25 "rm_t"); ``correction=constant`` adds
  ``C_t = 2^t·round(E/2^t)`` (E = mean of the removed bits, ties down) — the full-width
  "approximate-computing" CCT variant.
* ``operand``: ``(A with cut LSBs cleared)·(B with cut LSBs cleared)`` (ArithsGen/EvoApprox
  "truncated multiplier").
* ``cct`` / ``vct``: fixed-width z = ``out_bits`` with ``guard`` = k extra columns,
  ``T = bits_a+bits_b-z-k``; constant correction (Schulte & Swartzlander) or variable correction
  (King & Swartzlander as in Stine–Duverne's generator). Port p holds ``Ŷ >> (T+k)``, the z high
  bits (``out_shift = T+k``); the golden model returns that port value. Unsigned only: the signed CCT of §6.2 is a
  reconstruction and is not offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..hdl.pparray import build_and_array, masked_golden, operand_bits
from .base import (WIDE_BITS, Multiplier, TreeReduced, check, check_choice, check_range,
                   final_adder_param, param, tree_param)
from .masked import (compensation_constant, kept_sum, pp_term, removed_mean, round_to_column,
                     verilog_int)

__all__ = ["MODES", "TruncatedMultiplier"]

MODES = ("column", "operand", "cct", "vct")
FULL_WIDTH_MODES = ("column", "operand")
CORRECTIONS = ("none", "constant")


@dataclass(frozen=True)
class TruncatedMultiplier(TreeReduced, Multiplier):
    mode: str = param("column", "what is truncated", short="", always=True,
                      range="|".join(MODES))
    cut: int | None = param(None, "column/operand: columns below t (column) or operand LSBs "
                            "(operand) removed", short="t",
                            range="column: 1..bits_a+bits_b-2; operand: 1..min(bits)-1")
    correction: str = param("none", "column: add the rounded mean of the removed bits",
                            short="", range="|".join(CORRECTIONS))
    out_bits: int | None = param(None, "cct/vct: output width z (column/operand: full width)",
                                 short="z", range="cct/vct: 1..bits_a+bits_b-1")
    guard: int = param(0, "cct/vct: guard columns k kept below the output", short="g",
                       range="0..bits_a+bits_b-z")
    tree: str = tree_param()
    final_adder: str = final_adder_param()

    family = "truncated"
    abbrev = "trunc"
    description = "truncated multiplier (column, operand, fixed-width CCT/VCT)"
    max_bits = WIDE_BITS

    @property
    def bit_linear(self) -> bool:  # type: ignore[override]
        # cct/vct floor the sum to z bits: not a fixed sum of AND bits any more.
        return self.mode in FULL_WIDTH_MODES

    def validate(self) -> None:
        check_choice("mode", self.mode, MODES)
        check_choice("correction", self.correction, CORRECTIONS)
        width = self.bits_a + self.bits_b
        if self.mode in FULL_WIDTH_MODES:
            hi = width - 2 if self.mode == "column" else min(self.bits_a, self.bits_b) - 1
            check(self.cut is not None, f"mode={self.mode} needs cut=t (1..{hi})")
            check_range("cut", self.cut, 1, hi)
            check(self.mode == "column" or self.correction == "none",
                  "correction=constant applies to mode=column only")
            check(self.guard == 0, "guard applies to mode=cct|vct only")
            check(self.out_bits in (None, width), f"out_bits applies to mode=cct|vct only "
                  f"(mode={self.mode} has the full {width}-bit port)")
            # The port width of a full-width mode is not a choice: resolve it once here.
            object.__setattr__(self, "out_bits", width)
            return
        check(not self.signed, f"mode={self.mode} supports unsigned operands only "
                               "(signed CCT/VCT is not implemented)")
        check(self.cut is None, f"cut applies to mode=column|operand; mode={self.mode} removes "
                                "the columns below bits_a+bits_b-out_bits-guard")
        check(self.correction == "none",
              f"correction applies to mode=column; mode={self.mode} always corrects")
        check(self.out_bits is not None, f"mode={self.mode} needs out_bits=z (the output width)")
        check_range("out_bits", self.out_bits, 1, width - 1)
        check_range("guard", self.guard, 0, width - self.out_bits)
        check(self.out_bits + self.guard >= 2, "out_bits+guard must be at least 2: with fewer, "
                                               "no partial product is kept")
        top = self._sum(np.array([(1 << self.bits_a) - 1]), np.array([(1 << self.bits_b) - 1]))
        check(int(top[0]) >> self.out_shift < 1 << self.out_bits,
              f"out_bits={self.out_bits} guard={self.guard}: the correction overflows the "
              f"{self.out_bits}-bit output (use more out_bits or fewer guard columns)")

    # -- structure ---------------------------------------------------------------------------
    @property
    def first_column(self) -> int:
        """T: the lowest column whose partial products are kept."""
        if self.mode == "column":
            return self.cut
        if self.mode == "operand":
            return 2 * self.cut
        return self.bits_a + self.bits_b - self.out_bits - self.guard

    @property
    def out_shift(self) -> int:
        """How many low bits of the sum the port leaves out (T+k for cct/vct)."""
        return self.first_column + self.guard if self.mode in ("cct", "vct") else 0

    def keep(self, i: int, j: int) -> bool:
        if self.mode == "operand":
            return i >= self.cut and j >= self.cut
        return i + j >= self.first_column

    def vct_bits(self) -> list[tuple[int, int]]:
        """(i, j) of the column-(T-1) bits that VCT adds into column T: all but the first two
        (bits_b >= z+k) or the first one, by increasing multiplier index (Stine–Duverne)."""
        if self.mode != "vct":
            return []
        c = self.first_column - 1
        col = [(i, c - i) for i in range(self.bits_b) if 0 <= c - i < self.bits_a]
        skip = 2 if self.bits_b >= self.out_bits + self.guard else 1
        return col[skip:]

    def constant(self) -> int:
        t, k = self.first_column, self.guard
        if self.mode == "cct":
            # E_red (removed bits) + E_rnd (the k guard columns, bits 1 w.p. 1/2), rounded at 2^T.
            e = removed_mean(self.bits_a, self.bits_b, False, self.keep) \
                + Fraction((1 << k) - 1, 2) * (1 << t)
            return round_to_column(e, t)
        if self.mode == "vct":
            return ((1 << max(k - 1, 0)) - 1) << t  # k-1 ones from column T up
        if self.correction == "constant":
            return compensation_constant(self.bits_a, self.bits_b, self.signed, self.keep)
        return 0

    def notes(self) -> list[str]:
        t = self.first_column
        if self.mode in FULL_WIDTH_MODES:
            extra = (f"; correction constant {self.constant()} (mean of the removed bits for "
                     "uniform operands, rounded to 2^t, ties down)") if self.constant() else ""
            return [f"output bits below {t} are always 0{extra}"]
        how = (f"VCT adds {len(self.vct_bits())} bits of column {t - 1} into column {t}, "
               f"constant {self.constant()}") if self.mode == "vct" else \
            f"CCT constant {self.constant()} (ties down)"
        return [f"fixed width: p = bits {self.bits_a + self.bits_b - 1}..{self.out_shift} of the "
                f"corrected sum (columns below {t} removed, {self.guard} guard columns); {how}"]

    # -- golden model and hardware ----------------------------------------------------------------
    def _sum(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Kept bits + VCT bits + constant, before the fixed-width port drops its low bits."""
        total = masked_golden(A, B, self.bits_a, self.bits_b, self.signed, self.keep)
        abits, bbits = operand_bits(A, self.bits_a), operand_bits(B, self.bits_b)
        for i, j in self.vct_bits():
            total += (abits[j] & bbits[i]) << self.first_column
        return total + self.constant()

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return self._sum(A, B) >> self.out_shift

    def behavioural_verilog(self) -> str:
        from ..hdl.reference import ref_module  # noqa: PLC0415

        total = kept_sum(self.bits_a, self.bits_b, self.signed, self.keep)
        total += "".join(f" + {verilog_int(1 << self.first_column)} * {pp_term(i, j)}"
                         for i, j in self.vct_bits())
        total += f" + {verilog_int(self.constant())}"
        return ref_module(self, f"({total}) >>> {self.out_shift}" if self.out_shift else total)

    def build(self, nl, a, b) -> None:
        width = self.bits_a + self.bits_b
        nl.comment(f"truncation mode={self.mode}: partial products below column "
                   f"{self.first_column} removed" if self.mode != "operand" else
                   f"operand truncation: a[{self.cut - 1}:0] and b[{self.cut - 1}:0] not used")
        m = build_and_array(nl, a, b, width, self.signed, self.keep)
        if self.vct_bits():
            nl.comment(f"VCT: column {self.first_column - 1} bits added into column "
                       f"{self.first_column}")
            row = m.new_row()
            for i, j in self.vct_bits():
                m.add(row, self.first_column, nl.and2(a[j], b[i], name=f"pp_r{i}_a{j}"))
        m.const += self.constant()
        if not self.out_shift:
            self.emit_product(nl, m)
            return
        nl.body.append(f"  wire [{width - 1}:0] full_sum;")
        self.emit_product(nl, m, out="full_sum")
        nl.comment(f"fixed-width output: the top {self.out_bits} bits")
        nl.body.append(f"  assign p = full_sum[{width - 1}:{self.out_shift}];")
