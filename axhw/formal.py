"""Formal equivalence of a generated design with its golden model (``verify --method formal``).

The family's ``behavioural_verilog()`` states the golden model as plain Verilog (``*`` and all);
Yosys builds a miter of the structural design and that reference (``miter -equiv``) and proves
with its SAT solver that no input makes them differ (``sat -verify -prove trigger 0``). A proof
covers all 2^(bits_a+bits_b) pairs at once; multipliers are hard for SAT, so the proof time grows
steeply with the width (see docs/verification.md) and is bounded by a timeout.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

from .design import Design
from .errors import AxhwError, ToolError
from .fileio import cache_root, ensure_dir
from .tools import yosys

DEFAULT_TIMEOUT_S = 600


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
    """Σ_{j kept} d_j·operand·4^j with radix-4 Booth digits of ``sb`` (as axhw.hdl.booth.digits)."""
    terms = []
    for j in kept_rows:
        lo = f" + ((sb >>> {2 * j - 1}) & 1)" if j > 0 else ""
        digit = f"(-2 * ((sb >>> {2 * j + 1}) & 1) + ((sb >>> {2 * j}) & 1){lo})"
        terms.append(f"{digit} * {operand} * {1 << (2 * j)}")
    return " + ".join(terms) or "0"


def _script(dut: Path, ref: Path, top: str) -> list[str]:
    return [
        f"read_verilog -sv {yosys.quote(dut)}",
        f"read_verilog -sv {yosys.quote(ref)}",
        "proc", "flatten", "opt_clean",
        f"miter -equiv -flatten -make_outputs {top} {top}_ref axhw_miter",
        "hierarchy -top axhw_miter", "flatten", "opt -fast",
        # -prove trigger 0: no input drives the miter's "outputs differ" flag high.
        "sat -verify -prove trigger 0 -show-inputs -show-outputs axhw_miter",
    ]


def prove(design: Design, timeout: float = DEFAULT_TIMEOUT_S) -> float:
    """Prove design RTL == behavioural reference; returns the seconds taken. Raises
    VerificationFailed with a counterexample when they differ (the Yosys log is kept then)."""
    ref_text = design.spec.behavioural_verilog() if design.spec is not None else None
    if ref_text is None:
        raise AxhwError(f"{design.top}: family {design.family} has no behavioural reference "
                        "(behavioural_verilog), so it cannot be verified formally; "
                        "use --method exhaustive or random")
    if not re.search(rf"\bmodule\s+{re.escape(design.top)}_ref\b", ref_text):
        raise AxhwError(f"{design.family}.behavioural_verilog() must define module {design.top}_ref")
    work = Path(tempfile.mkdtemp(prefix=f"{design.top}-", dir=ensure_dir(cache_root() / "formal")))
    ref = work / "ref.v"
    ref.write_text(ref_text)
    t0 = time.perf_counter()
    log = work / "yosys.log"
    try:
        yosys.run_script(_script(design.verilog_path, ref, design.top), log, timeout=timeout)
    except ToolError as exc:
        text = log.read_text(errors="replace") if log.is_file() else ""
        if "SAT proof finished - model found: FAIL!" in text:
            raise _counterexample(design, text, log) from None
        if "timed out" in str(exc):
            raise ToolError("yosys", f"formal proof of {design.top} did not finish within "
                            f"{timeout:.0f} s (raise --timeout, or use --method exhaustive)",
                            str(log)) from None
        raise
    seconds = time.perf_counter() - t0
    text = log.read_text(errors="replace")
    if "SAT proof finished - no model found: SUCCESS!" not in text:
        raise ToolError("yosys", f"formal proof of {design.top} ended without a verdict", str(log))
    shutil.rmtree(work, ignore_errors=True)
    return seconds


def _counterexample(design: Design, text: str, log: Path) -> AxhwError:
    """The first input pair Yosys found (its -show-inputs table) as a one-line error."""
    values = {}
    for name in ("in_a", "in_b", "gold_p", "gate_p"):
        m = re.search(rf"\\{name}\s+(-?\d+)\s+([0-9a-fA-F]+)\s", text)
        if m:
            values[name] = int(m.group(2), 16)
    from .errors import VerificationFailed  # noqa: PLC0415
    from .golden import port_value, to_value  # noqa: PLC0415

    if {"in_a", "in_b"} <= values.keys():
        a = int(to_value(values["in_a"], design.bits_a, design.signed))
        b = int(to_value(values["in_b"], design.bits_b, design.signed))
        # miter -equiv names the first module (the design) "gold", the reference "gate".
        rtl, ref = values.get("gold_p"), values.get("gate_p")
        detail = f"a={a} b={b}"
        if rtl is not None and ref is not None:
            detail += (f" design={int(port_value(rtl, design.out_bits, design.out_signed))}"
                       f" reference={int(port_value(ref, design.out_bits, design.out_signed))}")
        return VerificationFailed(f"{design.top}: formal proof FAILED, counterexample {detail} "
                                  f"(log: {log})")
    return VerificationFailed(f"{design.top}: formal proof FAILED (log: {log})")


def verify_formal(design: Design, sims, samples: int, seed: int,
                  timeout: float = DEFAULT_TIMEOUT_S):
    """METHODS entry: one result for the proof (simulators do not take part)."""
    from .verify import VerifyResult  # noqa: PLC0415

    seconds = prove(design, timeout)
    pairs = 1 << (design.bits_a + design.bits_b)
    return [VerifyResult("formal", "yosys-sat", pairs, 0, seconds, True,
                         detail="SAT proof: miter of RTL and behavioural reference")]
