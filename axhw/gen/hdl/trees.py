"""Reduction trees shared by every family (spec §2.3): array (carry-save), Wallace, Dadda.

Each takes a BitMatrix and returns two W-bit rows whose sum (mod 2^W) equals the matrix value;
``emit_product`` then writes the final carry-propagate adder (``adders.py``, or ``+``). All trees are exact: an approximate
family is defined by the bits it puts into the matrix, never by the tree.
"""

from __future__ import annotations

from . import adders
from .bitmatrix import BitMatrix
from .netlist import ONE, ZERO, Netlist

__all__ = ["TREES", "reduce_to_two_rows", "emit_product", "emit_final_adder"]

TREES = ("array", "wallace", "dadda")


def _array(nl: Netlist, m: BitMatrix) -> list[list[str]]:
    """Carry-save (Braun) array: rows are added one after another, one FA per column per row,
    carries deferred to the next row; after the last row, carry-save steps continue until every
    column holds at most two bits (the vector-merging adder's inputs)."""
    acc: list[list[str]] = [[] for _ in range(m.width)]
    rows = m.rows_with_const()
    step = 0
    while step < len(rows) or max(len(c) for c in acc) > 2:
        if step < len(rows):
            for c, s in rows[step]:
                acc[c].append(s)
        nxt: list[list[str]] = [[] for _ in range(m.width)]
        for c in range(m.width):
            bits = acc[c]
            while len(bits) >= 3:
                s, cy = nl.fa(bits[0], bits[1], bits[2], tag=f"fa_r{step}_c{c}")
                bits = bits[3:] + [s]
                if c + 1 < m.width:
                    nxt[c + 1].append(cy)
            nxt[c].extend(bits)
        acc = [[b for b in col if b != ZERO] for col in nxt]
        step += 1
    return acc


def _wallace(nl: Netlist, m: BitMatrix) -> list[list[str]]:
    cols = _with_const(m)
    stage = 0
    while max(len(c) for c in cols) > 2:
        nxt: list[list[str]] = [[] for _ in range(m.width)]
        for c, bits in enumerate(cols):
            i = 0
            while len(bits) - i >= 3:
                s, cy = nl.fa(bits[i], bits[i + 1], bits[i + 2], tag=f"fa_w{stage}_c{c}")
                nxt[c].append(s)
                if c + 1 < m.width:
                    nxt[c + 1].append(cy)
                i += 3
            if len(bits) - i == 2:
                s, cy = nl.ha(bits[i], bits[i + 1], tag=f"ha_w{stage}_c{c}")
                nxt[c].append(s)
                if c + 1 < m.width:
                    nxt[c + 1].append(cy)
            elif len(bits) - i == 1:
                nxt[c].append(bits[i])
        cols = [[b for b in col if b != ZERO] for col in nxt]
        stage += 1
    return cols


def dadda_heights(max_height: int) -> list[int]:
    """Target heights d_k < max_height, largest first (2, 3, 4, 6, 9, 13, ...)."""
    ds = [2]
    while int(ds[-1] * 1.5) < max_height:
        ds.append(int(ds[-1] * 1.5))
    return [d for d in reversed(ds) if d < max_height]


def _dadda(nl: Netlist, m: BitMatrix) -> list[list[str]]:
    cols = _with_const(m)
    for stage, d in enumerate(dadda_heights(max((len(c) for c in cols), default=0))):
        nxt: list[list[str]] = [[] for _ in range(m.width)]
        carry_in: list[int] = [0] * (m.width + 1)
        for c in range(m.width):
            pool = list(cols[c])
            h = len(pool) + carry_in[c]
            while h > d:
                if h - d >= 2 and len(pool) >= 3:
                    s, cy = nl.fa(pool[0], pool[1], pool[2], tag=f"fa_d{stage}_c{c}")
                    pool = pool[3:]
                    h -= 2
                elif len(pool) >= 2:
                    s, cy = nl.ha(pool[0], pool[1], tag=f"ha_d{stage}_c{c}")
                    pool = pool[2:]
                    h -= 1
                else:  # pragma: no cover - cannot happen for heights reached from a valid matrix
                    break
                nxt[c].append(s)
                if c + 1 < m.width:
                    nxt[c + 1].append(cy)
                    carry_in[c + 1] += 1
            nxt[c].extend(pool)
        cols = [[b for b in col if b != ZERO] for col in nxt]
    return cols


def _with_const(m: BitMatrix) -> list[list[str]]:
    cols = m.columns()
    k = m.const_mod()
    for c in range(m.width):
        if (k >> c) & 1:
            cols[c].append(ONE)
    return cols


def reduce_to_two_rows(nl: Netlist, m: BitMatrix, tree: str) -> tuple[list[str], list[str]]:
    if tree not in TREES:
        raise ValueError(f"unknown tree {tree!r}")
    cols = {"array": _array, "wallace": _wallace, "dadda": _dadda}[tree](nl, m)
    # Constant ones that survived reduction: fold pairs arithmetically is unnecessary, they are
    # just bits now; each column holds at most two signals.
    r0 = [ZERO] * m.width
    r1 = [ZERO] * m.width
    for c, bits in enumerate(cols):
        if len(bits) > 2:  # pragma: no cover - guarded by construction
            raise AssertionError(f"column {c} still has {len(bits)} bits")
        if bits:
            r0[c] = bits[0]
        if len(bits) == 2:
            r1[c] = bits[1]
    return r0, r1


def emit_product(nl: Netlist, m: BitMatrix, tree: str, final_adder: str, out: str = "p") -> None:
    """Reduce the matrix with `tree` and drive output `out` through `final_adder` (any of
    adders.ADDERS, so every family built on these trees offers them all)."""
    nl.comment(f"{tree} reduction of {sum(len(r) for r in m.rows)} partial-product bits, "
               f"constant 0x{m.const_mod():x}")
    r0, r1 = reduce_to_two_rows(nl, m, tree)
    emit_final_adder(nl, r0, r1, final_adder, out)


def emit_final_adder(nl: Netlist, r0: list[str], r1: list[str], final_adder: str,
                     out: str = "p") -> None:
    """Drive `out` with the sum of the two reduced rows: a structural final adder, or a `+`
    left to the synthesizer (`synth`)."""
    if final_adder != "synth":
        nl.comment(f"final carry-propagate adder: {final_adder}")
        nl.assign_vector(out, adders.add(nl, final_adder, r0, r1))
        return
    nl.comment("final carry-propagate adder (left to the synthesizer)")
    w = len(r0)
    nl.body.append(f"  wire [{w - 1}:0] row_sum;")
    nl.body.append(f"  wire [{w - 1}:0] row_carry;")
    nl.assign_vector("row_sum", r0)
    nl.assign_vector("row_carry", r1)
    nl.body.append(f"  assign {out} = row_sum + row_carry;")
