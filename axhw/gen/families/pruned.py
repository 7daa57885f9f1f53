"""Pruned array multiplier: an exact unsigned AND-array multiplier with chosen signals tied to 0.

The candidate signals are the partial products and the sum and carry outputs of every half and
full adder of the exact multiplier's reduction tree (``tree``, the Braun ``array`` by default), in
a fixed order: column by column from the least significant, within a column the partial products
(row order) and then each adder's sum and carry in creation order. ``ties=HEX`` sets bit k to tie
candidate k to 0. Tying never restructures the tree: the gates that read a tied signal see a
constant and fold (a full adder with a 0 input becomes a half adder, ...), so the synthesizer
drops the dead logic. This is what TRAM's phase 2 emits (axhw.dse.tram); ``masked`` cannot
express it because it only removes partial products.

Golden model: the exact tree's gates evaluated bit by bit on numpy arrays with the tied signals
forced to 0, then the two reduced rows added (mod 2^out_bits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..hdl.netlist import ZERO, Netlist
from ..hdl.pparray import build_and_array, operand_bits
from ..hdl.trees import TREES, emit_final_adder, reduce_to_two_rows
from .base import Multiplier, TreeReduced, check, final_adder_param, param

__all__ = ["Adder", "ArrayStructure", "array_structure", "check_columns", "ties_hex",
           "PrunedMultiplier"]

_COLUMN = re.compile(r"_c(\d+)$")


@dataclass(frozen=True)
class Adder:
    kind: str                 # "ha" | "fa"
    inputs: tuple[str, ...]   # recorded signal names
    sum: str
    carry: str
    column: int
    tag: str


@dataclass(frozen=True)
class ArrayStructure:
    """The exact unsigned multiplier's gates in creation order, and the candidate signals."""

    pps: tuple[tuple[str, int, int], ...]       # (name, row i, bit j of a): a[j] & b[i]
    adders: tuple[Adder, ...]
    rows: tuple[tuple[str, ...], tuple[str, ...]]
    candidates: tuple[tuple[str, int], ...]     # (signal, column), the bit order of `ties`

    def column_gates(self) -> dict[int, dict[str, int]]:
        """{column: {"and": n, "ha": n, "fa": n}}: the reduction tree's gates plus a ripple model of
        the final adder (a half adder at its lowest two-bit column, full adders above)."""
        width = len(self.rows[0])
        out = {c: {"and": 0, "ha": 0, "fa": 0} for c in range(width)}
        for _, i, j in self.pps:
            out[i + j]["and"] += 1
        for ad in self.adders:
            out[ad.column][ad.kind] += 1
        started = False
        for c in range(width):
            n = sum(sig != ZERO for sig in (self.rows[0][c], self.rows[1][c]))
            if started and n:
                out[c]["fa" if n == 2 else "ha"] += 1
            elif n == 2:
                out[c]["ha"] += 1
                started = True
        return out


class _RecordingNetlist(Netlist):
    """Records every half/full adder the tree creates (the exact unsigned array has no constants,
    so no adder folds)."""

    def __init__(self, top: str):
        super().__init__(top)
        self.adders: list[Adder] = []

    def _record(self, kind: str, inputs, tag: str, outputs) -> tuple[str, str]:
        match = _COLUMN.search(tag)
        if match is None:  # pragma: no cover - every tree tags its adders with _c<column>
            raise AssertionError(f"adder tag {tag!r} names no column")
        self.adders.append(Adder(kind, tuple(inputs), outputs[0], outputs[1], int(match.group(1)), tag))
        return outputs

    def ha(self, x, y, tag="ha"):
        return self._record("ha", (x, y), tag, super().ha(x, y, tag))

    def fa(self, x, y, z, tag="fa"):
        return self._record("fa", (x, y, z), tag, super().fa(x, y, z, tag))


@lru_cache(maxsize=32)
def array_structure(bits_a: int, bits_b: int, tree: str) -> ArrayStructure:
    nl = _RecordingNetlist("structure")
    a = nl.port("input", "a", bits_a)
    b = nl.port("input", "b", bits_b)
    m = build_and_array(nl, a, b, bits_a + bits_b, False, lambda i, j: True)
    r0, r1 = reduce_to_two_rows(nl, m, tree)
    pps = tuple((f"pp_r{i}_a{j}", i, j) for i in range(bits_b) for j in range(bits_a))
    candidates: list[tuple[str, int]] = []
    for c in range(bits_a + bits_b):
        candidates += [(name, c) for name, i, j in pps if i + j == c]
        for ad in nl.adders:
            if ad.column == c:
                candidates += [(ad.sum, c), (ad.carry, c)]
    return ArrayStructure(pps, tuple(nl.adders), (tuple(r0), tuple(r1)), tuple(candidates))


