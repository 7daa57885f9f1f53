"""`axhw sweep SPEC -o OUTDIR` (or the one-liner flags): a design-space sweep into one table."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import AxhwError
from ..inputs import AbsolutePath
from ..sweep import load_spec, run_sweep, spec_from_cli


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
@click.option("--pdk", "pdks", multiple=True, help="One-liner: PDK (repeatable; default osu018).")
@click.option("--pdk-root", default=None, type=AbsolutePath(file_okay=False),
              help="Root of <pdk>/*.lib[.gz] (or AXHW_PDK_ROOT).")
@click.option("--clock-ns", type=float, default=None, help="Clock period for STA/power.")
@click.option("--verify", "verify_mode", type=click.Choice(["off", "random", "exhaustive"]),
              default=None, help="Verification per design (default random).")
@click.option("-j", "--jobs", type=int, default=None, help="Local worker processes (default: cores).")
@click.option("--dask-scheduler", default=None, metavar="ADDRESS",
              help="Run the points on an existing Dask distributed cluster.")
def sweep(spec_file, outdir, type_, bits, bits_b, signed, grid, fixed, pdks, pdk_root, clock_ns,
          verify_mode, jobs, dask_scheduler):
    """Sweep families × parameters × PDKs: gen → verify → LUT → metrics → characterize."""
    if spec_file and type_:
        raise AxhwError("give either a SPEC file or --type with --grid, not both")
    if spec_file:
        spec = load_spec(spec_file)
        if pdks:
            spec.pdks = list(pdks)
        for key, val in (("pdk_root", pdk_root), ("clock_ns", clock_ns), ("verify", verify_mode)):
            if val is not None:
                setattr(spec, key, val)
    elif type_:
        spec = spec_from_cli(type_, bits, bits_b, signed, grid, fixed, pdks, pdk_root=pdk_root,
                             clock_ns=clock_ns, verify=verify_mode)
    else:
        raise AxhwError("give a SPEC file, or --type TYPE with --grid KEY=VALUES")
    if jobs is not None and jobs < 1:
        raise AxhwError("--jobs must be at least 1")
    df = run_sweep(spec, outdir, jobs=jobs, dask_scheduler=dask_scheduler)
    counts = df["status"].value_counts().to_dict() if len(df) else {}
    click.echo(f"{len(df)} rows: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())),
               err=True)
    click.echo(str(Path(outdir) / "results.parquet"))
