"""TRAM's multiplier side (spec dse.md §4): the per-column power model and phase 2, which maps a
trained column vector θ to a real circuit (an axhw ``pruned`` design, else ``exact``).

Power model: Power_c = Σ_gate cost_gate · N_{c,gate} over the AND gates, half adders and full
adders of column c of the exact unsigned array multiplier (``ArrayStructure.column_gates``);
f(θ) = (Σ_c Power_c − Σ_{c<P} θ_c·Power_c) / Σ_c Power_c. TRAM's costs are AND 1.0, HA 1.822,
FA 4.470; ``benchmarks/tram_power_model.py`` checks them against characterized power.

Phase 2: the target is Y_ref(a,b) = a·b − Σ_c 2^c·θ_c·S_c(a,b) over all operand pairs. Starting
from the exact array, the columns are walked from the least significant; each candidate signal of
the column (its partial products, then each adder's sum and carry) is tentatively tied to 0 and
kept only if the mean squared error to Y_ref strictly decreases. The walk runs twice, from the
exact multiplier and from θ rounded to {0,1} (whole columns removed), and the better end point is
returned, so the mapped circuit is never worse than rounding θ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..infra.errors import AxhwError
from ..gen.families import make
from ..gen.families.base import Multiplier
from ..gen.families.pruned import PrunedMultiplier, array_structure, check_columns, ties_hex

__all__ = ["Mapping", "TRAM_COSTS", "column_power", "column_sums", "map_theta", "relative_power",
           "target"]

TRAM_COSTS = {"and": 1.0, "ha": 1.822, "fa": 4.470}


def column_power(bits: int, costs: dict[str, float] | None = None, tree: str = "array") -> np.ndarray:
    """Power_c for every column c of the exact unsigned bits x bits multiplier (relative units)."""
    costs = TRAM_COSTS if costs is None else costs
    gates = array_structure(bits, bits, tree).column_gates()
    return np.array([sum(costs[g] * n for g, n in gates[c].items()) for c in sorted(gates)])


def relative_power(theta, power: np.ndarray) -> float:
    """f(θ) with θ over the low len(θ) columns."""
    theta = np.clip(np.asarray(theta, dtype=np.float64), 0.0, 1.0)
    return float((power.sum() - (theta * power[:len(theta)]).sum()) / power.sum())


def column_sums(bits: int, columns: int) -> np.ndarray:
    """S[c, a, b] = Σ_{i+j=c} a_j·b_i for c < columns over all unsigned operand pairs."""
    v = np.arange(1 << bits)
    planes = (v[None, :] >> np.arange(bits)[:, None]) & 1  # [bit, value]
    out = np.zeros((columns, 1 << bits, 1 << bits), dtype=np.int64)
    for c in range(columns):
        for i in range(max(0, c - bits + 1), min(c, bits - 1) + 1):
            out[c] += np.outer(planes[c - i], planes[i])
    return out


def target(theta, bits: int) -> np.ndarray:
    """Y_ref[a, b] = a·b − Σ_c 2^c·θ_c·S_c(a, b) (float64)."""
    theta = np.clip(np.asarray(theta, dtype=np.float64), 0.0, 1.0)
    check_columns(len(theta), bits)
    v = np.arange(1 << bits, dtype=np.float64)
    weights = theta * 2.0 ** np.arange(len(theta))
    return np.outer(v, v) - np.tensordot(weights, column_sums(bits, len(theta)), axes=1)


@dataclass(frozen=True)
class Mapping:
    """Phase 2's result: the circuit, its MSE to Y_ref, and rounding θ's MSE for comparison."""

    spec: Multiplier
    mse: float
    rounded_mse: float
    tied: int  # candidate signals tied to 0


def _spec(bits: int, tied: set[int], tree: str) -> Multiplier:
    if not tied:
        return make("exact", bits, tree=tree)
    return PrunedMultiplier(bits_a=bits, bits_b=bits, ties=ties_hex(tied), tree=tree)


class _Scorer:
    def __init__(self, bits: int, ref: np.ndarray, tree: str):
        self.bits, self.ref, self.tree = bits, ref, tree
        v = np.arange(1 << bits)
        self.A, self.B = np.meshgrid(v, v, indexing="ij")

    def mse(self, tied: set[int]) -> float:
        out = _spec(self.bits, tied, self.tree).golden(self.A, self.B)
        return float(np.mean((out - self.ref) ** 2))


def map_theta(theta, bits: int = 8, tree: str = "array") -> Mapping:
    """Phase 2: θ* (over the low len(θ) columns) -> the circuit (see module doc)."""
    theta = np.clip(np.asarray(theta, dtype=np.float64), 0.0, 1.0)
    check_columns(len(theta), bits)
    cands = array_structure(bits, bits, tree).candidates
    scorer = _Scorer(bits, target(theta, bits), tree)
    rounded = {k for k, (name, c) in enumerate(cands)
               if c < len(theta) and theta[c] >= 0.5 and name.startswith("pp_")}
    rounded_mse = scorer.mse(rounded)
    best: tuple[float, set[int]] | None = None
    for start in (set(), rounded):
        tied, err = set(start), scorer.mse(start)
        for col in range(len(theta)):
            for k in (k for k, (_, c) in enumerate(cands) if c == col and k not in tied):
                trial = scorer.mse(tied | {k})
                if trial < err:
                    tied, err = tied | {k}, trial
        if best is None or err < best[0]:
            best = (err, tied)
    err, tied = best
    return Mapping(_spec(bits, tied, tree), err, rounded_mse, len(tied))
