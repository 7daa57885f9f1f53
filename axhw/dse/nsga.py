"""`nsga2`: MAx-DNN (arXiv 2506.21371) / ALWANN — NSGA-II (pymoo) over (energy_rel ↓, accuracy ↑
measured by emulation) at layer, filter or kernel granularity. A genome holds one candidate index
per unit (layer / output channel / kernel); the first population holds every uniform assignment
(the layer-level baseline points), the rest is random. Population (24, or evals/2 when fewer)
x generations <= --evals."""

from __future__ import annotations

import numpy as np

from .search import Search, register_method

DEFAULT_EVALS = 360
POP = 24


def _codec(search: Search):
    shapes = {n: search.unit_shape(n) for n in search.layers}
    sizes = {n: int(np.prod(s)) if s else 1 for n, s in shapes.items()}
    upper = np.concatenate([np.full(sizes[n], len(search.candidates(n)) - 1) for n in search.layers])

    def decode(x) -> dict:
        out, i = {}, 0
        for n in search.layers:
            genes = np.asarray(x[i:i + sizes[n]]).round().astype(int)
            i += sizes[n]
            out[n] = search.value(n, genes.reshape(shapes[n]) if shapes[n] else genes[0])
        return out

    def uniform(design: str) -> np.ndarray:
        return np.concatenate([np.full(sizes[n], search.candidates(n).index(design))
                               for n in search.layers])
    return upper, decode, uniform


@register_method("nsga2")
def nsga2(search: Search) -> None:
    from pymoo.algorithms.moo.nsga2 import NSGA2  # noqa: PLC0415
    from pymoo.core.problem import Problem  # noqa: PLC0415
    from pymoo.operators.crossover.sbx import SBX  # noqa: PLC0415
    from pymoo.operators.mutation.pm import PM  # noqa: PLC0415
    from pymoo.operators.repair.rounding import RoundingRepair  # noqa: PLC0415
    from pymoo.optimize import minimize  # noqa: PLC0415

    evals = search.evals or DEFAULT_EVALS
    pop = min(POP, max(4, evals // 2))  # at least two generations
    upper, decode, uniform = _codec(search)
    common = [d for d in search.library.names() if all(d in search.candidates(n) for n in search.layers)]
    first = [uniform(d) for d in common][:pop]
    while len(first) < pop:
        first.append(search.rng.integers(0, upper + 1))

    class Assignments(Problem):
        def __init__(self):
            super().__init__(n_var=len(upper), n_obj=2, xl=np.zeros(len(upper)), xu=upper.astype(float),
                             vtype=int)

        def _evaluate(self, X, out, *args, **kwargs):
            recs = search.evaluate([decode(x) for x in X], "nsga2")
            out["F"] = np.array([[r["energy_rel"], -r["accuracy"]] for r in recs])

    algorithm = NSGA2(pop_size=pop, sampling=np.array(first, dtype=float),
                      crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
                      mutation=PM(prob=1.0, eta=20, vtype=float, repair=RoundingRepair()),
                      eliminate_duplicates=True)
    minimize(Assignments(), algorithm, ("n_gen", max(1, evals // pop)), seed=search.seed, verbose=False)
