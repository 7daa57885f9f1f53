"""`axhw metrics INPUT`: error metrics of a design against the exact product."""

from __future__ import annotations

import json

import click

from ..infra.cliparams import SEED
from ..design.external import design_input
from ..measure.lut import SOURCES
from ..measure.metrics import (DEFAULT_NMED_NORM, DEFAULT_SAMPLES, NMED_NORMS, design_metrics,
                               load_distribution)

__all__ = ["ROWS", "format_table", "metrics"]

# (key, label, format) of the human table.
ROWS = [("er", "ER (error rate)", "{:.6g}"), ("mae", "MAE / MED", "{:.6g}"),
        ("nmed", "NMED", "{:.6g}"), ("wce", "WCE", "{:d}"), ("mse", "MSE", "{:.6g}"),
        ("rmse", "RMSE", "{:.6g}"), ("mre", "MRE / MRED", "{:.6g}"), ("wcre", "WCRE", "{:.6g}"),
        ("bias", "bias (mean error)", "{:.6g}")]


def format_table(m: dict) -> str:
    lines = [f"{m['design']}: {m['bits_a']}x{m['bits_b']} {'signed' if m['signed'] else 'unsigned'}"
             f", {m['pairs']:,} pairs, {m['distribution']}, source: {m['source']}"]
    width = max(len(label) for _, label, _ in ROWS)
    for key, label, fmt in ROWS:
        value = m[key]
        text = "n/a" if value is None else fmt.format(value)
        ci = (m.get("ci95") or {}).get(key)
        if ci:
            text += f"  (95 % CI {ci[0]:.6g} .. {ci[1]:.6g})"
        lines.append(f"  {label:<{width}}  {text}")
    lines.append(f"  (fractions, not percent; NMED = MAE / {m['nmed_denominator']} [{m['nmed_norm']}]"
                 f"; MRE/WCRE over {m['mre_pairs']:,} pairs with exact product != 0)")
    if m.get("note"):
        lines.append(f"  note: {m['note']}")
    return "\n".join(lines)


@click.command()
@design_input
@click.option("--dist", default="uniform", show_default=True, metavar="uniform|FILE",
              help="Operand distribution: joint histogram .npy [a_raw][b_raw], .npz with "
                   "marginals a and b (or joint), or A.npy,B.npy marginals.")
@click.option("--nmed-norm", default=DEFAULT_NMED_NORM, show_default=True,
              type=click.Choice(NMED_NORMS),
              help="NMED denominator: 2^2n-1 (TRAM/DATE'25), maxprod (largest |exact|), 2^2n.")
@click.option("--sim", default="netsim", show_default=True, type=click.Choice(SOURCES),
              help="How the RTL is simulated for the LUT (up to 16 input bits).")
@click.option("--samples", type=int, default=DEFAULT_SAMPLES, show_default=True,
              help="Random pairs for designs past 16x16 (metrics sampled, with 95 % CIs).")
@click.option("--seed", type=SEED, default=1, show_default=True, help="Seed of those pairs.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def metrics(design, dist, nmed_norm, sim, samples, seed, as_json):
    """Exhaustive error metrics (ER, MAE, WCE, MSE, MRE, WCRE, NMED, bias) of INPUT.

    INPUT is a design JSON from `axhw gen` or a Verilog file (see --verilog). Values are
    fractions; MRE and WCRE skip pairs whose exact product is 0 (EvoApproxLib convention).
    Past 16x16 the pairs are sampled (--samples): each mean gets its 95 % confidence interval.
    """
    distribution = None if dist == "uniform" else load_distribution(dist, design.bits_a,
                                                                    design.bits_b)
    m = design_metrics(design, dist=distribution, nmed_norm=nmed_norm, sim=sim, samples=samples,
                       seed=seed)
    click.echo(json.dumps(m, indent=2) if as_json else format_table(m))
