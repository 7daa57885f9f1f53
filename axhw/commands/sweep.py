"""`axhw sweep SPEC -o OUTDIR` (or the one-liner flags): a design-space sweep into one table."""

from __future__ import annotations

from pathlib import Path

import click

from ..infra.errors import AxhwError
from ..design.external import AbsolutePath
from ..sweep import load_spec, run_sweep, spec_from_cli
from ..sweep.run import MAX_POINTS

__all__ = ["sweep"]


@click.command()
@click.argument("spec_file", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False),
              help="Output directory (results.parquet/csv, luts/, designs/, manifest.json).")
@click.option("--type", "type_", default=None, help="One-liner: family to sweep.")
@click.option("--bits", type=int, default=8, show_default=True, help="One-liner: operand width.")
@click.option("--bits-b", type=int, default=None, help="One-liner: width of b.")
@click.option("--signed", is_flag=True, help="One-liner: signed operands.")
@click.option("--grid", multiple=True, metavar="KEY=a..b|v1,v2",
              help="One-liner: parameter grid (repeatable).")
@click.option("-p", "fixed", multiple=True, metavar="KEY=VALUE", help="One-liner: fixed parameter.")
@click.option("--pdk", "pdks", multiple=True,
              help="PDK (repeatable; default osu018; with --liberty: a label, default custom).")
@click.option("--pdk-root", default=None, type=AbsolutePath(file_okay=False),
              help="Root of <pdk>/*.lib[.gz] (or AXHW_PDK_ROOT).")
@click.option("--liberty", multiple=True, type=AbsolutePath(dir_okay=False),
              help="Liberty file(s) of one library instead of a PDK's (repeatable; SPEC key liberty).")
@click.option("--clock-ns", type=float, default=None, help="Clock period for STA/power.")
@click.option("--activity", default=None, metavar="uniform|FILE",
              help="Operand stream for switching activity (SPEC key activity; default uniform).")
@click.option("--vectors", type=int, default=None,
              help="Activity simulation vectors (SPEC key vectors; default 2000).")
@click.option("--verify", "verify_mode", type=click.Choice(["off", "random", "exhaustive"]),
              default=None, help="Verification per design (default random).")
@click.option("-j", "--jobs", type=int, default=None, help="Local worker processes (default: cores).")
@click.option("--dask-scheduler", default=None, metavar="ADDRESS",
              help="Run the points on an existing Dask distributed cluster.")
@click.option("--max-points", type=int, default=MAX_POINTS, show_default=True,
              help="Refuse a sweep of more points than this.")
def sweep(spec_file, outdir, type_, bits, bits_b, signed, grid, fixed, pdks, pdk_root, liberty,
          clock_ns, activity, vectors, verify_mode, jobs, dask_scheduler, max_points):
    """Sweep families × parameters × PDKs: gen → verify → LUT → metrics → characterize."""
    if spec_file and type_:
        raise AxhwError("give either a SPEC file or --type with --grid, not both")
    if jobs is not None and jobs < 1:
        raise AxhwError("--jobs must be at least 1")
    if max_points < 1:
        raise AxhwError("--max-points must be at least 1")
    # Command-line values are SPEC keys (same checks); their paths are relative to here.
    options = {"pdks": list(pdks) or (["custom"] if liberty else None), "pdk_root": pdk_root,
               "liberty": [str(Path(p).resolve()) for p in liberty] or None,
               "clock_ns": clock_ns, "vectors": vectors, "verify": verify_mode,
               "activity": activity if activity in (None, "uniform") else str(Path(activity).resolve())}
    options = {k: v for k, v in options.items() if v is not None}
    if spec_file:
        spec = load_spec(spec_file, options)
    elif type_:
        spec = spec_from_cli(type_, bits, bits_b, signed, grid, fixed, options.pop("pdks", ()),
                             **options)
    else:
        raise AxhwError("give a SPEC file, or --type TYPE with --grid KEY=VALUES")

    def announce(total: int) -> None:
        click.echo(f"{spec.name}: {total:,} points x {len(spec.pdks)} PDK(s) "
                   f"({', '.join(spec.pdks)})", err=True)

    df = run_sweep(spec, outdir, jobs=jobs, dask_scheduler=dask_scheduler, max_points=max_points,
                   on_start=announce)
    counts = df["status"].value_counts().to_dict() if len(df) else {}
    click.echo(f"{len(df)} rows: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())),
               err=True)
    click.echo(str(Path(outdir) / "results.parquet"))
