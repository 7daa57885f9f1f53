"""A search: the evaluator, the candidates of every layer at a granularity, the goal (energy budget
or accuracy floor), every evaluated configuration, and the method registry.

A method is ``fn(search: Search) -> dict | None``: it evaluates configurations through
:meth:`Search.evaluate` (which records them) and may return the record it chooses; otherwise the
best recorded one for the goal is chosen. Register more with :func:`register_method`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..infra.errors import AxhwError
from .evaluate import Evaluator

__all__ = ["EPS", "GRANULARITIES", "MAX_EVALS", "METHODS", "Search", "register_method",
           "run_method"]

GRANULARITIES = ("layer", "filter", "kernel", "expert")
METHODS: dict[str, Callable[["Search"], dict | None]] = {}
EPS = 1e-9
MAX_EVALS = 100_000  # --evals above this is a typo, not a job (records are kept in memory)


def register_method(name: str):
    """Decorator: make `fn(search)` available as ``--method name``."""
    def deco(fn):
        METHODS[name] = fn
        return fn
    return deco


@dataclass
class Search:
    evaluator: Evaluator
    granularity: str = "layer"
    budget: float | None = None  # energy_rel ceiling, or
    max_drop: float | None = None  # accuracy floor = accuracy_exact - max_drop (points)
    evals: int | None = None  # evaluation budget of the method (None: its default)
    seed: int = 0
    tune: bool = False
    records: list[dict] = field(default_factory=list)
    notes: dict = field(default_factory=dict)  # method-specific facts for the report / JSON
    cache: dict = field(default_factory=dict, repr=False)  # shared work between methods (sensitivity)
    options: dict = field(default_factory=dict)  # method knobs (mcts/tram: lambdas, c, columns, ...)

    def __post_init__(self):
        if self.granularity not in GRANULARITIES:
            raise AxhwError(f"--granularity {self.granularity!r}: choose one of {', '.join(GRANULARITIES)}")
        if (self.budget is None) == (self.max_drop is None):
            raise AxhwError("give exactly one of --budget E_REL and --max-drop POINTS")
        if self.budget is not None and not 0 < self.budget:
            raise AxhwError(f"--budget {self.budget}: must be > 0 (energy relative to exact)")
        if self.max_drop is not None and self.max_drop < 0:
            raise AxhwError(f"--max-drop {self.max_drop}: must be >= 0")
        if self.evals is not None and self.evals < 1:
            raise AxhwError(f"--evals {self.evals}: must be >= 1")
        if self.evals is not None and self.evals > MAX_EVALS:
            raise AxhwError(f"--evals {self.evals:,}: over the limit of {MAX_EVALS:,} evaluations")
        self.rng = np.random.default_rng(self.seed)
        self.library = self.evaluator.library
        self.model = self.evaluator.task.model
        self.kinds = self.evaluator.kinds
        self.layers = [n for n in self.kinds if self.evaluator.macs.get(n, 0) > 0]
        # units sharing one design: each layer, or (expert granularity) each MoE expert
        self.units = {n: [n] for n in self.layers}
        if self.granularity == "expert":
            from .moe import expert_groups  # noqa: PLC0415

            groups = expert_groups(self.model, self.layers).items()
            self.units = {u: [n for n in ls if n in self.layers] for u, ls in groups}
            self.units = {u: ls for u, ls in self.units.items() if ls}
        if self.budget is not None:
            cheapest = self.evaluator.energy({n: self.candidates(n)[0] for n in self.layers})[1]
            if cheapest > self.budget + EPS:
                raise AxhwError(f"--budget {self.budget}: below the cheapest feasible point "
                                f"(energy_rel {cheapest:.4f} with the cheapest design everywhere)")

    # ---- the space -------------------------------------------------------------------------
    def candidates(self, layer: str) -> list[str]:
        """Designs a unit of `layer` may use, cheapest first. Layer level: every design (mixed
        precision); finer levels: designs of the reference width and signedness."""
        if self.unit_shape(layer) == ():
            return self.library.names()
        ref = self.library[self.library.reference]
        return self.library.names(ref.bits, ref.signed)

    def unit_shape(self, layer: str) -> tuple:
        """() one design per layer, (N,) per filter, (N, C) per kernel (Conv2d only)."""
        out, inputs = self.evaluator.sites[layer].channels
        if self.granularity in ("layer", "expert") or out is None:  # a product of two activations
            return ()
        if self.granularity == "kernel" and self.kinds[layer] == "conv2d":
            return (out, inputs)
        return (out,)

    def value(self, layer: str, idx) -> str | list:
        """Assignment value of `layer` from candidate indices shaped like unit_shape."""
        names = self.candidates(layer)
        a = np.asarray(idx)
        if a.ndim == 0:
            return names[int(a)]
        if a.ndim == 1:
            return [names[int(i)] for i in a]
        return [[names[int(i)] for i in row] for row in a]

    def expand(self, choice: dict) -> dict:
        """{unit: design} -> {layer: design}."""
        return {n: d for u, d in choice.items() for n in self.units[u]}

    def uniform(self, design: str) -> dict:
        return {n: design for n in self.layers}

    # ---- goal ------------------------------------------------------------------------------
    @property
    def floor(self) -> float | None:
        return None if self.max_drop is None else self.evaluator.accuracy_exact - self.max_drop

    def feasible(self, rec: dict) -> bool:
        if self.budget is not None:
            return rec["energy_rel"] <= self.budget + EPS
        return rec["accuracy"] >= self.floor - EPS

    def energy_rel(self, layers: dict) -> float:
        return self.evaluator.energy(layers)[1]

    def best(self) -> dict:
        ok = [r for r in self.records if self.feasible(r)]
        if not ok:
            raise AxhwError("no evaluated assignment meets the goal "
                            + (f"energy_rel <= {self.budget}" if self.budget is not None
                               else f"accuracy >= {self.floor:.3f}"))
        if self.budget is not None:
            return max(ok, key=lambda r: (r["accuracy"], -r["energy_rel"]))
        return min(ok, key=lambda r: (r["energy_rel"], -r["accuracy"]))

    # ---- evaluation ------------------------------------------------------------------------
    def evaluate(self, configs: list[dict], method: str, estimates: list | None = None,
                 tune: bool | None = None) -> list[dict]:
        """Measure configurations, record them (method label, estimate) and return the records."""
        tune = self.tune if tune is None else tune
        results = self.evaluator.measure_many(configs, tune, desc=method)
        recs = []
        for i, (c, r) in enumerate(zip(configs, results)):
            rec = {"method": method, "granularity": self.granularity, **r,
                   "estimated_dl": None if estimates is None else estimates[i], "layers": c}
            self.records.append(rec)
            recs.append(rec)
        return recs


def run_method(name: str, search: Search) -> dict:
    if name not in METHODS:
        raise AxhwError(f"--method {name!r}: choose one of {', '.join(sorted(METHODS))}")
    chosen = METHODS[name](search)
    return chosen if chosen is not None else search.best()
