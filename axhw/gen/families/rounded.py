"""Rounding-based multipliers (spec §5.1, §5.2, §1): RoBA, rounded operands, RADk.

``mode=roba``: U-RoBA (unsigned) / S-RoBA (signed) of Zendegani et al. 2017. Each operand is
rounded to a power of two ``X_r``; ``Ŷ = A_r·B + B_r·A − A_r·B_r`` is three barrel shifts and one
three-operand add (the subtrahend has a single 1 bit). S-RoBA works on exact magnitudes and
restores the sign; the negations are folded into the same reduction tree.

``mode=operand``: both operands ``round_half_up`` at ``round`` bits, exact product of the rounded
values. ``(A_H + a_{r-1})·(B_H + b_{r-1})`` expands into the AND array of A_H·B_H plus two
conditional rows and one bit, so the rounding needs no incrementer.

``mode=rad``: RADk hybrid high-radix (Leon et al. TVLSI 2018), signed: the k LSBs of B form one
radix-2^k digit whose magnitude is rounded to 0 or a power of two (one partial product ±A·2^p),
the MSBs are exact radix-4 Booth rows k/2.. of B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hdl import booth
from ..hdl.bitmatrix import BitMatrix
from ..hdl.netlist import ONE, ZERO, Netlist
from ..hdl.pparray import build_and_array
from .base import (Multiplier, TreeReduced, check, check_choice, check_range, final_adder_param,
                   param, tree_param)

__all__ = ["MODES", "RoundedMultiplier", "roba_round"]

MODES = ("roba", "operand", "rad")


@dataclass(frozen=True)
class RoundedMultiplier(TreeReduced, Multiplier):
    mode: str = param("roba", "roba: RoBA power-of-two rounding; operand: round both operands; "
                      "rad: RADk hybrid high-radix", short="", always=True, range="|".join(MODES))
    round: int | None = param(None, "mode=operand: bits r rounded off both operands (half up)",
                              short="r", range="1..min(bits)-1")
    k: int | None = param(None, "mode=rad: LSBs of B forming the approximate radix-2^k digit",
                          short="k", range="even, 4 < k < bits_b")
    tree: str = tree_param()
    final_adder: str = final_adder_param()

    family = "rounded"
    abbrev = "rnd"
    description = "rounding-based multiplier (RoBA, rounded operands, RADk)"

    def validate(self) -> None:
        check_choice("mode", self.mode, MODES)
        check(self.mode == "operand" or self.round is None,
              f"round applies only to mode=operand (mode={self.mode})")
        check(self.mode == "rad" or self.k is None,
              f"k applies only to mode=rad (mode={self.mode})")
        if self.mode == "operand":
            check(self.round is not None, "mode=operand needs round=r (bits rounded off)")
            check_range("round", self.round, 1, min(self.bits_a, self.bits_b) - 1)
        elif self.mode == "rad":
            check(self.signed, "mode=rad is defined for signed operands only: add --signed")
            check(self.k is not None, "mode=rad needs k (even, 4 < k < bits_b)")
            check(self.k % 2 == 0 and 4 < self.k < self.bits_b,
                  f"k={self.k} is not valid for mode=rad: k must be even with 4 < k < bits_b"
                  f" ({self.bits_b})")

    @property
    def _wide_operand_port(self) -> bool:
        # Unsigned 2^n - 1 rounds up to 2^n: the product can reach 2^(na+nb).
        return self.mode == "operand" and not self.signed

    @property
    def out_bits(self) -> int:
        return self.bits_a + self.bits_b + (1 if self._wide_operand_port else 0)

    def notes(self) -> list[str]:
        if self._wide_operand_port:
            return ["unsigned operands round up to 2^n: the product reaches 2^(bits_a+bits_b), "
                    "so p has bits_a+bits_b+1 bits"]
        if self.mode == "rad" and self.bits_b % 2:
            return ["odd bits_b: B is sign-extended to an even width for its Booth rows"]
        return []

    # -- golden models ---------------------------------------------------------------------------
    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        A = np.asarray(A, dtype=np.int64)
        B = np.asarray(B, dtype=np.int64)
        if self.mode == "operand":
            return booth.round_half_up(A, self.round) * booth.round_half_up(B, self.round)
        if self.mode == "rad":
            return rad_golden(A, B, self.k)
        if not self.signed:
            return uroba(A, B)
        negative = (A < 0) != (B < 0)
        mag = uroba(np.abs(A), np.abs(B))
        return np.where(negative, -mag, mag)

    def behavioural_verilog(self) -> str:
        from ..hdl.reference import ref_module  # noqa: PLC0415

        if self.mode == "operand":
            ra, rb = (booth.round_half_up_verilog(x, self.round) for x in ("sa", "sb"))
            return ref_module(self, f"{ra} * {rb}")
        if self.mode == "rad":
            k = self.k
            r = "0"
            for threshold, level in rad_thresholds(k):
                r = f"(my >= {threshold} ? {level} : {r})"
            body = (f"wire signed [63:0] y0 = $signed(sb[{k - 1}:0]);",
                    f"wire signed [63:0] bh = (sb - y0) >>> {k};",
                    "wire signed [63:0] my = y0 < 0 ? -y0 : y0;",
                    f"wire signed [63:0] r = {r};")
            return ref_module(self, f"((sa * bh) <<< {k}) + (y0 < 0 ? -(sa * r) : sa * r)", body)
        body = ("wire signed [63:0] ma = sa < 0 ? -sa : sa;",
                "wire signed [63:0] mb = sb < 0 ? -sb : sb;",
                f"wire signed [63:0] ra = {_roba_round_verilog('ma', self.bits_a)};",
                f"wire signed [63:0] rb = {_roba_round_verilog('mb', self.bits_b)};",
                "wire signed [63:0] u = ra * mb + rb * ma - ra * rb;")
        return ref_module(self, "((sa < 0) != (sb < 0)) ? -u : u" if self.signed else "u", body)

    # -- hardware --------------------------------------------------------------------------------
    def build(self, nl: Netlist, a, b) -> None:
        if self.mode == "operand":
            self._build_operand(nl, a, b)
            return
        m = _roba_matrix(nl, a, b, self.out_bits, self.signed) if self.mode == "roba" else \
            _rad_matrix(nl, a, b, self.out_bits, self.k)
        self.emit_product(nl, m)

    def _build_operand(self, nl: Netlist, a, b) -> None:
        r, w = self.round, self.out_bits
        a_h, b_h, ca, cb = a[r:], b[r:], a[r - 1], b[r - 1]
        nl.comment(f"operands rounded half up at {r} bits: (A_H + a[{r - 1}])*(B_H + b[{r - 1}])"
                   f"*2^{2 * r}, no incrementer")
        m = build_and_array(nl, a_h, b_h, w - 2 * r, self.signed, lambda i, j: True)
        nl.comment(f"rounding rows: a[{r - 1}]*B_H, b[{r - 1}]*A_H, a[{r - 1}]*b[{r - 1}]")
        _add_scaled_operand(nl, m, b_h, ca, self.signed)
        _add_scaled_operand(nl, m, a_h, cb, self.signed)
        m.add(m.new_row(), 0, nl.and2(ca, cb))
        self.emit_product(nl, m, out=f"p[{w - 1}:{2 * r}]")
        nl.body.append(f"  assign p[{2 * r - 1}:0] = {2 * r}'b0;")


# -- RoBA ----------------------------------------------------------------------------------------
def roba_round(X: np.ndarray) -> np.ndarray:
    """Nearest power of two, ties up, except 3 -> 2 (spec §5.1); X >= 0; 0, 1, 2 stay."""
    X = np.asarray(X, dtype=np.int64)
    p = np.frexp(X)[1].astype(np.int64) - 1  # floor(log2 X) for X >= 1 (exact: X < 2^53)
    up = (X >> np.maximum(p - 1, 0)) & 1
    return np.where(X <= 2, X, np.where(X == 3, 2, np.left_shift(1, p + up)))


def _roba_round_verilog(x: str, bits: int) -> str:
    """roba_round of the non-negative wire `x` (< 2^bits) as a chain of threshold tests."""
    expr = x  # 0, 1, 2 map to themselves
    steps = [(3, 2)] + [step for p in range(2, bits)
                        for step in ((1 << p, 1 << p), (3 << (p - 1), 1 << (p + 1)))]
    for threshold, value in steps:
        expr = f"({x} >= {threshold} ? {value} : {expr})"
    return expr


def uroba(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """U-RoBA: A_r·B + B_r·A − A_r·B_r = A·B − (A_r − A)(B_r − B) for A, B >= 0."""
    ar, br = roba_round(A), roba_round(B)
    return ar * B + br * A - ar * br


def _roba_matrix(nl: Netlist, a, b, width: int, signed: bool) -> BitMatrix:
    s = ZERO
    if signed:
        nl.comment("S-RoBA: exact magnitudes |A|, |B|; the result sign s = a[n-1] ^ b[n-1]")
        s = nl.xor2(a[-1], b[-1], name="sign_p")
        a, b = _magnitude(nl, a, "abs_a"), _magnitude(nl, b, "abs_b")
    nl.comment("power-of-two rounding: one-hot A_r, B_r (nearest, ties up, 3 -> 2)")
    ra, nz_a = _round_pow2(nl, a, "ra")
    rb, nz_b = _round_pow2(nl, b, "rb")
    ea, eb = _encode(nl, ra), _encode(nl, rb)
    nl.comment("barrel shifters: A_r*B = B << e_A, B_r*A = A << e_B, A_r*B_r = A_r << e_B")
    t1 = _barrel_shift(nl, [nl.and2(x, nz_a) for x in b], ea, width)
    t2 = _barrel_shift(nl, [nl.and2(x, nz_b) for x in a], eb, width)
    t3 = _barrel_shift(nl, [nl.and2(x, nz_b) for x in ra], eb, width)
    # (-1)^s·(T1 + T2 − T3) = (T1^s) + s + (T2^s) + s + (T3^~s) + ~s  (mod 2^width)
    nl.comment("three-operand add T1 + T2 - T3 (negated when s), into the reduction tree")
    m = BitMatrix(width)
    ns = nl.not1(s)
    for t, flip in ((t1, s), (t2, s), (t3, ns)):
        row = m.new_row()
        for c in range(width):
            m.add(row, c, nl.xor2(t[c], flip))
        m.add(row, 0, flip)
    return m


def _magnitude(nl: Netlist, x: list[str], name: str) -> list[str]:
    """|X| of a two's complement X as an unsigned value of the same width: (X ^ sign) + sign."""
    sign, carry, out = x[-1], x[-1], []
    for i, bit in enumerate(x):
        s, carry = nl.ha(nl.xor2(bit, sign), carry, tag=f"{name}{i}")
        out.append(s)
    return out


