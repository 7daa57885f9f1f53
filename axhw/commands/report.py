"""`axhw report OUTDIR`: Pareto plots (PNG) and an interactive HTML report of a sweep."""

from __future__ import annotations

import click

from ..tables.report import write_report

__all__ = ["report"]


@click.command()
@click.argument("outdir", type=click.Path(file_okay=False))
def report(outdir):
    """Write OUTDIR/plots/pareto_*.png and OUTDIR/report.html from OUTDIR/results.parquet."""
    out = write_report(outdir)
    for p in out["png"]:
        click.echo(str(p))
    click.echo(str(out["html"]))
