"""Baselines every result is compared with: one design everywhere (`uniform`), random feasible
assignments (`random`) and the sensitivity-ordered `greedy`."""

from __future__ import annotations

import itertools

import numpy as np

from .search import Search, register_method

__all__ = ["RANDOM_CHUNK", "RANDOM_DEFAULT_EVALS", "RANDOM_TRIES", "greedy", "random",
           "random_config", "random_feasible", "uniform"]

RANDOM_DEFAULT_EVALS = 30
RANDOM_TRIES = 200
RANDOM_CHUNK = 1000  # assignments drawn and measured at a time: memory stays flat


@register_method("uniform")
def uniform(search: Search) -> None:
    """Every design of the library on every layer (designs that fit the goal's energy first)."""
    designs = search.library.names()
    if search.budget is not None:
        designs = [d for d in designs if search.energy_rel(search.uniform(d)) <= search.budget + 1e-9] or designs
    search.evaluate([search.uniform(d) for d in designs], "uniform")


def random_config(search: Search) -> dict:
    return {n: search.value(n, search.rng.integers(0, len(search.candidates(n)), size=search.unit_shape(n)))
            for n in search.layers}


def random_feasible(search: Search, count: int):
    """Up to `count` random assignments, one at a time; under a budget, only ones within it
    (rejection sampling, at most RANDOM_TRIES draws per assignment)."""
    found = 0
    for _ in range(count * RANDOM_TRIES):
        if found == count:
            return
        c = random_config(search)
        if search.budget is None or search.energy_rel(c) <= search.budget + 1e-9:
            found += 1
            yield c


@register_method("random")
def random(search: Search) -> None:
    draws = random_feasible(search, search.evals or RANDOM_DEFAULT_EVALS)
    while chunk := list(itertools.islice(draws, RANDOM_CHUNK)):
        search.evaluate(chunk, "random")


@register_method("greedy")
def greedy(search: Search) -> None:
    """Layers from the least to the most sensitive (mean Taylor estimate over the candidates):
    each gets its cheapest design; stop when the budget is met (budget goal), or keep a layer's
    cheapest design whose measured accuracy stays above the floor (accuracy goal)."""
    from .sensitivity import estimate_table  # noqa: PLC0415

    table = estimate_table(search)
    order = sorted(search.layers, key=lambda n: float(np.mean([table[n][d] for d in table[n]])))
    ref = search.library.reference
    config = search.uniform(ref)
    if search.budget is not None:
        for n in order:
            if search.energy_rel(config) <= search.budget + 1e-9:
                break
            config[n] = search.candidates(n)[0]
        search.evaluate([dict(config)], "greedy")
        return None
    for n in order:
        for d in search.candidates(n):
            if d == config[n]:
                break
            trial = {**config, n: d}
            if search.evaluate([trial], "greedy")[0]["accuracy"] >= search.floor - 1e-9:
                config = trial
                break
    search.evaluate([config], "greedy")
    return None
