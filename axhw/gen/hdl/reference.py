"""The golden model as plain Verilog: the ``<top>_ref`` module a family's
``behavioural_verilog()`` returns, which ``verify --method formal`` proves the structural design
equal to (:mod:`axhw.verify.formal`)."""

from __future__ import annotations

__all__ = ["booth_ref_sum", "ref_module"]


def ref_module(spec, result: str, body: tuple[str, ...] = ()) -> str:
    """A ``<top>_ref`` module with the ports of ``spec.verilog()`` computing ``p = result``.

    In `body` lines and `result`, ``sa``/``sb`` are the operand VALUES as signed wires (one bit
    wider when unsigned, so they are never negative). `result` must be a signed expression
    (signed wires, plain integers, ``$signed(...)``): it is evaluated in 64-bit signed arithmetic
    and truncated to out_bits, like ``golden(A, B) mod 2^out_bits``."""
    ea = 0 if spec.signed else 1
    lines = [
        f"module {spec.top}_ref(",
        f"  input [{spec.bits_a - 1}:0] a,",
        f"  input [{spec.bits_b - 1}:0] b,",
        f"  output [{spec.out_bits - 1}:0] p",
        ");",
        f"  wire signed [{spec.bits_a - 1 + ea}:0] sa = {_operand('a', spec.signed)};",
        f"  wire signed [{spec.bits_b - 1 + ea}:0] sb = {_operand('b', spec.signed)};",
        *(f"  {line}" for line in body),
        f"  wire signed [63:0] golden = {result};",
        f"  assign p = golden[{spec.out_bits - 1}:0];",
        "endmodule",
    ]
    return "\n".join(lines) + "\n"


def _operand(name: str, signed: bool) -> str:
    return name if signed else f"{{1'b0, {name}}}"


def booth_ref_sum(kept_rows, operand: str = "sa") -> str:
    """Σ_{j kept} d_j·operand·4^j with radix-4 Booth digits of ``sb`` (as axhw.gen.hdl.booth.digits)."""
    terms = []
    for j in kept_rows:
        lo = f" + ((sb >>> {2 * j - 1}) & 1)" if j > 0 else ""
        digit = f"(-2 * ((sb >>> {2 * j + 1}) & 1) + ((sb >>> {2 * j}) & 1){lo})"
        terms.append(f"{digit} * {operand} * {1 << (2 * j)}")
    return " + ".join(terms) or "0"
