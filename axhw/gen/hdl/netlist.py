"""A tiny structural netlist builder that emits readable, synthesizable Verilog-2001.

Signals are Verilog expressions of one bit (``a[3]``, ``pp_r2_c5``, ``1'b0``). Gate helpers fold
constants, so constant-correction bits and Booth constants simplify where they land instead of
leaving dead logic for the synthesizer. Full/half adders are explicit gates: the structure of the
reduction tree is visible in the output, not hidden behind ``+``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["ZERO", "ONE", "Netlist"]

ZERO = "1'b0"
ONE = "1'b1"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def is_const(sig: str) -> bool:
    return sig in (ZERO, ONE)


def valid_identifier(name: str) -> bool:
    return bool(_IDENT.match(name)) and len(name) <= 1024


@dataclass
class Netlist:
    """Accumulates wire declarations for one combinational module."""

    top: str
    ports: list[tuple[str, str, int]] = field(default_factory=list)  # (direction, name, width)
    body: list[str] = field(default_factory=list)
    _names: set[str] = field(default_factory=set)
    _counts: dict[str, int] = field(default_factory=dict)
    header_comment: list[str] = field(default_factory=list)
    gate_count: int = 0

    def __post_init__(self):
        if not valid_identifier(self.top):
            raise ValueError(f"invalid Verilog module name {self.top!r}")

    # -- naming -------------------------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        n = self._counts.get(prefix, 0)
        while True:
            name = f"{prefix}{n}" if prefix.endswith("_") or prefix[-1].isalpha() else f"{prefix}_{n}"
            n += 1
            if name not in self._names:
                self._counts[prefix] = n
                self._names.add(name)
                return name

    def comment(self, text: str) -> None:
        self.body.append(f"  // {text}")

    def port(self, direction: str, name: str, width: int) -> list[str]:
        self.ports.append((direction, name, width))
        self._names.add(name)
        return [f"{name}[{i}]" for i in range(width)]

    def wire(self, expr: str, name: str | None = None, prefix: str = "n") -> str:
        """Declare ``wire name = expr;`` and return the name (or the constant itself)."""
        if is_const(expr):
            return expr
        if name is None:
            name = self.fresh(prefix)
        else:
            if name in self._names:
                raise ValueError(f"duplicate wire {name}")
            self._names.add(name)
        self.body.append(f"  wire {name} = {expr};")
        return name

    # -- gates with constant folding -----------------------------------------------------------
    def not1(self, x: str, name: str | None = None) -> str:
        if x == ZERO:
            return ONE
        if x == ONE:
            return ZERO
        self.gate_count += 1
        return self.wire(f"~{x}", name, "inv_")

    def and2(self, x: str, y: str, name: str | None = None) -> str:
        if ZERO in (x, y):
            return ZERO
        if x == ONE:
            return y if name is None else self.wire(y, name)
        if y == ONE:
            return x if name is None else self.wire(x, name)
        self.gate_count += 1
        return self.wire(f"{x} & {y}", name, "and_")

    def or2(self, x: str, y: str, name: str | None = None) -> str:
        if ONE in (x, y):
            return ONE
        if x == ZERO:
            return y if name is None else self.wire(y, name)
        if y == ZERO:
            return x if name is None else self.wire(x, name)
        self.gate_count += 1
        return self.wire(f"{x} | {y}", name, "or_")

    def xor2(self, x: str, y: str, name: str | None = None) -> str:
        if x == ZERO:
            return y if name is None else self.wire(y, name)
        if y == ZERO:
            return x if name is None else self.wire(x, name)
        if x == ONE:
            return self.not1(y, name)
        if y == ONE:
            return self.not1(x, name)
        self.gate_count += 1
        return self.wire(f"{x} ^ {y}", name, "xor_")

    def mux2(self, sel: str, x0: str, x1: str) -> str:
        """sel ? x1 : x0."""
        if sel == ZERO:
            return x0
        if sel == ONE:
            return x1
        if x0 == x1:
            return x0
        self.gate_count += 1
        return self.wire(f"{sel} ? {x1} : {x0}", None, "mux_")

    def ha(self, x: str, y: str, tag: str = "ha") -> tuple[str, str]:
        """Half adder -> (sum, carry)."""
        if ZERO in (x, y):
            return (y if x == ZERO else x), ZERO
        if x == ONE and y == ONE:
            return ZERO, ONE
        if ONE in (x, y):
            other = y if x == ONE else x
            return self.not1(other), other
        base = self.fresh(tag + "_")
        self.gate_count += 2
        s = self.wire(f"{x} ^ {y}", f"{base}_s")
        c = self.wire(f"{x} & {y}", f"{base}_c")
        return s, c

    def fa(self, x: str, y: str, z: str, tag: str = "fa") -> tuple[str, str]:
        """Full adder -> (sum, carry)."""
        bits = [x, y, z]
        consts = [b for b in bits if is_const(b)]
        if consts:
            rest = [b for b in bits if not is_const(b)]
            ones = consts.count(ONE)
            if len(rest) == 2:
                if ones == 0:
                    return self.ha(rest[0], rest[1], tag)
                # a + b + 1: sum = ~(a ^ b), carry = a | b
                return self.not1(self.xor2(rest[0], rest[1])), self.or2(rest[0], rest[1])
            if len(rest) == 1:
                x0 = rest[0]
                if ones == 0:
                    return x0, ZERO
                if ones == 1:  # x + 1
                    return self.not1(x0), x0
                return x0, ONE  # x + 2
            total = ones
            return (ONE if total & 1 else ZERO), (ONE if total >= 2 else ZERO)
        base = self.fresh(tag + "_")
        self.gate_count += 5
        s = self.wire(f"{x} ^ {y} ^ {z}", f"{base}_s")
        c = self.wire(f"({x} & {y}) | ({x} & {z}) | ({y} & {z})", f"{base}_c")
        return s, c

    def assign_vector(self, target: str, bits: list[str]) -> None:
        """``assign target = {bits[n-1], ..., bits[0]};``"""
        self.body.append(f"  assign {target} = {{{', '.join(reversed(bits))}}};")

    def emit(self) -> str:
        lines = [f"// {c}" for c in self.header_comment]
        decl = []
        for direction, name, width in self.ports:
            rng = f"[{width - 1}:0] " if width > 1 else ""
            decl.append(f"  {direction} {rng}{name}")
        lines.append(f"module {self.top}(")
        lines.append(",\n".join(decl))
        lines.append(");")
        lines.extend(self.body)
        lines.append("endmodule")
        return "\n".join(lines) + "\n"
