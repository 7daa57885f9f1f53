"""ROUP: asymmetric ROUnding + Perforation on radix-4 Booth, signed (spec §5.4 [RECON], §5.3).

The P least-significant Booth rows are perforated; kept row j multiplies
``round_half_up(A, q_j)``, by default ``q_j = max(0, R − 2j)`` so that every kept row is rounded at
the same product column R. ``q=q0,q1,...`` gives the per-row vector explicitly (one entry per kept
row); equal entries give PR|k,m of Leon et al. IEEE Micro 2018 (``perforate=k q=m,m,...``).
Rounding is adder-free: row j uses ``A_H xor a_{q_j-1}``, its Booth sign flipped by the same bit.

The DAC'19 ROUP paper was not available; this is the spec's reconstruction, and the exposed q
vector makes its alternatives (R relative to the first kept row, only the first row rounded) one
parameter away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hdl import booth
from .base import Multiplier, TreeReduced, check, check_range, final_adder_param, param, tree_param

__all__ = ["RoupMultiplier"]


@dataclass(frozen=True)
class RoupMultiplier(TreeReduced, Multiplier):
    perforate: int = param(0, "P: least-significant Booth rows perforated (not generated)",
                           short="p", always=True, range="0..digits-1")
    round: int = param(0, "R: product column every kept row j rounds A at (q_j = R - 2j)",
                       short="r", range="0..2P+bits_a-1")
    q: tuple[int, ...] = param((), "explicit per-kept-row rounding q_P,q_P+1,... (instead of R)",
                               short="q", range="digits-P entries, each 0..bits_a-1")
    tree: str = tree_param()
    final_adder: str = final_adder_param()

    family = "roup"
    abbrev = "roup"
    description = "rounding + perforation radix-4 Booth multiplier (ROUP / PR|k,m, Leon et al.)"

    def validate(self) -> None:
        check(self.signed, "roup is defined for signed operands only (radix-4 Booth of a signed "
                           "multiplier): add --signed")
        nd = booth.num_digits(self.bits_b, True)
        check_range("perforate", self.perforate, 0, nd - 1)
        if self.q:
            check(self.round == 0, "give either round=R or q=q0,q1,..., not both")
            check(len(self.q) == nd - self.perforate,
                  f"q has {len(self.q)} entries: it needs {nd - self.perforate}, one per kept "
                  f"Booth row {self.perforate}..{nd - 1}")
            for qj in self.q:
                check_range("q entry", qj, 0, self.bits_a - 1)
        else:
            # q_P = R - 2P >= bits_a would round row P to zero: that is perforation, not rounding.
            check_range("round", self.round, 0, 2 * self.perforate + self.bits_a - 1)

    @property
    def kept_rows(self) -> range:
        return range(self.perforate, booth.num_digits(self.bits_b, True))

    @property
    def round_at(self) -> tuple[int, ...]:
        """q_j for each kept row j."""
        if self.q:
            return self.q
        return tuple(max(0, self.round - 2 * j) for j in self.kept_rows)

    def notes(self) -> list[str]:
        notes = [f"rows {self.perforate}.. kept, multiplicand rounded half up at q = "
                 f"{','.join(map(str, self.round_at))} (spec §5.4 reconstruction)"]
        if self.bits_b % 2:
            notes.append("odd bits_b: B is sign-extended to an even width for Booth encoding")
        return notes

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return booth.booth_golden(np.asarray(A, dtype=np.int64), np.asarray(B, dtype=np.int64),
                                  self.bits_b, True, self.kept_rows, self.round_at)

    def behavioural_verilog(self) -> str:
        from ..hdl.reference import booth_ref_sum, ref_module  # noqa: PLC0415

        qs = sorted({q for q in self.round_at if q > 0})
        body = tuple(f"wire signed [63:0] ra{q} = {booth.round_half_up_verilog('sa', q)};"
                     for q in qs)
        terms = [booth_ref_sum([j], f"ra{q}" if q > 0 else "sa")
                 for j, q in zip(self.kept_rows, self.round_at)]
        return ref_module(self, " + ".join(terms), body)

    def build(self, nl, a, b) -> None:
        if self.perforate:
            nl.comment(f"Booth rows 0..{self.perforate - 1} perforated")
        m = booth.build_booth(nl, a, b, self.out_bits, True, self.kept_rows, self.round_at)
        self.emit_product(nl, m)
