"""4:2-compressor trees with approximate compressors in the low columns (Momeni et al. 2015).

The AND partial products are reduced by stages of 4:2 compressors (a full adder takes a column's
last three bits, one or two bits pass), column by column from the LSB: a compressor takes four bits
of its column and the carry-chain bit ``cin`` from the compressor before it in the column to the
right, and gives ``sum`` (same column), ``carry`` (next column, next stage) and ``cout`` (the next
column's chain). Stages repeat until every column holds at most two bits; the final adder adds
them. Compressors in columns ``< approx_cols`` are approximate, the others exact (two full adders).

Approximate compressors (positive-logic equations as implemented here, after A. Momeni, J. Han,
P. Montuschi, F. Lombardi, "Design and Analysis of Approximate Compressors for Multiplication",
IEEE Trans. Computers 64(4):984-994, 2015):

* ``momeni1`` (design 1): ``carry = cin``, ``cout = x1 x2 + x3 x4``,
  ``sum = ~cin ((x1 ^ x2) + (x3 ^ x4))``: 13 of the 32 input rows are wrong (by -2..+1);
* ``momeni2`` (design 2, no cin/cout): ``sum = (x1 ^ x2) + (x3 ^ x4)``,
  ``carry = x1 x2 + x3 x4``: 5 of 16 rows are wrong (x1+x2 = x3+x4 = 1 gives 1 for 2; 1111 gives 2).

The golden model runs the same construction on numpy arrays (one array per signal, all pairs at
once), so it is the tree's exact bit-level function. Unsigned only: the papers define the
compressors on unsigned partial products (a signed Baugh-Wooley array would feed the constant
ones through approximate compressors, which no paper specifies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..hdl.bitmatrix import BitMatrix
from ..hdl.ops import ArrayOps, NetOps
from ..hdl.pparray import operand_bits
from .base import Multiplier, TreeReduced, check, check_choice, final_adder_param, param
from .cells import ApproxColumns, approx_cols_param

__all__ = ["exact_42", "momeni1", "momeni2", "APPROXIMATE", "CompressorMultiplier"]

COMPRESSORS = ("momeni1", "momeni2")


def exact_42(ops, x1, x2, x3, x4, cin, tag):
    """Exact 4:2 compressor: two full adders -> (sum, carry, cout). ``cin`` None: no chain bit
    (the second adder is a half adder)."""
    s1, cout = ops.fa(x1, x2, x3, tag=f"{tag}a")
    s, carry = (ops.ha(s1, x4, tag=f"{tag}b") if cin is None
                else ops.fa(s1, x4, cin, tag=f"{tag}b"))
    return s, carry, cout


def momeni1(ops, x1, x2, x3, x4, cin, tag):
    either = ops.or2(ops.xor2(x1, x2), ops.xor2(x3, x4))
    cout = ops.or2(ops.and2(x1, x2), ops.and2(x3, x4))
    if cin is None:  # cin = 0: sum = either, carry = cin = 0 (no bit)
        return either, None, cout
    return ops.and2(ops.not1(cin), either), cin, cout


def momeni2(ops, x1, x2, x3, x4, cin, tag):
    s = ops.or2(ops.xor2(x1, x2), ops.xor2(x3, x4))
    return s, ops.or2(ops.and2(x1, x2), ops.and2(x3, x4)), None


# name -> (function, consumes the carry chain). A None output is a bit the cell does not have:
# absent bits are structural, so the tree is the same on netlist signals and on arrays.
APPROXIMATE = {"momeni1": (momeni1, True), "momeni2": (momeni2, False)}


def compress(ops, cols: list[list], approx_cols: int, compressor: str, comment=None) -> list[list]:
    """Reduce columns of bits (LSB column first) to at most two bits per column (see module
    doc). Works on netlist signals or arrays alike: the structure never depends on values."""
    width = len(cols)
    approx, approx_cin = APPROXIMATE[compressor]
    stage = 0
    while max(len(c) for c in cols) > 2:
        if comment:
            comment(f"4:2 compressor stage {stage}: column heights "
                    f"{','.join(str(len(c)) for c in cols)}")
        nxt: list[list] = [[] for _ in range(width)]
        chain: list = []  # couts of the column to the right, this stage
        for c in range(width):
            bits, chain_in, chain = list(cols[c]), chain, []
            is_approx = c < approx_cols
            while len(bits) >= 4:
                x1, x2, x3, x4 = bits[:4]
                bits = bits[4:]
                uses_cin = approx_cin or not is_approx
                cin = chain_in.pop(0) if (uses_cin and chain_in) else None
                fn = approx if is_approx else exact_42
                s, carry, cout = fn(ops, x1, x2, x3, x4, cin, f"cmp_s{stage}_c{c}_")
                nxt[c].append(s)
                if c + 1 < width:
                    nxt[c + 1].extend(bit for bit in (carry,) if bit is not None)
                    chain.extend(bit for bit in (cout,) if bit is not None)
            bits += chain_in  # chain bits not consumed stay in their column
            if len(bits) >= 3:
                s, carry = ops.fa(bits[0], bits[1], bits[2], tag=f"fa_s{stage}_c{c}")
                bits = bits[3:] + [s]
                if c + 1 < width:
                    nxt[c + 1].append(carry)
            nxt[c].extend(bits)
        cols = nxt
        stage += 1
    return cols


@dataclass(frozen=True)
class CompressorMultiplier(ApproxColumns, TreeReduced, Multiplier):
    compressor: str = param("momeni1", "approximate 4:2 compressor (Momeni et al. 2015 design 1 "
                            "or 2)", short="", range="|".join(COMPRESSORS), always=True)
    approx_cols: int | None = approx_cols_param("compressors")
    final_adder: str = final_adder_param()
    tree: ClassVar[str] = "dadda"  # a 4:2 compressor tree here; Dadda reduces what is left

    family = "compressor"
    abbrev = "cmp42"
    description = "4:2-compressor tree with approximate compressors (Momeni et al. 2015)"

    def validate(self) -> None:
        check(not self.signed, "compressor: unsigned operands only (the approximate "
                               "compressors are defined on unsigned partial products)")
        check_choice("compressor", self.compressor, COMPRESSORS)
        self.check_approx_cols()

    def notes(self) -> list[str]:
        return [f"approximate {self.compressor} compressors in columns 0..{self.approx_limit - 1}"
                if self.approx_limit else "exact 4:2 compressors only"]

    def _columns(self, ops, abits, bbits) -> list[list]:
        cols: list[list] = [[] for _ in range(self.out_bits)]
        for i in range(self.bits_b):
            for j in range(self.bits_a):
                cols[i + j].append(ops.and2(abits[j], bbits[i]))
        return cols

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        ops = ArrayOps()
        cols = self._columns(ops, operand_bits(A, self.bits_a), operand_bits(B, self.bits_b))
        rows = compress(ops, cols, self.approx_limit, self.compressor)
        return self.weighted_sum(((c, bit) for c, bits in enumerate(rows) for bit in bits),
                                 np.broadcast(A, B).shape)

    def build(self, nl, a, b) -> None:
        rows = compress(NetOps(nl), self._columns(NetOps(nl), a, b), self.approx_limit,
                        self.compressor, nl.comment)
        # At most two bits per column: the shared final adder (no tree stage is left to run).
        m = BitMatrix(self.out_bits)
        r0, r1 = m.new_row(), m.new_row()
        for c, bits in enumerate(rows):
            for row, bit in zip((r0, r1), bits):
                m.add(row, c, bit)
        self.emit_product(nl, m)
