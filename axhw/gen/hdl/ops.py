"""One circuit description, two uses: gate operations on netlist signals (``NetOps``: the RTL) or
on 0/1 numpy arrays over all operand pairs (``ArrayOps``: the golden model). A family that writes
its structure against these operations gets a golden model that is its circuit's exact bit-level
function; the structure must not depend on signal values (netlist constants fold, arrays don't).
"""

from __future__ import annotations

from .netlist import ZERO, Netlist

__all__ = ["NetOps", "ArrayOps"]


class NetOps:
    """Gate operations that add gates to a netlist (constants fold)."""

    zero = ZERO

    def __init__(self, nl: Netlist):
        self.nl = nl
        self.and2, self.or2, self.xor2, self.not1 = nl.and2, nl.or2, nl.xor2, nl.not1
        self.fa, self.ha = nl.fa, nl.ha


class ArrayOps:
    """The same operations on 0/1 integer arrays: the golden model."""

    zero = 0

    @staticmethod
    def and2(x, y):
        return x & y

    @staticmethod
    def or2(x, y):
        return x | y

    @staticmethod
    def xor2(x, y):
        return x ^ y

    @staticmethod
    def not1(x):
        return x ^ 1

    @staticmethod
    def fa(x, y, z, tag=""):
        return x ^ y ^ z, (x & y) | (x & z) | (y & z)

    @staticmethod
    def ha(x, y, tag=""):
        return x ^ y, x & y
