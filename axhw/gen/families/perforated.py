"""Partial-product perforation (Zervakis et al. TVLSI 2016; spec §4).

``encoding=and``: rows start..start+count-1 of the AND array are not generated; golden
``A·(B with those bits cleared)``; signed (Baugh–Wooley) never perforates the sign row.
``encoding=booth``: radix-4 digits start..start+count-1 are dropped (§4.2); for unsigned B the
extra top digit is never perforated. Unsigned Booth perforation with start > 0 can go negative or
above 2^2n-1 (§4.2 caveat), so those designs get a (2n+2)-bit two's-complement port.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hdl import booth
from ..hdl.pparray import build_and_array
from .base import (WIDE_BITS, Multiplier, TreeReduced, check_choice, check_range, final_adder_param,
                   param, tree_param)

__all__ = ["ENCODINGS", "PerforatedMultiplier"]

ENCODINGS = ("and", "booth")


@dataclass(frozen=True)
class PerforatedMultiplier(TreeReduced, Multiplier):
    start: int = param(0, "first perforated row j (AND: multiplier bit; booth: radix-4 digit)",
                       short="j", always=True, range="and: 0..n-1 (signed n-2); booth: 0..digits-1")
    count: int = param(1, "number k of consecutive rows perforated", short="k", always=True,
                       range="and: 1..min(n-j, n-1) (signed n-1-j); booth: 1..digits-j")
    encoding: str = param("and", "partial products: AND array or radix-4 Booth", short="",
                          range="and|booth")
    tree: str = tree_param()
    final_adder: str = final_adder_param()

    family = "perforated"
    abbrev = "perf"
    description = "partial-product perforated multiplier (Zervakis et al. 2016)"
    max_bits = WIDE_BITS

    @property
    def bit_linear(self) -> bool:  # type: ignore[override]
        return self.encoding == "and"

    def validate(self) -> None:
        check_choice("encoding", self.encoding, ENCODINGS)
        n = self.bits_b
        if self.encoding == "and":
            # The sign row (b[n-1]) is never perforated for signed operands (spec §4.1).
            top = n - 2 if self.signed else n - 1
            check_range("start", self.start, 0, top)
            check_range("count", self.count, 1, min(top + 1 - self.start, n - 1))
        else:
            nd = booth.num_digits(n, self.signed)
            last = nd - 1 if self.signed else nd - 2  # unsigned: never the extra top digit
            check_range("start", self.start, 0, last)
            check_range("count", self.count, 1, last + 1 - self.start)

    @property
    def perforated_rows(self) -> range:
        return range(self.start, self.start + self.count)

    def _wide_booth_port(self) -> bool:
        return self.encoding == "booth" and not self.signed and self.start > 0

    @property
    def out_bits(self) -> int:
        return self.bits_a + self.bits_b + (2 if self._wide_booth_port() else 0)

    @property
    def out_signed(self) -> bool:
        return self.signed or self._wide_booth_port()

    def notes(self) -> list[str]:
        if self._wide_booth_port():
            return ["unsigned Booth perforation with start>0 can be negative or exceed 2^2n-1: "
                    "p is a (2n+2)-bit two's-complement port"]
        return []

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        A = A.astype(np.int64)
        B = B.astype(np.int64)
        if self.encoding == "and":
            mask = ((1 << self.count) - 1) << self.start
            # Clearing bits of a two's complement value below the sign bit = subtracting them.
            return A * (B - (B & mask))
        kept = [j for j in range(booth.num_digits(self.bits_b, self.signed))
                if j not in self.perforated_rows]
        return booth.booth_golden(A, B, self.bits_b, self.signed, kept)

    def behavioural_verilog(self) -> str:
        from ..hdl.reference import booth_ref_sum, ref_module  # noqa: PLC0415

        if self.encoding == "and":
            mask = ((1 << self.count) - 1) << self.start
            return ref_module(self, f"sa * (sb - (sb & {mask}))")
        kept = [j for j in range(booth.num_digits(self.bits_b, self.signed))
                if j not in self.perforated_rows]
        return ref_module(self, booth_ref_sum(kept))

    def build(self, nl, a, b) -> None:
        if self.encoding == "and":
            perf = set(self.perforated_rows)
            nl.comment(f"rows {self.start}..{self.start + self.count - 1} perforated: not generated")
            m = build_and_array(nl, a, b, self.out_bits, self.signed, lambda i, j: i not in perf)
        else:
            kept = [j for j in range(booth.num_digits(self.bits_b, self.signed))
                    if j not in self.perforated_rows]
            nl.comment(f"Booth digits {self.start}..{self.start + self.count - 1} perforated")
            m = booth.build_booth(nl, a, b, self.out_bits, self.signed, kept)
        self.emit_product(nl, m)
