"""The whole `axhw dse search` / `evaluate` pipeline: task + library -> method -> measured choice ->
OUTDIR (assignment.json, pareto.parquet/.csv, pareto.png, report.html, hardware/, manifest.json),
written into a temporary directory that is renamed into place only when everything succeeded.
OUTDIR is locked for the run, and an existing one is replaced only when it holds nothing but an
earlier search's unchanged outputs (its manifest); see axhw.infra.outdir."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import torch

from ..infra.errors import AxhwError
from ..infra.fileio import write_json
from ..infra.outdir import check_replaceable, claim, new_tmp_dir, replace_dir
from ..infra.runner import interruptible
from . import baselines, ilp, mcts, nsga, tram  # noqa: F401 - they register their methods
from .evaluate import Evaluator, Recipe
from .hardware import designs_of, emit_hardware
from .library import Library, load_library
from .report import hypervolume, pareto_table, write_html, write_png
from .search import Search, run_method
from .stats import accuracy_interval, mcnemar_p, verdict
from .task import Task, load_task

__all__ = ["WHAT", "dumps", "evaluate_assignment", "search"]

WHAT = "search"  # the outputs' owner, as the manifest and the refusals name it


def _context(task: Task | str, library: Library | str, pdk: str | None, bits: int, jobs: int,
             dask_scheduler: str | None, widths=None) -> Evaluator:
    recipe = None
    if isinstance(task, str) and isinstance(library, (str, Path)) and widths is None:
        recipe = Recipe(task, str(library), pdk, bits)
    lib = library if isinstance(library, Library) else load_library(library, pdk, bits)
    if widths:
        lib = lib.restrict(widths)
    t = load_task(task) if isinstance(task, str) else task
    return Evaluator(t, lib, recipe, jobs=jobs, dask_scheduler=dask_scheduler)


def search(task: Task | str, library: Library | str, outdir: str | Path, *, method: str,
           pdk: str | None = None, bits: int = 8, granularity: str = "layer",
           budget: float | None = None, max_drop: float | None = None, evals: int | None = None,
           seed: int = 0, tune: bool = False, jobs: int = 1, dask_scheduler: str | None = None,
           widths=None, verify_hardware: bool = True, options: dict | None = None,
           allow_exact_sites: bool = False) -> dict:
    """Run a search and write OUTDIR; returns the summary (the CLI's last-line JSON).

    The energy counts the emulated multiplication sites only; a `budget` on a model with sites
    that cannot be emulated (macs_exact_fraction > 0) is refused unless `allow_exact_sites`."""
    t0 = time.time()
    outdir = Path(outdir)
    check_replaceable(outdir, WHAT)  # before any work; checked again when it is replaced
    evaluator = None
    with claim(outdir, remove_if_unused=True) as out, interruptible(
            lambda: f"{evaluator.evaluations if evaluator else 0:,} evaluations done (cached)"):
        evaluator = _context(task, library, pdk, bits, jobs, dask_scheduler, widths)
        if budget is not None and evaluator.macs_exact_fraction > 0 and not allow_exact_sites:
            first, why = next(iter(evaluator.exact_sites.items()))
            raise AxhwError(f"--budget: {100 * evaluator.macs_exact_fraction:.2f} % of the model's "
                            f"MACs are at sites that cannot be emulated (e.g. {first}: {why}) and "
                            "are not in the energy; give --allow-exact-sites to search anyway")
        s = Search(evaluator, granularity, budget, max_drop, evals, seed, tune,
                   options=options or {})
        chosen = run_method(method, s)
        tmp = new_tmp_dir(out)
        try:
            summary = _write_outputs(s, method, chosen, tmp, out, verify_hardware, t0)
            replace_dir(tmp, out, WHAT)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _write_outputs(s: Search, method: str, chosen: dict, tmp: Path, outdir: Path,
                   verify_hardware: bool, t0: float) -> dict:
    ev, lib = s.evaluator, s.library
    layers = chosen["layers"]
    hw = emit_hardware(layers, lib, tmp / "hardware", verify=verify_hardware)
    assignment = {"bits": lib.bits, "layers": layers,
                  "designs": {d: f"hardware/{hw[d]['json']}" for d in designs_of(layers)}}
    if chosen.get("tuned"):
        from .tune import tuned_model  # noqa: PLC0415

        tuned = tuned_model(ev.task.model, ev.model(layers), ev.task.calibration)
        torch.save(tuned.state_dict(), tmp / "tuned_weights.pt")
        assignment["weights"] = "tuned_weights.pt"
    elif chosen.get("weights"):  # a method that retrains the network (tram)
        torch.save(s.cache["weights"][chosen["weights"]], tmp / "tuned_weights.pt")
        assignment["weights"] = "tuned_weights.pt"
    write_json(tmp / "assignment.json", assignment)
    df = pareto_table(s.records, chosen)
    df.to_parquet(tmp / "pareto.parquet", index=False)
    df.to_csv(tmp / "pareto.csv", index=False)
    summary = {
        "method": method, "granularity": s.granularity, "budget": s.budget, "max_drop": s.max_drop,
        "energy_rel": chosen["energy_rel"], "energy_pj": chosen["energy_pj"],
        "accuracy": chosen["accuracy"], "accuracy_exact": ev.accuracy_exact,
        "accuracy_float": ev.accuracy_float, **reference_statistics(ev, chosen, s),
        "macs": ev.macs, "macs_exact_fraction": ev.macs_exact_fraction, "evaluations": ev.evaluations,
        "hypervolume": hypervolume(df["energy_rel"], df["accuracy"]),
        **s.notes, "seconds": round(time.time() - t0, 2),
        "assignment": str(outdir.resolve() / "assignment.json"),
    }
    title = f"axhw dse {method} ({s.granularity}) — {ev.task.name}"
    write_png(df, tmp / "pareto.png", title)
    write_html(df, tmp / "report.html", title, summary)
    write_json(tmp / "summary.json", summary)
    return summary


def reference_statistics(ev: Evaluator, result: dict, s: Search | None = None) -> dict:
    """The intervals and paired tests of a measured result (docs/dse.md, "Statistics"):
    accuracy_ci / accuracy_exact_ci / accuracy_float_ci (Wilson 95 %), p_vs_exact and vs_exact
    (exact McNemar against the exact-multiplier model on the same samples), and, when the search
    measured one design everywhere (method uniform), the same against the best feasible such record."""
    ok = ev.outcomes(result)
    out = {"samples": ev.samples, "accuracy_ci": None if ok is None else accuracy_interval(ok),
           "accuracy_exact_ci": None if ev.correct_exact is None else accuracy_interval(ev.correct_exact),
           "accuracy_float_ci": None if ev.correct_float is None else accuracy_interval(ev.correct_float),
           "p_vs_exact": None if ok is None or ev.correct_exact is None else mcnemar_p(ok, ev.correct_exact)}
    out["vs_exact"] = verdict(out["p_vs_exact"])
    uniform = [r for r in (s.records if s else []) if r["method"] == "uniform" and s.feasible(r)]
    if uniform:
        best = max(uniform, key=lambda r: (r["accuracy"], -r["energy_rel"]))
        ref = ev.outcomes(best)
        p = None if ok is None or ref is None else mcnemar_p(ok, ref)
        out.update({"best_uniform": next(iter(best["layers"].values())),
                    "accuracy_best_uniform": best["accuracy"], "accuracy_best_uniform_ci": best["accuracy_ci"],
                    "p_vs_best_uniform": p, "vs_best_uniform": verdict(p)})
    return out


def evaluate_assignment(task: Task | str, assignment: str | Path, library: Library | str | None = None,
                        pdk: str | None = None) -> dict:
    """Re-measure an assignment file; energy fields need the library (else None)."""
    from .apply import load_assignment, with_weights  # noqa: PLC0415

    a, own = load_assignment(assignment)
    t = load_task(task) if isinstance(task, str) else task
    if library is not None:
        lib = library if isinstance(library, Library) else load_library(library, pdk, a["bits"])
        for d in own.designs:
            lib[d]  # noqa: B018 - every design must be in the library (one-line error otherwise)
        lib.luts.update({d: own.lut(d) for d in own.designs})  # the tables the assignment names
    else:
        lib = own
    t.model = with_weights(t.model, a)
    ev = Evaluator(t, lib, progress=False)
    r = ev.measure_now(a["layers"])
    return {"accuracy": r["accuracy"], "energy_rel": r["energy_rel"], "energy_pj": r["energy_pj"],
            "macs": ev.macs, "macs_exact_fraction": ev.macs_exact_fraction,
            "accuracy_exact": ev.accuracy_exact, "accuracy_float": ev.accuracy_float,
            **reference_statistics(ev, r), "output_error": r["output_error"]}


def dumps(summary: dict) -> str:
    return json.dumps(summary, separators=(", ", ": "))
