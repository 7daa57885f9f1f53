"""Measuring assignments: build the approximate model (mixed precision allowed), score it on the
task's evaluation set, cache every result on disk (a killed search resumes), and evaluate many
configurations in a process pool or on a Dask cluster with progress and ETA.

An assignment's `layers` map a layer name to a design name (layer level), a list of design names
(one per filter / output channel) or a nested list (one per kernel: output x input channel).
Every unit of one layer must have the same width and signedness (one layer quantizes one way);
the layer is quantized at its designs' width.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import hashlib
import json
import multiprocessing
import os
import time
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import AxhwError
from ..fileio import cache_root, ensure_dir, write_json
from ..parallel import dask_client, pool_worker_init
from ..torch import approximate, candidate_layers
from .energy import assignment_energy, count_macs, unit_designs
from .library import Library
from .stats import accuracy_interval, mcnemar_p, pack, unpack
from .task import Task

# The evaluation cache holds what the LUTs determine (accuracy, output error), not the energy: it
# comes from the library on every read, so a re-characterized table is not answered with old power.
ENERGY_KEYS = ("energy_pj", "energy_rel")
CACHE_VERSION = "dse-eval-2"  # bump when what a measurement returns changes


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


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def build_model(model: nn.Module, layers: dict, library: Library, calibration) -> nn.Module:
    """The approximate model of an assignment. Layers of different widths are approximated in
    separate copies (calibration runs the float model, so each copy sees the same activations)
    and their approximate modules are moved into one model."""
    known = candidate_layers(model)
    for name in layers:
        if name not in known:
            raise AxhwError(f"unknown layer {name!r}: the model's layers are {', '.join(known)}")
    widths = layer_bits(layers, library)
    groups: dict[int, dict] = {}
    for name, value in layers.items():
        groups.setdefault(widths[name][0], {})[name] = _luts(value, library)
    if len(groups) <= 1:
        bits, assign = next(iter(groups.items())) if groups else (library.bits, {"*": None})
        return approximate(model, assign, calibration, bits=bits)
    parts = {b: approximate(model, a, calibration, bits=b) for b, a in groups.items()}
    combined = copy.deepcopy(model)
    owners = {}
    for b, assign in groups.items():  # attention wrappers first, then every approximate layer
        for name in assign:
            owner = name.rpartition(".")[0]
            if known[name] == "matmul" and owner not in owners:
                owners[owner] = parts[b].get_submodule(owner)
                _set(combined, owner, owners[owner])
    for b, assign in groups.items():
        for name in assign:
            _set(combined, name, parts[b].get_submodule(name))
    return combined


@dataclass
class Recipe:
    """How a worker process rebuilds the evaluator: task spec and library table."""

    task: str
    library: str
    pdk: str | None
    bits: int


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:32]


class Evaluator:
    """Scores assignments of one task and library; counts evaluations; caches results on disk."""

    def __init__(self, task: Task, library: Library, recipe: Recipe | None = None,
                 jobs: int = 1, dask_scheduler: str | None = None, baseline: bool = True,
                 progress: bool = True):
        self.task, self.library, self.recipe = task, library, recipe
        self.jobs, self.dask_scheduler, self.progress = jobs, dask_scheduler, progress
        self.macs = count_macs(task.model, task.calibration)
        self.evaluations = 0  # configurations measured (memory or disk cache hits excluded)
        self.memo: dict[str, dict] = {}
        self._lut_sha: dict[str, str] = {}
        h = hashlib.sha256(CACHE_VERSION.encode())
        for k, v in task.model.state_dict().items():
            h.update(k.encode())
            h.update(v.detach().cpu().numpy().tobytes())
        for x, y in task.evaluation:
            h.update(x.numpy().tobytes())
            h.update(y.numpy().tobytes())
        self.context = h.hexdigest()[:24]
        self.cache_dir = cache_root() / "dse" / "evals" / self.context
        self.samples = sum(len(y) for _, y in task.evaluation)
        self.out_exact = self.correct_exact = self.correct_float = None
        if baseline:
            self.accuracy_float, out_float = task.score(task.model)
            exact = approximate(task.model, {"*": library.exact_of(library.bits, False)},
                                task.calibration, bits=library.bits)
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
        m = build_model(self.task.model, layers, self.library, self.task.calibration)
        if tune:  # ALWANN weight tuning, then the tuned float model is approximated afresh
            from .tune import tuned_model  # noqa: PLC0415

            m = build_model(tuned_model(self.task.model, m, self.task.calibration), layers,
                            self.library, self.task.calibration)
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
        return _digest([self.context, layers, shas, tune])

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
        if key in self.memo:
            return self.memo[key]
        path = self.cache_dir / f"{key}.json"
        if path.is_file():
            try:
                result = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                return None
            if "correct" not in result:  # written before per-sample outcomes were kept
                return None
            self.memo[key] = result
            return result
        return None

    def measure(self, layers: dict, tune: bool = False) -> dict:
        return self.measure_many([layers], tune, desc=None)[0]

    def measure_many(self, configs: list[dict], tune: bool = False, desc: str | None = "evaluate") -> list[dict]:
        """Measure every configuration (cached ones are read back), in parallel when configured."""
        for layers in configs:
            layer_bits(layers, self.library)  # bad names fail before any work
        keys = [self.key(c, tune) for c in configs]
        todo = {k: c for k, c in zip(keys, configs) if self._cached(k) is None}
        if todo:
            ensure_dir(self.cache_dir)
            bar = None
            if self.progress and desc is not None and len(todo) > 1:
                from tqdm import tqdm  # noqa: PLC0415

                bar = tqdm(total=len(todo), desc=desc, unit="eval", dynamic_ncols=True, disable=None)
            for key, result in self._run(todo, tune):
                result = {k: v for k, v in result.items() if k not in ENERGY_KEYS}
                self.memo[key] = result
                write_json(self.cache_dir / f"{key}.json", result)
                self.evaluations += 1
                if bar is not None:
                    bar.update(1)
            if bar is not None:
                bar.close()
        return [dict(self.memo[k], **dict(zip(ENERGY_KEYS, self.energy(c))), **self.statistics(self.memo[k]))
                for k, c in zip(keys, configs)]

    def _run(self, todo: dict[str, dict], tune: bool):
        parallel = self.recipe is not None and len(todo) > 1
        if parallel and self.dask_scheduler:
            yield from self._run_dask(todo, tune)
        elif parallel and self.jobs > 1:
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_init_worker,
                                        initargs=(os.getpid(), self.recipe)) as pool:
                futs = {pool.submit(_worker_measure, c, tune): k for k, c in todo.items()}
                for fut in cf.as_completed(futs):
                    yield futs[fut], fut.result()
        else:
            for k, c in todo.items():
                yield k, self.measure_now(c, tune)

    def _run_dask(self, todo: dict[str, dict], tune: bool):
        client = dask_client(self.dask_scheduler)
        from distributed import as_completed  # noqa: PLC0415 - importable: dask_client checked

        try:
            futs = {client.submit(_remote_measure, self.recipe, c, tune, pure=False): k
                    for k, c in todo.items()}
            for fut in as_completed(futs):
                yield futs[fut], fut.result()
        finally:
            client.close()


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


def _init_worker(parent: int, recipe: Recipe) -> None:
    pool_worker_init(parent)
    _evaluator_for(recipe)


def _worker_measure(layers: dict, tune: bool) -> dict:
    return next(iter(_WORKER.values())).measure_now(layers, tune)


def _remote_measure(recipe: Recipe, layers: dict, tune: bool) -> dict:
    return _evaluator_for(recipe).measure_now(layers, tune)
