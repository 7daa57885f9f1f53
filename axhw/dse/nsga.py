"""`nsga2`: MAx-DNN (arXiv 2506.21371) / ALWANN — NSGA-II (pymoo) over (energy_rel ↓, accuracy ↑
measured by emulation) at layer, filter or kernel granularity. A genome holds one candidate index
per unit (layer / output channel / kernel); the first population holds uniform assignments spread
over the library and random layer-level assignments. At filter / kernel level the first half of
the generations search the layer-level subspace, the rest refine unit by unit. Population (24,
or evals/2 when fewer) x generations <= --evals."""

from __future__ import annotations

import numpy as np

from .search import Search, register_method

__all__ = ["DEFAULT_EVALS", "POP", "layer_moves", "nsga2"]

DEFAULT_EVALS = 360
POP = 24


def _codec(search: Search):
    """(upper bound of every gene, genome -> assignment, (lo, hi) gene range of every layer,
    one gene per layer -> genome with that gene on all of the layer's units)."""
    shapes = {n: search.unit_shape(n) for n in search.layers}
    sizes = [int(np.prod(shapes[n])) if shapes[n] else 1 for n in search.layers]
    ends = np.cumsum(sizes)
    bounds = [(int(e - k), int(e)) for e, k in zip(ends, sizes)]

    def broadcast(genes) -> np.ndarray:
        return np.concatenate([np.full(k, g) for g, k in zip(np.round(genes).astype(int), sizes)])

    def decode(x) -> dict:
        return {n: search.value(n, np.asarray(x[lo:hi]).round().astype(int).reshape(shapes[n])
                                if shapes[n] else int(round(x[lo])))
                for n, (lo, hi) in zip(search.layers, bounds)}

    upper = broadcast([len(search.candidates(n)) - 1 for n in search.layers])
    return upper, decode, bounds, broadcast


def layer_moves(bounds, upper, rng, X: np.ndarray, prob: float = 0.5) -> np.ndarray:
    """With probability `prob` per genome, move one whole layer: shift all its units by ±1..2
    candidates (keeping their differences) or set them to one random design. Per-gene mutation
    alone changes about one filter per child, too small a step for a few hundred evaluations."""
    X = X.copy()
    for row in X:
        if rng.random() >= prob:
            continue
        lo, hi = bounds[rng.integers(len(bounds))]
        if rng.random() < 0.5:
            row[lo:hi] = np.clip(row[lo:hi] + rng.choice([-2, -1, 1, 2]), 0, upper[lo:hi])
        else:
            row[lo:hi] = rng.integers(upper[lo] + 1)
    return X


def _minimize(search: Search, upper: np.ndarray, decode, first: list, n_gen: int, pop: int,
              bounds=None) -> np.ndarray:
    """NSGA-II over integer genomes in [0, upper]; every evaluation is recorded by the search.
    Returns the final population's genomes."""
    from pymoo.algorithms.moo.nsga2 import NSGA2  # noqa: PLC0415
    from pymoo.core.problem import Problem  # noqa: PLC0415
    from pymoo.operators.crossover.sbx import SBX  # noqa: PLC0415
    from pymoo.operators.mutation.pm import PM  # noqa: PLC0415
    from pymoo.operators.repair.rounding import RoundingRepair  # noqa: PLC0415
    from pymoo.optimize import minimize  # noqa: PLC0415

    class Assignments(Problem):
        def __init__(self):
            super().__init__(n_var=len(upper), n_obj=2, xl=np.zeros(len(upper)), xu=upper.astype(float),
                             vtype=int)

        def _evaluate(self, X, out, *args, **kwargs):
            recs = search.evaluate([decode(x) for x in X], "nsga2")
            out["F"] = np.array([[r["energy_rel"], -r["accuracy"]] for r in recs])

    class PerGeneAndLayer(PM):
        def _do(self, problem, X, *args, **kwargs):
            X = super()._do(problem, X, *args, **kwargs)
            return layer_moves(bounds, upper, search.rng, np.round(X)).astype(float)

    mutation = (PerGeneAndLayer if bounds else PM)(prob=1.0, eta=20, vtype=float, repair=RoundingRepair())
    algorithm = NSGA2(pop_size=pop, sampling=np.array(first, dtype=float),
                      crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
                      mutation=mutation, eliminate_duplicates=True)
    res = minimize(Assignments(), algorithm, ("n_gen", max(1, n_gen)), seed=search.seed, verbose=False)
    return np.round(res.pop.get("X")).astype(int)


@register_method("nsga2")
def nsga2(search: Search) -> None:
    evals = search.evals or DEFAULT_EVALS
    pop = min(POP, max(4, evals // 2))  # at least two generations
    upper, decode, bounds, broadcast = _codec(search)
    common = [d for d in search.library.names() if all(d in search.candidates(n) for n in search.layers)]
    # The first population, one gene per layer: half uniform assignments (spread over the
    # library's energy range), half random layer-level ones. A genome drawn per filter/kernel
    # would average every layer out to a middling design.
    pick = np.unique(np.linspace(0, len(common) - 1, num=min(len(common), pop // 2)).round().astype(int))
    first = [[search.candidates(n).index(common[i]) for n in search.layers] for i in pick]
    while len(first) < pop:
        first.append([search.rng.integers(len(search.candidates(n))) for n in search.layers])
    generations = max(1, evals // pop)
    if not any(hi - lo > 1 for lo, hi in bounds):
        _minimize(search, upper, decode, first, generations, pop)
        return
    # Finer than layers: the first half of the generations search the layer-level subspace (one
    # gene per layer, broadcast to its units), the rest refine its final population unit by unit.
    # The unit space is too large for a few hundred evaluations to find the steep low-energy part
    # of the front from scratch (measured: benchmarks/dse_digits.py, RESULTS.md).
    coarse = max(1, generations // 2)
    last = _minimize(search, upper[[lo for lo, _ in bounds]], lambda x: decode(broadcast(x)),
                     first, coarse, pop)
    if generations > coarse:
        _minimize(search, upper, decode, [broadcast(x) for x in last], generations - coarse, pop, bounds)
