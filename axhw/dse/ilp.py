"""`ilp`: FAMES (arXiv 2411.18055, withdrawn by its authors in v4, Sept. 2025; docs/dse.md says
what axhw keeps and why). Minimise Σ ΔL_{l,d} x_{l,d} subject to one design per layer and
Σ MACs_l e_d x_{l,d} <= budget * E_exact (scipy.optimize.milp / HiGHS), candidates are (width,
design) pairs (mixed precision). Then measure: every chosen (layer, design) pair's single-layer loss
change is measured; pairs whose measurement disagrees with the estimate are excluded and the ILP is
re-solved, until the choice is consistent; each solution is evaluated on the evaluation set.
With --max-drop the budget is bisected for the cheapest solution that keeps the accuracy floor.
"""

from __future__ import annotations

import numpy as np

from ..infra.errors import AxhwError
from .search import Search, register_method
from .sensitivity import sensitivity

__all__ = ["ABS_TOL", "BISECTION_STEPS", "MAX_ROUNDS", "REL_TOL", "ilp", "solve_ilp",
           "solve_measured"]

MAX_ROUNDS = 8
BISECTION_STEPS = 7
# disagreement: |measured - estimate| > ABS_TOL * (reference loss) + REL_TOL * max(|measured|, |estimate|)
# (on digits-mlp sound designs agree within ~15 %; a LUT with a +2000 offset was off by > 2x)
ABS_TOL, REL_TOL = 0.02, 0.3


def solve_ilp(cost: dict[str, dict[str, float]], energy: dict[str, dict[str, float]], cap: float,
              excluded: set = frozenset()) -> tuple[dict[str, str], float] | None:
    """argmin Σ cost[l][d] over one d per layer with Σ energy[l][d] <= cap and no (l, d) in
    `excluded`; None when infeasible. Returns ({layer: design}, objective)."""
    from scipy.optimize import Bounds, LinearConstraint, milp  # noqa: PLC0415

    pairs = [(l, d) for l in cost for d in cost[l]]
    if not pairs:
        return {}, 0.0
    index = {l: i for i, l in enumerate(cost)}
    c = np.array([cost[l][d] for l, d in pairs])
    one = np.zeros((len(cost), len(pairs)))
    for j, (l, _) in enumerate(pairs):
        one[index[l], j] = 1.0
    e = np.array([[energy[l][d] for l, d in pairs]])
    upper = np.array([0.0 if p in excluded else 1.0 for p in pairs])
    res = milp(c, integrality=np.ones(len(pairs)), bounds=Bounds(np.zeros(len(pairs)), upper),
               constraints=[LinearConstraint(one, 1, 1), LinearConstraint(e, -np.inf, cap)])
    if res.status != 0 or res.x is None:
        return None
    x = np.round(res.x).astype(bool)
    choice = {l: d for (l, d), on in zip(pairs, x) if on}
    return choice, float(sum(cost[l][d] for l, d in choice.items()))


def _tables(search: Search, names: list[str]):
    """Estimated ΔL and energy of every (unit, design): a unit is a layer, or an expert whose
    layers share the design (sums over its layers)."""
    s = sensitivity(search)
    ev, lib = search.evaluator, search.library
    units = search.units
    cost = {u: {d: sum(s.estimate(l, d) for l in ls) for d in names} for u, ls in units.items()}
    energy = {u: {d: sum(ev.macs[l] for l in ls) * lib.energy(d) for d in names} for u, ls in units.items()}
    total_ref = sum(ev.macs.values()) * lib.reference_energy
    covered = {l for ls in units.values() for l in ls}
    fixed = sum(m for n, m in ev.macs.items() if n not in covered) * lib.reference_energy
    return s, cost, energy, total_ref, fixed


def solve_measured(search: Search, budget: float, excluded: set, log: list,
                   names: list[str] | None = None) -> dict | None:
    """Solve, measure the chosen pairs, exclude disagreeing ones, re-solve; evaluate each solution.
    When the exclusions leave nothing feasible, the best measured solution so far is returned,
    preferring one without an excluded pair."""
    s, cost, energy, total_ref, fixed = _tables(search, names or search.library.names())
    ref = search.library.reference
    solutions: list[dict] = []
    for _ in range(MAX_ROUNDS):
        sol = solve_ilp(cost, energy, budget * total_ref - fixed, excluded)
        if sol is None:
            break
        choice, objective = sol
        rec = search.evaluate([search.expand(choice)], "ilp", [objective])[0]
        solutions.append(rec)
        bad = []
        for l, d in choice.items():
            if d == ref:
                continue
            est, meas = cost[l][d], sum(s.measured(n, d) for n in search.units[l])
            if abs(meas - est) > ABS_TOL * s.base_loss + REL_TOL * max(abs(meas), abs(est)):
                bad.append((l, d, est, meas))
        log.append({"budget": budget, "objective": objective, "accuracy": rec["accuracy"],
                    "energy_rel": rec["energy_rel"],
                    "excluded": [{"layer": l, "design": d, "estimate": e, "measured": m} for l, d, e, m in bad]})
        if not bad:
            return rec
        excluded |= {(l, d) for l, d, _, _ in bad}
    # Nothing consistent left: the best measured solution that uses no excluded pair (a pair
    # caught disagreeing may be a broken design), else the best measured one.
    clean = [r for r in solutions if not any((u, r["layers"][search.units[u][0]]) in excluded
                                             for u in search.units)]
    return max(clean or solutions, key=lambda r: r["accuracy"]) if solutions else None


@register_method("ilp")
def ilp(search: Search) -> dict | None:
    if search.granularity not in ("layer", "expert"):
        raise AxhwError("--method ilp works at --granularity layer or expert (the FAMES "
                        "formulation); use nsga2 for filter / kernel assignments")
    excluded: set = set()
    log: list = []
    search.notes["ilp_rounds"] = log
    if search.budget is not None:
        recs = [solve_measured(search, search.budget, excluded, log)]
        lib = search.library
        ref = lib[lib.reference]
        same_width = lib.names(ref.bits)
        if len(same_width) < len(lib.names()):
            # mixed precision: also the reference-width-only solution, and keep the better
            # measured one, so adding widths never makes the result worse
            recs.append(solve_measured(search, search.budget, excluded, log, same_width))
        search.notes["ilp_excluded"] = sorted(f"{l}:{d}" for l, d in excluded)
        recs = [r for r in recs if r is not None]
        return max(recs, key=lambda r: (r["accuracy"], -r["energy_rel"])) if recs else None
    lo = search.energy_rel({n: search.candidates(n)[0] for n in search.layers})
    hi, best = 1.0, None
    for _ in range(BISECTION_STEPS):  # smallest budget whose measured solution keeps the floor
        mid = (lo + hi) / 2
        rec = solve_measured(search, mid, excluded, log)
        if rec is not None and rec["accuracy"] >= search.floor - 1e-9:
            best, hi = rec, mid
        else:
            lo = mid
    search.notes["ilp_excluded"] = sorted(f"{l}:{d}" for l, d in excluded)
    return best if best is not None else search.evaluate([search.uniform(search.library.reference)], "ilp")[0]