def _round_pow2(nl: Netlist, x: list[str], name: str) -> tuple[list[str], str]:
    """One-hot r[0..n] of RoBA's X_r for unsigned X, and X != 0."""
    n = len(x)
    lead, above = [ZERO] * n, ZERO
    for p in reversed(range(n)):  # lead[p]: bit p is the leading one
        lead[p] = nl.and2(x[p], nl.not1(above))
        above = nl.or2(above, x[p])
    r = []
    for k in range(n + 1):
        stay = lead[k] if k < n else ZERO
        if 2 <= k < n:  # leading one at k rounds down unless x[k-1]
            stay = nl.and2(stay, nl.not1(x[k - 1]))
        # leading one at k-1 >= 2 rounds up if x[k-2] (not at k-1 = 1: 3 -> 2)
        up = nl.and2(lead[k - 1], x[k - 2]) if k - 1 >= 2 else ZERO
        r.append(nl.or2(stay, up, name=f"{name}{k}"))
    return r, above


def _encode(nl: Netlist, onehot: list[str]) -> list[str]:
    """Binary index of a one-hot vector (0 when all bits are 0)."""
    out = []
    for s in range(max(1, (len(onehot) - 1).bit_length())):
        e = ZERO
        for k, bit in enumerate(onehot):
            if (k >> s) & 1:
                e = nl.or2(e, bit)
        out.append(e)
    return out


