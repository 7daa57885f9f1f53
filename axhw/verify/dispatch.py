"""Verification of a design's RTL against its golden model.

Methods: ``cocotb`` (every pair through cocotb on Icarus/Verilator; the default up to
MAX_COCOTB_PAIRS pairs) and ``random`` (N uniformly drawn pairs through cocotb). Wider designs get
``exhaustive`` (to MAX_EXHAUSTIVE_BITS input bits, then ``random``) / ``formal`` from the modules
registered in METHODS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

from ..design.kinds import kind_of
from ..design.record import Design
from ..infra.errors import AxhwError
from ..design.golden import MAX_EXHAUSTIVE_BITS, random_pair_index
from ..sim.simulators import SIMULATORS

__all__ = ["METHODS", "VerifyResult", "default_method", "expand_sims", "verify_design",
           "verify_multiplier"]

MAX_COCOTB_PAIRS = 1 << 16

# method -> "module:function(design, sims, samples, seed) -> list[VerifyResult]"
METHODS: dict[str, str] = {
    "cocotb": "axhw.verify.dispatch:_cocotb_all_pairs",
    "random": "axhw.verify.dispatch:_cocotb_random",
    "exhaustive": "axhw.verify.harness:verify_exhaustive",
    "formal": "axhw.verify.formal:verify_formal",
}


@dataclass
class VerifyResult:
    method: str
    sim: str
    checked: int
    mismatches: int
    seconds: float
    exhaustive: bool
    first_mismatches: list[dict] = field(default_factory=list)
    detail: str = ""
    unit: str = "pairs"  # what `checked` counts

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


def default_method(design: Design) -> str:
    if (1 << (design.bits_a + design.bits_b)) <= MAX_COCOTB_PAIRS:
        return "cocotb"
    return "exhaustive" if design.bits_a + design.bits_b <= MAX_EXHAUSTIVE_BITS else "random"


def expand_sims(sim: str) -> list[str]:
    if sim == "both":
        return list(SIMULATORS)
    if sim not in SIMULATORS:
        raise AxhwError(f"unknown simulator {sim!r}: choose icarus, verilator or both")
    return [sim]


def verify_design(design: Design, sim: str = "both", method: str | None = None,
                  samples: int = 100_000, seed: int = 1,
                  timeout: float | None = None,
                  engine: str | None = None) -> list[VerifyResult]:
    """Verify with the hook of the design's kind (:mod:`axhw.design.kinds`)."""
    return kind_of(design).call("verify", design, sim, method, samples, seed, timeout, engine)


def verify_multiplier(design: Design, sim: str, method: str | None, samples: int, seed: int,
                      timeout: float | None, engine: str | None) -> list[VerifyResult]:
    """The `verify` hook of a multiplier: the golden model against the RTL by `method`."""
    if design.spec is None:
        raise AxhwError(f"{design.top}: no golden model to verify against (external Verilog)")
    method = method or default_method(design)
    if method not in METHODS:
        raise AxhwError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    if method == "exhaustive" and design.bits_a + design.bits_b > MAX_EXHAUSTIVE_BITS:
        raise AxhwError(f"{design.top}: 2^{design.bits_a + design.bits_b} pairs cannot all be "
                        f"simulated (exhaustive goes to {MAX_EXHAUSTIVE_BITS} input bits); use "
                        "--method random (or formal)")
    module, fn = METHODS[method].split(":")
    extra = {}
    for flag, value in (("timeout", timeout), ("engine", engine)):
        if value is not None:  # only the formal proof has a time limit and engines
            if method != "formal":
                raise AxhwError(f"--{flag} applies to --method formal only")
            extra[flag] = value
    return getattr(importlib.import_module(module), fn)(design, expand_sims(sim), samples, seed,
                                                        **extra)


def _run(design: Design, sims, index: np.ndarray, method: str, exhaustive: bool):
    from ..sim.cocotb_run import run_pairs  # noqa: PLC0415

    results = []
    for s in sims:
        r = run_pairs(s, design.top, design.verilog_path, design.ports, design.bits_a,
                      design.bits_b, design.out_bits, index, design.json_path)
        results.append(VerifyResult(method, s, r["checked"], r["mismatches"] + r["unknown_outputs"],
                                    r["seconds"], exhaustive, r["first_mismatches"]))
    return results


def _cocotb_all_pairs(design: Design, sims, samples: int, seed: int):
    n = 1 << (design.bits_a + design.bits_b)
    if n > MAX_COCOTB_PAIRS:
        raise AxhwError(f"{design.top}: {n} pairs is too many for cocotb (max {MAX_COCOTB_PAIRS}); "
                        "use --method exhaustive, formal or random")
    return _run(design, sims, np.arange(n, dtype=np.int64), "cocotb", True)


def _cocotb_random(design: Design, sims, samples: int, seed: int):
    if samples < 1:
        raise AxhwError("--samples must be at least 1")
    index = random_pair_index(design.bits_a, design.bits_b, samples, seed)
    return _run(design, sims, index, "random", False)
