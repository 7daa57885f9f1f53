"""Measuring assignments: build the approximate model (mixed precision allowed), score it on the
task's evaluation set, cache every result on disk (a killed search resumes), and evaluate many
configurations in a process pool or on a Dask cluster with progress and ETA.

An assignment's `layers` map a layer name to a design name (layer level), a list of design names
(one per filter / output channel) or a nested list (one per kernel: output x input channel).
Every unit of one layer must have the same width and signedness (one layer quantizes one way);
the layer is quantized at its designs' width.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import time
import warnings
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from ..infra.errors import AxhwError
from ..infra.cache import Cache
from ..infra.runner import Runner
from ..torch import approximate, candidate_layers
from ..torch.api import exact_fraction, site_table
from ..torch.sites import ExactSitesWarning
from .energy import assignment_energy, unit_designs
from .fingerprint import task_fingerprint
from .library import Library
from .stats import accuracy_interval, mcnemar_p, pack, unpack
from .task import Task, user_code

__all__ = ["ENERGY_KEYS", "EVALS", "Evaluator", "Recipe", "build_model", "layer_bits"]

log = logging.getLogger(__name__)

# The evaluation cache holds what the LUTs determine (accuracy, output error), not the energy: it
# comes from the library on every read, so a re-characterized table is not answered with old power.
ENERGY_KEYS = ("energy_pj", "energy_rel")
EVALS = Cache("dse/evals")  # bump its version when what a measurement returns changes


def layer_bits(layers: dict, library: Library) -> dict[str, tuple[int, bool]]:
    """{layer: (bits, signed)} of an assignment; one width and signedness per layer."""
    out = {}
    for name, value in layers.items():
        kinds = {(library[d].bits, library[d].signed) for d in unit_designs(value)}
        if len(kinds) != 1:
            raise AxhwError(f"layer {name}: its designs mix widths or signedness "
                            f"({sorted(kinds)}); one layer quantizes its operands one way")
        out[name] = kinds.pop()
    return out


def _luts(value, library: Library):
    if isinstance(value, str):
        return library.lut(value)
    return [_luts(v, library) for v in value]


def build_model(model: nn.Module, layers: dict, library: Library, calibration,
                known: dict | None = None) -> nn.Module:
    """The approximate model of an assignment, each layer quantized at its designs' width (mixed
    precision: calibration runs the float model, so every width sees the same activations).
    `known`: the model's site kinds when the caller has them (else traced on the calibration)."""
    known = known if known is not None else candidate_layers(model, calibration[0])
    for name in layers:
        if name not in known:
            raise AxhwError(f"unknown layer {name!r}: the model's layers are {', '.join(known)}")
    widths = layer_bits(layers, library)
    assign = {glob.escape(name): _luts(value, library) for name, value in layers.items()}
    bits = {glob.escape(name): widths[name][0] for name in layers}
    return _approximate(model, assign or {"*": None}, calibration, bits=bits or library.bits)