def check_columns(columns: int, bits: int) -> None:
    """TRAM's P (low columns it may approximate) must fit a bits x bits array."""
    width = 2 * bits - 1
    check(isinstance(columns, int) and 0 <= columns <= width,
          f"columns P={columns} is larger than the multiplier: a {bits}x{bits} array has {width} "
          f"columns (0..{width - 1})")


def ties_hex(indices) -> str:
    """The ``ties`` parameter value for a set of candidate indices."""
    return f"{sum(1 << k for k in set(indices)):x}"


def _hex_value(text: str) -> int | None:
    digits = text.strip().lower().removeprefix("0x").replace("_", "")
    if not digits or any(ch not in "0123456789abcdef" for ch in digits):
        return None
    return int(digits, 16)


@dataclass(frozen=True)
class PrunedMultiplier(TreeReduced, Multiplier):
    ties: str = param("", "hex; bit k ties candidate signal k (pp / adder sum / carry) to 0",
                      short="t", range="see axhw.gen.families.pruned")
    tree: str = param("array", "reduction tree of the exact multiplier", short="",
                      range="|".join(TREES))
    final_adder: str = final_adder_param()

    family = "pruned"
    abbrev = "pruned"
    description = "AND-array multiplier with partial products and adder outputs tied to 0"

    def validate(self) -> None:
        check(not self.signed, "pruned: only unsigned multipliers (signed=0); signed operands use "
                               "sign-magnitude around an unsigned multiplier")
        value = _hex_value(self.ties)
        check(value is not None and value > 0,
              f"ties={self.ties!r}: give a non-zero hexadecimal mask of candidate signals")
        n = len(self.structure().candidates)
        check(value >> n == 0, f"ties={self.ties}: this {self.bits_a}x{self.bits_b} {self.tree} "
                               f"multiplier has {n} candidate signals (bits 0..{n - 1})")

    def structure(self) -> ArrayStructure:
        return array_structure(self.bits_a, self.bits_b, self.tree)

    def tied(self) -> frozenset[str]:
        mask = _hex_value(self.ties) or 0
        return frozenset(name for k, (name, _) in enumerate(self.structure().candidates)
                         if mask >> k & 1)

    def notes(self) -> list[str]:
        return [f"{len(self.tied())} of {len(self.structure().candidates)} candidate signals tied to 0"]

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        st, tied = self.structure(), self.tied()
        # uint8 bits: the gate evaluation is the hot loop of TRAM's phase 2
        abits = [x.astype(np.uint8) for x in operand_bits(A, self.bits_a)]
        bbits = [x.astype(np.uint8) for x in operand_bits(B, self.bits_b)]
        zero = np.zeros(np.broadcast(A, B).shape, dtype=np.uint8)
        val: dict[str, np.ndarray] = {ZERO: zero}
        for name, i, j in st.pps:
            val[name] = zero if name in tied else abits[j] & bbits[i]
        for ad in st.adders:
            x = [val[s] for s in ad.inputs]
            if ad.kind == "fa":
                s, c = x[0] ^ x[1] ^ x[2], (x[0] & x[1]) | (x[0] & x[2]) | (x[1] & x[2])
            else:
                s, c = x[0] ^ x[1], x[0] & x[1]
            val[ad.sum] = zero if ad.sum in tied else s
            val[ad.carry] = zero if ad.carry in tied else c
        out = np.zeros(zero.shape, dtype=np.int64)
        for row in st.rows:
            for c, sig in enumerate(row):
                out += val[sig].astype(np.int64) << c
        return out & ((1 << self.out_bits) - 1)

    def build(self, nl, a, b) -> None:
        st, tied = self.structure(), self.tied()
        nl.comment(f"exact {self.tree} multiplier with {len(tied)} signals tied to 0")
        sig: dict[str, str] = {ZERO: ZERO}
        for name, i, j in st.pps:
            sig[name] = ZERO if name in tied else nl.and2(a[j], b[i], name=name)
        for ad in st.adders:
            ins = [sig[s] for s in ad.inputs]
            s, c = nl.fa(*ins, tag=ad.tag) if ad.kind == "fa" else nl.ha(*ins, tag=ad.tag)
            sig[ad.sum] = ZERO if ad.sum in tied else s
            sig[ad.carry] = ZERO if ad.carry in tied else c
        emit_final_adder(nl, [sig[s] for s in st.rows[0]], [sig[s] for s in st.rows[1]],
                         self.final_adder)