def _barrel_shift(nl: Netlist, v: list[str], amount: list[str], width: int) -> list[str]:
    """Logarithmic left shifter: v << amount, `width` bits (bits past the top are dropped)."""
    cur = (list(v) + [ZERO] * width)[:width]
    for s, sel in enumerate(amount):
        d = 1 << s
        cur = [nl.mux2(sel, cur[c], cur[c - d] if c >= d else ZERO) for c in range(width)]
    return cur


# -- rounded operands ----------------------------------------------------------------------------
def _add_scaled_operand(nl: Netlist, m: BitMatrix, x: list[str], c: str, signed: bool) -> None:
    """Row c·X (X two's complement when signed: its top bit has negative weight)."""
    row = m.new_row()
    for i, bit in enumerate(x):
        pp = nl.and2(bit, c)
        if signed and i == len(x) - 1:
            m.add_negative(row, i, pp, nl)
        else:
            m.add(row, i, pp)


# -- RADk ----------------------------------------------------------------------------------------
def rad_thresholds(k: int) -> list[tuple[int, int]]:
    """(threshold, level): |y0| >= threshold rounds to at least level (spec §5.2), low to high."""
    return [(1 << (k - 5), 1 << (k - 4)), (3 << (k - 5), 1 << (k - 3)),
            (3 << (k - 4), 1 << (k - 2)), (3 << (k - 3), 1 << (k - 1))]