def _approximate(model: nn.Module, assign: dict, calibration, bits) -> nn.Module:
    """approximate() without its exact-sites warning: the DSE reports macs_exact_fraction."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExactSitesWarning)
        return approximate(model, assign, calibration, bits=bits)


@dataclass
class Recipe:
    """How a worker process rebuilds the evaluator: task spec and library table."""

    task: str
    library: str
    pdk: str | None
    bits: int


class Evaluator:
    """Scores assignments of one task and library; counts evaluations; caches results on disk."""

    def __init__(self, task: Task, library: Library, recipe: Recipe | None = None,
                 jobs: int = 1, dask_scheduler: str | None = None, baseline: bool = True,
                 progress: bool = True):
        self.task, self.library, self.recipe = task, library, recipe
        self.jobs, self.dask_scheduler, self.progress = jobs, dask_scheduler, progress
        with user_code(f"task {task.name}: the model, run on the calibration data,"):
            self.sites = sites = site_table(task.model, task.calibration)
        self.macs = {s.name: int(round(s.macs)) for s in sites.values() if s.emulated}
        self.kinds = {s.name: s.kind for s in sites.values() if s.emulated}
        # energy counts the emulated sites only; this share of the MACs runs exact float outside it
        self.macs_exact_fraction = exact_fraction(sites)
        self.exact_sites = {s.name: s.reason for s in sites.values() if not s.emulated}
        self.evaluations = 0  # configurations measured (memory or disk cache hits excluded)
        self.memo: dict[str, dict] = {}
        self._lut_sha: dict[str, str] = {}
        # The disk cache is keyed by everything that can change a result; a task with a part that
        # cannot be fingerprinted is measured afresh every run (memory cache only).
        self.context = task_fingerprint(task, EVALS.version)  # entries under EVALS/<context>/
        if self.context is None:
            log.warning("task %s holds an object that cannot be fingerprinted: the evaluation "
                        "cache is off for it", task.name)
        self.samples = sum(len(y) for _, y in task.evaluation)
        self.out_exact = self.correct_exact = self.correct_float = None
        if baseline:
            self.accuracy_float, out_float = task.score(task.model)
            exact = _approximate(task.model, {"*": library.exact_of(library.bits, False)},
                                 task.calibration, library.bits)
            self.accuracy_exact, self.out_exact = task.score(exact)
            self.correct_float, self.correct_exact = task.outcomes(out_float), task.outcomes(self.out_exact)

    def packed_outcomes(self, outputs: torch.Tensor) -> str | None:
        """The per-sample outcomes of `outputs`, packed for the cache (None: the task has none)."""
        ok = self.task.outcomes(outputs)
        return None if ok is None else pack(ok)

    def outcomes(self, result: dict):
        """Per-sample outcomes (bool array) of a measured result, or None."""
        packed = result.get("correct")
        return None if packed is None else unpack(packed, self.samples)

    def statistics(self, result: dict) -> dict:
        """accuracy_ci (Wilson 95 %, in the accuracy's unit) and p_vs_exact (exact McNemar against
        the exact-multiplier model on the same samples) of a measured result; None where the task
        has no per-sample outcomes."""
        ok = self.outcomes(result)
        if ok is None:
            return {"accuracy_ci": None, "p_vs_exact": None}
        return {"accuracy_ci": accuracy_interval(ok),
                "p_vs_exact": None if self.correct_exact is None else mcnemar_p(ok, self.correct_exact)}

    def model(self, layers: dict, tune: bool = False) -> nn.Module:
        m = build_model(self.task.model, layers, self.library, self.task.calibration, self.kinds)
        if tune:  # ALWANN weight tuning, then the tuned float model is approximated afresh
            from .tune import tuned_model  # noqa: PLC0415

            m = build_model(tuned_model(self.task.model, m, self.task.calibration), layers,
                            self.library, self.task.calibration, self.kinds)
        return m

    def energy(self, layers: dict) -> tuple[float | None, float | None]:
        """(pJ per inference, relative to exact); (None, None) without the library's reference."""
        if self.library.reference is None:
            return None, None
        return assignment_energy(layers, self.macs, self.library)

    def key(self, layers: dict, tune: bool = False) -> str:
        shas = {}
        for d in sorted({d for v in layers.values() for d in unit_designs(v)}):
            if d not in self._lut_sha:
                self._lut_sha[d] = hashlib.sha256(self.library.lut(d).table.tobytes()).hexdigest()
            shas[d] = [self._lut_sha[d], self.library[d].signed]
        return EVALS.key(self.context, layers, shas, tune)

    def measure_now(self, layers: dict, tune: bool = False) -> dict:
        """Score one assignment here, without caches: accuracy, output error vs the exact model.
        With `tune`, the ALWANN-tuned weights are kept only when their accuracy is not lower
        (`tuned` says which was kept), so tuning never costs accuracy."""
        t0 = time.time()
        acc, out = self.task.score(self.model(layers))
        tuned = False
        if tune:
            acc_t, out_t = self.task.score(self.model(layers, tune=True))
            if acc_t >= acc:
                acc, out, tuned = acc_t, out_t, True
        err = None
        if self.out_exact is not None:
            ref = self.out_exact.abs().mean().clamp_min(1e-12)
            err = float((out - self.out_exact).abs().mean() / ref)
        pj, rel = self.energy(layers)
        return {"accuracy": acc, "output_error": err, "energy_pj": pj, "energy_rel": rel,
                "tuned": tuned, "correct": self.packed_outcomes(out), "seconds": time.time() - t0}

    def _cached(self, key: str) -> dict | None:
        if key not in self.memo:
            entry = None if self.context is None else EVALS.get(f"{self.context}/{key}")
            if entry is None:
                return None
            self.memo[key] = entry
        return self.memo[key]

    def measure(self, layers: dict, tune: bool = False) -> dict:
        return self.measure_many([layers], tune, desc=None)[0]

    def measure_many(self, configs: list[dict], tune: bool = False, desc: str | None = "evaluate") -> list[dict]:
        """Measure every configuration (cached ones are read back), in parallel when configured."""
        for layers in configs:
            layer_bits(layers, self.library)  # bad names fail before any work
        keys = [self.key(c, tune) for c in configs]
        todo = {k: c for k, c in zip(keys, configs) if self._cached(k) is None}
        if todo:
            def store(layers: dict, result: dict) -> None:
                key = self.key(layers, tune)
                result = {k: v for k, v in result.items() if k not in ENERGY_KEYS}
                self.memo[key] = result
                if self.context is not None:
                    EVALS.put(f"{self.context}/{key}", result)
                self.evaluations += 1

            remote = self.recipe is not None  # an in-memory task cannot travel to a worker
            with Runner(jobs=self.jobs if remote else 1,
                        dask_scheduler=self.dask_scheduler if remote else None,
                        progress=self.progress and len(todo) > 1, unit="eval") as runner:
                fn = (partial(_remote_measure, self.recipe, tune=tune)
                      if runner.parallel(len(todo)) else partial(self.measure_now, tune=tune))
                runner.run(fn, todo.values(), store, total=len(todo), desc=desc)
        return [dict(self.memo[k], **dict(zip(ENERGY_KEYS, self.energy(c))),
                     **self.statistics(self.memo[k]))
                for k, c in zip(keys, configs)]


_WORKER: dict[str, Evaluator] = {}


def _evaluator_for(recipe: Recipe) -> Evaluator:
    from .library import load_library  # noqa: PLC0415
    from .task import load_task  # noqa: PLC0415

    key = json.dumps(recipe.__dict__, sort_keys=True)
    if key not in _WORKER:
        torch.set_num_threads(1)
        _WORKER[key] = Evaluator(load_task(recipe.task), load_library(recipe.library, recipe.pdk, recipe.bits),
                                 recipe, progress=False)
    return _WORKER[key]


def _remote_measure(recipe: Recipe, layers: dict, tune: bool) -> dict:
    """One measurement in a pool or Dask worker (its evaluator is built once per process)."""
    return _evaluator_for(recipe).measure_now(layers, tune)
