"""The partial-product bit matrix: weighted bits (grouped into rows) plus one integer constant.

Every multiplier family describes *which bits enter the tree* by filling a BitMatrix; the shared
reduction trees (``trees.py``) turn it into two rows and a final adder. Signed arithmetic follows
the rule of spec §2.2: a bit of negative weight ``-x·2^c`` is added as ``~x·2^c`` and ``-2^c`` is
folded into the single constant, so removing bits only ever means "recompute the constant".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .netlist import ONE, ZERO

__all__ = ["BitMatrix"]


@dataclass
class BitMatrix:
    width: int  # output bits W: everything is modulo 2^W
    rows: list[list[tuple[int, str]]] = field(default_factory=list)  # row -> [(column, signal)]
    const: int = 0

    def new_row(self) -> list[tuple[int, str]]:
        row: list[tuple[int, str]] = []
        self.rows.append(row)
        return row

    def add(self, row: list[tuple[int, str]], column: int, sig: str) -> None:
        if sig == ZERO or column >= self.width:
            return
        if sig == ONE:
            self.const += 1 << column
            return
        row.append((column, sig))

    def add_negative(self, row: list[tuple[int, str]], column: int, sig: str, nl) -> None:
        """Add ``-sig·2^column`` as ``~sig·2^column - 2^column``."""
        self.add(row, column, nl.not1(sig))
        self.const -= 1 << column

    def const_mod(self) -> int:
        return self.const % (1 << self.width)

    def columns(self) -> list[list[str]]:
        cols: list[list[str]] = [[] for _ in range(self.width)]
        for row in self.rows:
            for c, s in row:
                cols[c].append(s)
        return cols

    def rows_with_const(self) -> list[list[tuple[int, str]]]:
        """The rows, plus the constant's 1-bits as a final row of literal ones."""
        k = self.const_mod()
        const_row = [(c, ONE) for c in range(self.width) if (k >> c) & 1]
        return [r for r in self.rows if r] + ([const_row] if const_row else [])

    def max_height(self) -> int:
        return max((len(c) for c in self.columns()), default=0)
