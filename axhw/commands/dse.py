"""`axhw dse search|evaluate`: design-space exploration of multiplier assignments (docs/dse.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ..infra.cliparams import FINITE, SEED
from ..infra.errors import AxhwError
from ..infra.fileio import check_can_create_in

__all__ = ["dse", "evaluate", "search"]


def _methods() -> list[str]:
    from ..dse import METHODS  # noqa: PLC0415

    return sorted(METHODS)


@click.group()
def dse():
    """Choose which approximate multiplier goes where in a DNN (per layer / filter / kernel)."""


@dse.command()
@click.option("--task", required=True, help="builtin:NAME or FILE.py:FUNC returning axhw.dse.Task.")
@click.option("--library", required=True, type=click.Path(), help="`axhw sweep` table (.parquet/.csv or its directory).")
@click.option("--pdk", default=None, help="PDK rows of the table to use (needed when it has several).")
@click.option("--bits", type=int, default=8, show_default=True, help="Reference width (its exact design is the energy baseline).")
@click.option("--method", required=True, help="ilp | nsga2 | greedy | random | uniform | mcts | tram.")
@click.option("--granularity", default="layer", show_default=True, help="layer | filter | kernel | expert (MoE experts).")
@click.option("--budget", type=FINITE, default=None, help="Energy budget relative to the exact multiplier everywhere.")
@click.option("--max-drop", type=FINITE, default=None, help="Accuracy floor: at most this many points below the exact-quantized model.")
@click.option("--evals", type=int, default=None, help="Evaluation budget (random, nsga2).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--tune", is_flag=True, help="ALWANN weight tuning of every evaluated assignment.")
@click.option("--widths", default=None, metavar="B1,B2", help="Only library designs of these widths (default all).")
@click.option("-j", "--jobs", type=int, default=1, show_default=True, help="Evaluation worker processes.")
@click.option("--dask-scheduler", default=None, metavar="ADDRESS", help="Evaluate on a Dask cluster.")
@click.option("--no-verify", is_flag=True, help="Skip the RTL verification of the chosen designs.")
@click.option("--allow-exact-sites", is_flag=True, help="Allow --budget when some multiplications cannot be emulated (they stay exact and are not in the energy).")
@click.option("--lambda", "lambdas", type=FINITE, multiple=True, help="mcts / tram: power weight λ (repeat for several; default mcts 0.5 1.5, tram 0.5).")
@click.option("--c", "ucb_c", type=FINITE, default=0.3, show_default=True, help="mcts: UCB exploration constant.")
@click.option("--columns", type=int, default=8, show_default=True, help="tram: P, the low columns θ covers.")
@click.option("--epochs", type=int, default=3, show_default=True, help="tram: phase-1 epochs (phase 3: --finetune-epochs).")
@click.option("--finetune-epochs", type=int, default=2, show_default=True, help="tram: phase-3 LUT retraining epochs.")
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Output directory.")
def search(task, library, pdk, bits, method, granularity, budget, max_drop, evals, seed, tune, widths,
           jobs, dask_scheduler, no_verify, allow_exact_sites, lambdas, ucb_c, columns, epochs,
           finetune_epochs, outdir):
    """Search an assignment; the last stdout line is a JSON summary."""
    from ..dse import search as run  # noqa: PLC0415
    from ..dse.run import dumps  # noqa: PLC0415

    if method not in _methods():
        raise AxhwError(f"--method {method!r}: choose one of {', '.join(_methods())}")
    if budget is None and max_drop is None:
        max_drop = 1.0
    if jobs < 1:
        raise AxhwError("--jobs must be at least 1")
    try:
        width_list = None if widths is None else [int(w) for w in widths.split(",")]
    except ValueError:
        raise AxhwError(f"--widths {widths!r}: give comma-separated integers") from None
    if any(lam < 0 for lam in lambdas):
        raise AxhwError(f"--lambda {' '.join(map(str, lambdas))}: lambda must be >= 0")
    if method == "tram":  # --columns is TRAM's P; other methods ignore it
        from ..gen.families.pruned import check_columns  # noqa: PLC0415

        try:
            check_columns(columns, bits)
        except AxhwError as exc:
            raise AxhwError(f"--columns {columns} with --bits {bits}: {exc}") from None
    check_can_create_in(Path(outdir).resolve().parent)  # now, not after the search
    options = {"lambdas": list(lambdas), "c": ucb_c, "columns": columns, "epochs": epochs,
               "finetune_epochs": finetune_epochs}
    summary = run(task, library, outdir, method=method, pdk=pdk, bits=bits, granularity=granularity,
                  budget=budget, max_drop=max_drop, evals=evals, seed=seed, tune=tune, jobs=jobs,
                  dask_scheduler=dask_scheduler, widths=width_list, verify_hardware=not no_verify,
                  options=options, allow_exact_sites=allow_exact_sites)
    click.echo(dumps(summary))


@dse.command()
@click.option("--task", required=True, help="builtin:NAME or FILE.py:FUNC returning axhw.dse.Task.")
@click.option("--assignment", required=True, type=click.Path(dir_okay=False), help="assignment.json.")
@click.option("--library", default=None, type=click.Path(), help="Sweep table for the energy fields.")
@click.option("--pdk", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON line.")
def evaluate(task, assignment, library, pdk, as_json):
    """Re-measure an assignment (ours or hand-written); the last stdout line is JSON."""
    from ..dse import evaluate_assignment  # noqa: PLC0415
    from ..dse.run import dumps  # noqa: PLC0415

    r = evaluate_assignment(task, assignment, library, pdk)
    if not as_json:
        click.echo(f"accuracy {_with_ci(r['accuracy'], r['accuracy_ci'])} (exact "
                   f"{_with_ci(r['accuracy_exact'], r['accuracy_exact_ci'])}, float "
                   f"{_with_ci(r['accuracy_float'], r['accuracy_float_ci'])}; vs exact: {r['vs_exact']}"
                   + ("" if r["p_vs_exact"] is None else f", McNemar p = {r['p_vs_exact']:.3g}")
                   + f", {r['samples']} samples), energy_rel "
                   + ("n/a (no --library)" if r["energy_rel"] is None else f"{r['energy_rel']:.4f}"))
    click.echo(dumps(r))


def _with_ci(accuracy: float, ci: list[float] | None) -> str:
    return f"{accuracy:.3f}" if ci is None else f"{accuracy:.3f} [95 % CI {ci[0]:.2f}, {ci[1]:.2f}]"
