"""Recursive multipliers from approximate 2x2 blocks (Kulkarni, Gupta, Ercegovac 2011; ArithsGen's
M1-M4 blocks).

A 2n x 2n product is built from four n x n products, ``(aH 2^n + aL)(bH 2^n + bL) = aH bH 4^n +
(aH bL + aL bH) 2^n + aL bL``, down to 2x2 blocks, so the product is the sum of every 2x2 block
``f(a[2p+1:2p], b[2q+1:2q]) << (2p + 2q)``. The block sums are exact, so this family puts the four
output bits of every block into the shared partial-product matrix and adds them with the shared
tree (``tree``) and final adder: the same function as adding level by level, with a flatter
adder. Blocks whose lowest output column ``2p + 2q`` is below ``approx_cols`` use the approximate
block ``block``, the others the exact one.

Blocks (output bits O3..O0 of a1a0 x b1b0; the functions of ArithsGen 1.x,
``ariths_gen.multi_bit_circuits.approximate_multipliers.recursive_multiplier``):

* ``m1`` (Kulkarni et al. 2011): O1 = a0b1 | a1b0, O2 = a1b1, O3 = 0: 3x3 = 7, the only error (1 of 16);
* ``m2``: t = a0b1 a1b0; O0 = t, O1 = a0b1 ^ a1b0, O2 = t ^ a1b1, O3 = t (a0b0 is dropped:
  1x1 = 0, 1x3 = 3x1 = 2, 3 of 16 wrong);
* ``m3``: O1 = a0b1 | a1b0, O2 = ~(a0b0) a1b1, O3 = a0b0 a1b1: 3x3 = 11 (1 of 16);
* ``m4``: O1 = a0b1 ^ a1b0, O2 = a1b1, O3 = 0: 3x3 = 5 (1 of 16).

Output: ``bits_a + bits_b`` bits; a sum above 2^W - 1 (possible with m3 blocks) wraps modulo 2^W
as in ArithsGen. Operand widths: powers of two >= 2 (n x m allowed). Unsigned only: ArithsGen
leaves the signed recursive multiplier undefined and so do the papers.

Reference: P. Kulkarni, P. Gupta, M. Ercegovac, "Trading Accuracy for Power with an
Underdesigned Multiplier Architecture", VLSI Design 2011, pp. 346-351.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hdl.bitmatrix import BitMatrix
from ..hdl.ops import ArrayOps, NetOps
from ..hdl.pparray import operand_bits
from .base import Multiplier, TreeReduced, check, check_choice, final_adder_param, param, tree_param
from .cells import ApproxColumns, approx_cols_param

__all__ = ["RecursiveMultiplier"]

BLOCKS = ("m1", "m2", "m3", "m4")


def exact_block(ops, a0, a1, b0, b1):
    """Exact 2x2 product -> output bits O0..O3."""
    p01, p10, p11 = ops.and2(a0, b1), ops.and2(a1, b0), ops.and2(a1, b1)
    t = ops.and2(p01, p10)
    return [ops.and2(a0, b0), ops.xor2(p01, p10), ops.xor2(t, p11), ops.and2(t, p11)]


def block_m1(ops, a0, a1, b0, b1):
    return [ops.and2(a0, b0), ops.or2(ops.and2(a0, b1), ops.and2(a1, b0)), ops.and2(a1, b1),
            ops.zero]


def block_m2(ops, a0, a1, b0, b1):
    p01, p10 = ops.and2(a0, b1), ops.and2(a1, b0)
    t = ops.and2(p01, p10)
    return [t, ops.xor2(p01, p10), ops.xor2(t, ops.and2(a1, b1)), t]


def block_m3(ops, a0, a1, b0, b1):
    p00, p11 = ops.and2(a0, b0), ops.and2(a1, b1)
    return [p00, ops.or2(ops.and2(a0, b1), ops.and2(a1, b0)), ops.and2(ops.not1(p00), p11),
            ops.and2(p00, p11)]


def block_m4(ops, a0, a1, b0, b1):
    return [ops.and2(a0, b0), ops.xor2(ops.and2(a0, b1), ops.and2(a1, b0)), ops.and2(a1, b1),
            ops.zero]


BLOCK_FUNCTIONS = {"m1": block_m1, "m2": block_m2, "m3": block_m3, "m4": block_m4}


@dataclass(frozen=True)
class RecursiveMultiplier(ApproxColumns, TreeReduced, Multiplier):
    block: str = param("m1", "approximate 2x2 block: m1 = Kulkarni et al. 2011 (3x3=7), m2..m4 "
                       "as ArithsGen", short="", range="|".join(BLOCKS), always=True)
    approx_cols: int | None = approx_cols_param("2x2 blocks whose lowest output bit is")
    tree: str = tree_param()
    final_adder: str = final_adder_param()

    family = "recursive"
    abbrev = "rec"
    description = "recursive multiplier of approximate 2x2 blocks (Kulkarni et al. 2011)"

    def validate(self) -> None:
        check(not self.signed, "recursive: unsigned operands only (signed recursive "
                               "multipliers are not defined by the papers or ArithsGen)")
        for name in ("bits_a", "bits_b"):
            v = getattr(self, name)
            check(v & (v - 1) == 0, f"{name}={v}: recursive multipliers need a power of two "
                                    "(2, 4, 8, 16)")
        check_choice("block", self.block, BLOCKS)
        self.check_approx_cols()

    def notes(self) -> list[str]:
        n = sum(1 for _, _, col in self.blocks() if col < self.approx_limit)
        out = [f"{n} of {len(self.blocks())} 2x2 blocks are {self.block}"]
        if self.block == "m3" and n:
            out.append("m3 blocks overestimate (3x3 = 11): sums above 2^W-1 wrap modulo 2^W")
        return out

    def blocks(self) -> list[tuple[int, int, int]]:
        """(p, q, lowest output column) of every 2x2 block a[2p+1:2p] x b[2q+1:2q]."""
        return [(p, q, 2 * p + 2 * q) for q in range(self.bits_b // 2)
                for p in range(self.bits_a // 2)]

    def _block_bits(self, ops, abits, bbits):
        """(lowest column, [O0..O3]) per block."""
        out = []
        for p, q, col in self.blocks():
            fn = BLOCK_FUNCTIONS[self.block] if col < self.approx_limit else exact_block
            out.append((col, fn(ops, abits[2 * p], abits[2 * p + 1], bbits[2 * q],
                                bbits[2 * q + 1])))
        return out

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        blocks = self._block_bits(ArrayOps(), operand_bits(A, self.bits_a),
                                  operand_bits(B, self.bits_b))
        return self.weighted_sum(((col + k, bit) for col, bits in blocks
                                  for k, bit in enumerate(bits)), np.broadcast(A, B).shape)

    def build(self, nl, a, b) -> None:
        nl.comment(f"2x2 blocks: {self.block} in columns below {self.approx_limit}, exact above")
        m = BitMatrix(self.out_bits)
        for col, bits in self._block_bits(NetOps(nl), a, b):
            row = m.new_row()
            for k, bit in enumerate(bits):
                m.add(row, col + k, bit)
        self.emit_product(nl, m)