def rad_golden(A: np.ndarray, B: np.ndarray, k: int) -> np.ndarray:
    """A·B_H·2^k + A·sign(y0)·r(|y0|), y0 = sext_k(B mod 2^k), B_H = (B − y0)/2^k."""
    low = B & ((1 << k) - 1)
    y0 = low - ((low >> (k - 1)) << k)
    b_h = (B - y0) >> k
    mag = np.abs(y0)
    r = np.zeros_like(mag)
    for threshold, level in rad_thresholds(k):
        r = np.where(mag >= threshold, level, r)
    return ((A * b_h) << k) + A * np.sign(y0) * r


def _ge_const(nl: Netlist, bits: list[str], c: int) -> str:
    """Unsigned value of `bits` (LSB first) >= constant c."""
    if c <= 0:
        return ONE
    if c >= 1 << len(bits):
        return ZERO
    half = 1 << (len(bits) - 1)
    if c >= half:
        return nl.and2(bits[-1], _ge_const(nl, bits[:-1], c - half))
    return nl.or2(bits[-1], _ge_const(nl, bits[:-1], c))


def _rad_matrix(nl: Netlist, a, b, width: int, k: int) -> BitMatrix:
    nd = booth.num_digits(len(b), True)
    m = BitMatrix(width)
    nl.comment(f"B_H = (B - y0)/2^{k}: exact radix-4 Booth digits {k // 2}..{nd - 1} of B")
    for j in range(k // 2, nd):
        neg, one, two = booth.encode(nl, b, j, True)
        booth.add_booth_row(nl, m, a, True, j, neg, one, two)
    # |y0| >= T  <=>  m >= T - sign, with m = (y0 ^ sign) its one's complement magnitude.
    sign = b[k - 1]
    mag1 = [nl.xor2(x, sign) for x in b[:k - 1]]
    over = [nl.mux2(sign, _ge_const(nl, mag1, t), _ge_const(nl, mag1, t - 1))
            for t, _ in rad_thresholds(k)]
    selects = [nl.and2(over[i], nl.not1(over[i + 1])) if i + 1 < len(over) else over[i]
               for i in range(len(over))]
    nl.comment(f"approximate radix-2^{k} digit y0 = sext(b[{k - 1}:0]): one row "
               f"+-A*2^p, p in {k - 4}..{k - 1} (0 when |y0| < {1 << (k - 5)})")
    booth.add_select_row(nl, m, a, True, k - 4, sign, selects)
    return m
