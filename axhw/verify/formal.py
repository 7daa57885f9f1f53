"""Formal equivalence of a generated design with its golden model (``verify --method formal``).

Two engines (``--engine``): ``sat`` (below) and ``algebraic`` (:mod:`axhw.verify.algebraic`, backward
rewriting against the golden model's polynomial; it scales to 32×32). ``auto`` takes SAT up to
SAT_MAX_INPUT_BITS input bits, where it is quick, and the algebraic engine above.

SAT engine: the family's ``behavioural_verilog()`` states the golden model as plain Verilog
(``*`` and all); Yosys builds a miter of the structural design and that reference (``miter
-equiv``) and proves with its SAT solver that no input makes them differ (``sat -verify -prove
trigger 0``). A proof covers all 2^(bits_a+bits_b) pairs at once; multipliers are hard for SAT,
so the proof time grows steeply with the width (see docs/verification.md) and is bounded by a
timeout.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
import time
from pathlib import Path

from . import algebraic
from ..infra import progress
from ..design.record import Design
from ..infra.errors import AxhwError, ToolError
from ..infra.fileio import cache_root, ensure_dir
from ..infra.tools import stage, yosys

__all__ = ["DEFAULT_TIMEOUT_S", "ENGINES", "prove", "prove_algebraic", "choose_engine",
           "verify_formal"]

DEFAULT_TIMEOUT_S = 600
ENGINES = ("auto", "sat", "algebraic")
# auto: SAT up to this many input bits (6x6: about 2 s), the algebraic engine above.
SAT_MAX_INPUT_BITS = 12
# auto falls back to SAT where the algebraic engine does not apply, up to this many input bits.
SAT_FALLBACK_INPUT_BITS = 16
# Final adders the rewriting takes as they are ('+' is lowered as a ripple chain); any other is
# first proved equal to the design's ripple-carry twin by SAT (adder substitution, AMulet 2).
REWRITABLE_ADDERS = ("synth", "rca", "pg_rca")


def _script(dut: Path, ref: Path, top: str, ref_top: str) -> list[str]:
    return [
        f"read_verilog -sv {yosys.quote(dut)}",
        f"read_verilog -sv {yosys.quote(ref)}",
        "proc", "flatten", "opt_clean",
        f"miter -equiv -flatten -make_outputs {top} {ref_top} axhw_miter",
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
    work = _workdir(design)
    ref = work / "ref.v"
    ref.write_text(ref_text)
    seconds = _sat_miter(design, ref, f"{design.top}_ref", work, timeout)
    shutil.rmtree(work, ignore_errors=True)
    return seconds


def _workdir(design: Design) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{design.top}-", dir=ensure_dir(cache_root() / "formal")))


def _sat_miter(design: Design, ref: Path, ref_top: str, work: Path, timeout: float) -> float:
    """SAT-prove the design's RTL equal to module `ref_top` of `ref`; the seconds taken."""
    t0 = time.perf_counter()
    log = work / "yosys.log"
    try:
        dut = stage(design.verilog_path, work, ".v")  # Yosys never sees the user's path
        yosys.run_script(_script(dut, ref, design.top, ref_top), log,
                         timeout=timeout)
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
    return seconds


def prove_algebraic(design: Design, timeout: float = DEFAULT_TIMEOUT_S,
                    seed: int = 1) -> tuple[float, str]:
    """Prove the design's RTL equal to its golden model by algebraic rewriting (a tree design
    with a lookahead/prefix final adder: its ripple-carry twin, plus twin == design by SAT).
    Returns the seconds taken and what was proven."""
    spec = design.spec
    if spec is None:
        raise AxhwError(f"{design.top}: the algebraic engine needs the family's golden model "
                        "(external Verilog has none); use --method random")
    t0 = time.perf_counter()
    budget = algebraic.Budget(timeout)
    adder = getattr(spec, "final_adder", None)
    if adder is None or adder in REWRITABLE_ADDERS:
        proof = algebraic.prove_netlist(spec, design.verilog_path, design.top, budget, seed)
        twin_note = ""
    else:
        twin = dataclasses.replace(spec, final_adder="rca")
        work = _workdir(design)
        twin_v = work / f"{twin.top}.v"
        twin_v.write_text(twin.verilog())
        proof = algebraic.prove_netlist(twin, twin_v, twin.top, budget, seed)
        progress.step(f"{design.top}: final adder {adder} == rca twin (Yosys SAT miter)")
        budget.check(design.top)
        try:
            sat_s = _sat_miter(design, twin_v, twin.top, work, budget.left())
        except ToolError:
            budget.check(design.top)  # timed out: say so with the whole --timeout
            raise
        shutil.rmtree(work, ignore_errors=True)
        twin_note = (f"; its ripple-carry twin {twin.top} proved by rewriting, and the design "
                     f"== that twin by SAT ({sat_s:.1f} s; final adder {adder})")
    detail = (f"algebraic proof: backward rewriting of {proof.cells:,} cells (peak "
              f"{proof.peak_monomials:,} monomials) gives the degree-2 polynomial of the golden "
              f"model mod 2^{spec.out_bits} ({proof.spec_terms:,} terms); polynomial == golden "
              f"model on {proof.spec_check}{twin_note}")
    return time.perf_counter() - t0, detail


def _counterexample(design: Design, text: str, log: Path) -> AxhwError:
    """The first input pair Yosys found (its -show-inputs table) as a one-line error."""
    values = {}
    for name in ("in_a", "in_b", "gold_p", "gate_p"):
        # columns: decimal, hex (both "--" when too wide), binary
        m = re.search(rf"^\s*\\{name}\s+\S+\s+\S+\s+([01]+)\s*$", text, re.MULTILINE)
        if m:
            values[name] = int(m.group(1), 2)
    from ..infra.errors import VerificationFailed  # noqa: PLC0415
    from ..design.golden import port_value, to_value  # noqa: PLC0415

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


def choose_engine(design: Design, engine: str = "auto") -> str:
    if engine not in ENGINES:
        raise AxhwError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    has_reference = design.spec is not None and design.spec.behavioural_verilog() is not None
    if has_reference and design.bits_a + design.bits_b <= SAT_MAX_INPUT_BITS:
        return "sat"
    return "algebraic" if design.spec is not None else "sat"


def verify_formal(design: Design, sims, samples: int, seed: int,
                  timeout: float = DEFAULT_TIMEOUT_S, engine: str = "auto"):
    """METHODS entry: one result for the proof (simulators do not take part)."""
    from .dispatch import VerifyResult  # noqa: PLC0415

    pairs = 1 << (design.bits_a + design.bits_b)
    chosen = choose_engine(design, engine)
    note = ""
    if chosen == "algebraic":
        try:
            seconds, detail = prove_algebraic(design, timeout, seed)
            return [VerifyResult("formal", "algebraic", pairs, 0, seconds, True, detail=detail)]
        except algebraic.NotApplicable:
            if engine != "auto" or design.bits_a + design.bits_b > SAT_FALLBACK_INPUT_BITS:
                raise
            note = " (the algebraic engine does not apply: golden model not of degree <= 2)"
    seconds = prove(design, timeout)
    return [VerifyResult("formal", "yosys-sat", pairs, 0, seconds, True,
                         detail="SAT proof: miter of RTL and behavioural reference" + note)]
