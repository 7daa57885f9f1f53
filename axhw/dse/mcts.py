"""TransAxx's hardware-driven Monte-Carlo tree search (spec dse.md §3).

The tree's depth is the layer order: a node at depth i has chosen multipliers for layers 0..i-1
and gets one child per multiplier of layer i (all created when it is expanded). Selection takes
the child with the largest UCB x̄ + c·√(ln N / n) (an unvisited child first, the one the policy
likes most); the rollout completes the assignment by sampling multiplier j for layer i with
probability softmax_j(s_{j,i} − λ·p_{j,i}), where s_{j,i} is the metric with j alone on layer i
(normalized by the best single-layer value; a table measured first) and p_{j,i} the layer's
relative power with j (``policy="uniform"``: uniform rollouts, the ablation). The reward
metric/ref − λ·energy_rel is backed up along the path. The metric comes from ``evaluate`` (a
small cached evaluation subset in the CLI: 128 samples as in TransAxx), cached per configuration;
every evaluated configuration enters the archive, whose Pareto front the caller re-measures on the
full evaluation set. Several λ share the evaluation budget in equal parts, one tree each.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..infra.errors import AxhwError
from ..tables.pareto import pareto_mask
from .search import Search, register_method

__all__ = ["Config", "MctsResult", "POLICIES", "PREDICTOR_SAMPLES", "check_search_args", "mcts",
           "mcts_search", "predictor_task"]

POLICIES = ("hardware", "uniform")

Config = tuple[int, ...]


@dataclass
class _Node:
    n: int = 0
    total: float = 0.0
    children: list[_Node] | None = None


@dataclass
class MctsResult:
    archive: dict[Config, float]          # every evaluated configuration -> metric
    energy: dict[Config, float]           # -> energy_rel
    sensitivity: np.ndarray               # (layers, multipliers) metric with one approximate layer
    simulations: int = 0
    lambdas: tuple[float, ...] = field(default_factory=tuple)

    def front(self) -> list[Config]:
        """Configurations on the (energy_rel, metric) Pareto front, cheapest first."""
        cfgs = list(self.archive)
        vals = np.array([[self.energy[c], -self.archive[c]] for c in cfgs])
        return sorted((c for c, on in zip(cfgs, pareto_mask(vals)) if on), key=self.energy.get)


class _Budget(Exception):
    pass


def check_search_args(lambdas: Sequence[float], c: float, evals: int) -> None:
    if not lambdas or any(lam < 0 for lam in lambdas):
        raise AxhwError(f"--lambda {' '.join(map(str, lambdas)) or '(none)'}: lambda must be >= 0")
    if c < 0:
        raise AxhwError(f"--c {c} must be >= 0")
    if evals < 1:
        raise AxhwError(f"--evals {evals} must be at least 1")


def mcts_search(evaluate: Callable[[Config], float], layer_energy: np.ndarray, *, base: int,
                lambdas: Sequence[float] = (0.5, 1.5), c: float = 0.3, evals: int = 200,
                seed: int = 0, policy: str = "hardware") -> MctsResult:
    """Search assignments (one multiplier index per layer) within `evals` distinct evaluations.

    layer_energy[i, j]: energy of layer i with multiplier j relative to the whole model with the
    reference multiplier `base` everywhere (so a configuration's energy_rel is Σ_i
    layer_energy[i, cfg[i]]). The sensitivity table's evaluations count toward `evals`.
    """
    check_search_args(lambdas, c, evals)
    if policy not in POLICIES:
        raise AxhwError(f"policy={policy!r} is not valid: choose one of {', '.join(POLICIES)}")
    energy_table = np.asarray(layer_energy, dtype=np.float64)
    L, J = energy_table.shape
    rng = np.random.default_rng(seed)
    archive: dict[Config, float] = {}
    energy: dict[Config, float] = {}

    def measure(cfg: Config) -> float:
        if cfg not in archive:
            if len(archive) >= evals:
                raise _Budget
            archive[cfg] = float(evaluate(cfg))
            energy[cfg] = float(sum(energy_table[i, j] for i, j in enumerate(cfg)))
        return archive[cfg]

    sens = np.full((L, J), np.nan)
    result = MctsResult(archive, energy, sens, lambdas=tuple(lambdas))
    try:
        for i in range(L):
            for j in range(J):
                sens[i, j] = measure(tuple(j if k == i else base for k in range(L)))
    except _Budget:
        return result
    ref = float(np.abs(sens).max()) or 1.0
    s = sens / ref  # normalized: 1 = the best single-layer metric
    p = energy_table / energy_table.max(axis=1, keepdims=True)
    spent = len(archive)
    for k, lam in enumerate(lambdas):
        logits = s - lam * p
        prob = np.exp(logits - logits.max(axis=1, keepdims=True))
        prob /= prob.sum(axis=1, keepdims=True)
        if policy == "uniform":
            prob = np.full((L, J), 1.0 / J)
        stop = spent + (evals - spent) * (k + 1) // len(lambdas)
        result.simulations += _run_tree(measure, energy_table, prob, lam, c, ref, rng,
                                        lambda: len(archive) >= stop or len(archive) == J ** L,
                                        max_iter=50 * evals)
    return result


def _run_tree(measure, energy_table, prob, lam, c, ref, rng, done, max_iter: int) -> int:
    L, J = prob.shape
    root = _Node()
    sims = 0
    while not done() and sims < max_iter:
        sims += 1
        node, path, cfg = root, [root], []
        while len(cfg) < L:
            depth = len(cfg)
            if node.children is None:  # expansion: every multiplier of the next layer
                node.children = [_Node() for _ in range(J)]
            unvisited = [j for j in range(J) if node.children[j].n == 0]
            if unvisited:
                j = max(unvisited, key=lambda x: (prob[depth, x], rng.random()))
                cfg.append(j)
                path.append(node.children[j])
                break
            log_n = math.log(node.n)
            j = max(range(J), key=lambda x: node.children[x].total / node.children[x].n
                    + c * math.sqrt(log_n / node.children[x].n))
            cfg.append(j)
            node = node.children[j]
            path.append(node)
        for i in range(len(cfg), L):  # rollout with the policy
            cfg.append(int(rng.choice(J, p=prob[i])))
        cfg_t = tuple(cfg)
        try:
            metric = measure(cfg_t)
        except _Budget:
            break
        reward = metric / ref - lam * sum(energy_table[i, j] for i, j in enumerate(cfg_t))
        for n in path:
            n.n += 1
            n.total += reward
    return sims


PREDICTOR_SAMPLES = 128  # TransAxx's cached evaluation subset


def predictor_task(task, samples: int = PREDICTOR_SAMPLES):
    """The task with only the first `samples` evaluation samples (the cheap accuracy predictor)."""
    from .task import Task  # noqa: PLC0415

    subset, left = [], samples
    for x, y in task.evaluation:
        if left <= 0:
            break
        subset.append((x[:left], y[:left]))
        left -= len(x[:left])
    return Task(task.model, task.calibration, subset, task.metric, name=f"{task.name}[:{samples}]")


@register_method("mcts")
def mcts(search: Search) -> dict | None:
    """TransAxx on a Search: units are layers (or experts), candidates every library design; the
    archive's front is re-measured on the full evaluation set and the goal picks among those."""
    from .evaluate import Evaluator  # noqa: PLC0415

    if search.granularity not in ("layer", "expert"):
        raise AxhwError("--method mcts works at --granularity layer or expert")
    opts, ev, lib = search.options, search.evaluator, search.library
    lambdas, c = tuple(opts.get("lambdas") or (0.5, 1.5)), float(opts.get("c", 0.3))
    evals = search.evals or 200
    check_search_args(lambdas, c, evals)
    units, names = list(search.units), lib.names()
    total = sum(ev.macs.values()) * lib.reference_energy
    layer_energy = np.array([[sum(ev.macs[n] for n in search.units[u]) * lib.energy(d) / total
                              for d in names] for u in units])
    predictor = Evaluator(predictor_task(ev.task), lib, baseline=False, progress=False)

    def config(cfg: Config) -> dict:
        return search.expand({u: names[j] for u, j in zip(units, cfg)})

    res = mcts_search(lambda cfg: predictor.measure(config(cfg))["accuracy"], layer_energy,
                      base=names.index(lib.require_reference()), lambdas=lambdas, c=c,
                      evals=evals, seed=search.seed, policy=opts.get("policy", "hardware"))
    front = res.front()
    search.notes.update({"mcts_lambdas": list(lambdas), "mcts_c": c,
                         "mcts_predictor_samples": PREDICTOR_SAMPLES,
                         "mcts_predictor_evaluations": len(res.archive),
                         "mcts_simulations": res.simulations, "mcts_front": len(front)})
    search.evaluate([config(cfg) for cfg in front], "mcts")
    return None
