"""`axhw demo`: the README's main job on its embedded default design."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from ..design.record import load_design, write_design
from ..infra.errors import VerificationFailed
from ..gen.families import make
from ..design.golden import all_pairs
from ..measure.metrics import compute_metrics
from ..verify.dispatch import verify_design
from .verify import format_result


@click.command()
@click.option("-o", "--outdir", default=None, type=click.Path(file_okay=False),
              help="Keep the design in this directory (default: a temporary one, removed at the "
                   "end).")
def demo(outdir):
    """Generate an 8-bit perforated multiplier (j=2, k=3), verify it on Icarus and Verilator."""
    if outdir:
        run_demo(Path(outdir), keep=True)
        return
    with tempfile.TemporaryDirectory(prefix="axhw-demo-") as tmp:
        run_demo(Path(tmp), keep=False)


def run_demo(out: Path, keep: bool) -> None:
    spec = make("perforated", 8, start=2, count=3)
    path = write_design(spec, out)
    design = load_design(path)
    click.echo(f"generated {path}" + ("" if keep else " (temporary: -o DIR keeps it)"))
    A, B = all_pairs(spec.bits_a, spec.bits_b, spec.signed)
    m = compute_metrics(spec.golden(A, B), A * B, bits_a=spec.bits_a, bits_b=spec.bits_b,
                        signed=spec.signed)
    click.echo(f"golden model: ER {m['er']:.5f}  MED {m['mae']:.2f}  WCE {m['wce']}  "
               f"MRED {m['mred']:.5f}")
    click.echo("verifying every input pair on Icarus and Verilator (cocotb) ...")
    results = verify_design(design, sim="both")
    for r in results:
        click.echo(format_result(r))
    if not all(r.ok for r in results):
        raise VerificationFailed("demo design failed verification")
    click.echo(f"summary: {design.top} == golden model on all {results[0].checked:,} pairs "
               f"on {' and '.join(r.sim for r in results)}")
