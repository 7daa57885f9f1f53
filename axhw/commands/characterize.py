"""`axhw characterize INPUT --pdk NAME`: error metrics + area, delay and power on a cell library."""

from __future__ import annotations

import json

import click

from ..ppa.activity import ACTIVITY_MODELS, ZERO_DELAY
from ..infra.cliparams import SEED
from ..ppa.characterize import (DEFAULT_CLOCK_NS, DEFAULT_SEED, DEFAULT_VECTORS, check_clock,
                                characterize as run)
from ..infra.fileio import write_json
from ..design.external import AbsolutePath, OutputFile, design_input
from ..ppa.pdk import DEFAULT_PDK, PDK_ROOT_ENV, PDKS, load_library
from ..design.kinds import kind_of
from .metrics import format_table as metrics_table

__all__ = ["PPA_ROWS", "characterize", "format_ppa"]

# (key, label, format) of the PPA part of the human table.
PPA_ROWS = [("area_um2", "area (um^2)", "{:.3f}"), ("cells", "cells", "{:d}"),
            ("delay_ns", "critical path (ns)", "{:.4f}"),
            ("power_mw", "power total (mW)", "{:.6g}"), ("dynamic_mw", "  dynamic (mW)", "{:.6g}"),
            ("internal_mw", "    internal (mW)", "{:.6g}"),
            ("switching_mw", "    switching (mW)", "{:.6g}"),
            ("leakage_mw", "  leakage (mW)", "{:.6g}"), ("energy_pj", "energy / op (pJ)", "{:.6g}"),
            ("mean_toggle_rate", "mean net toggle rate", "{:.4f}")]


def format_ppa(r: dict) -> str:
    stream = (f"{r['vectors']:,} uniform random operand pairs, seed {r['seed']}"
              if r["activity"] == "uniform" else f"{r['vectors']:,} operand pairs from {r['activity']}")
    lines = [f"{r['design']} on {r['pdk']} ({r['library']}), clock {r['clock_ns']:g} ns "
             f"({1e3 / r['clock_ns']:.6g} MHz)"]
    width = max(len(label) for _, label, _ in PPA_ROWS)
    lines += [f"  {label:<{width}}  {fmt.format(r[key])}" for key, label, fmt in PPA_ROWS]
    if r.get("delay_note"):
        lines.append(f"  ({r['delay_note']})")
    lines.append(f"  (activity: {stream}, {r['activity_model']} simulation; inputs driven by {r['input_drive']}, outputs loaded with "
                 f"{r['output_load_ff']:.4g} fF = {r['output_load']}; {r['tools']['yosys']}, "
                 f"{r['tools']['opensta']})")
    return "\n".join(lines)


@click.command()
@design_input
@click.option("--pdk", default=None, metavar="NAME",
              help=f"Cell library: {', '.join(PDKS)} (default {DEFAULT_PDK}; with --liberty: a "
                   "label).")
@click.option("--pdk-root", default=None, type=AbsolutePath(file_okay=False),
              help=f"Folder holding <pdk>/*.lib[.gz] (default ${PDK_ROOT_ENV}); searched before "
                   "the libraries bundled with axhw (`axhw pdks` lists them).")
@click.option("--liberty", multiple=True, type=AbsolutePath(dir_okay=False),
              help="Liberty file(s) to use instead of a PDK's (repeatable: one library).")
@click.option("--clock-ns", default=DEFAULT_CLOCK_NS, show_default=True, type=float,
              help="Clock period: ABC's delay target, the STA constraint, the power frequency.")
@click.option("--activity", default="uniform", show_default=True, metavar="uniform|FILE",
              help="Operand stream for switching activity: uniform random, or a CSV 'a,b' of "
                   "operand pairs applied in order.")
@click.option("--activity-model", default=ZERO_DELAY, show_default=True,
              type=click.Choice(ACTIVITY_MODELS),
              help="How the mapped netlist is simulated for toggles: zero-delay (one evaluation "
                   "per operand pair; the better ranking) or glitch (event-driven with Liberty "
                   "cell delays, counts glitches; the better absolute estimate).")
@click.option("--vectors", default=DEFAULT_VECTORS, show_default=True,
              help="Uniform stream: number of operand pairs.")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=SEED, help="Uniform stream: seed.")
@click.option("--no-cache", is_flag=True, help="Recompute even if a cached result exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("-o", "--output", default=None, type=OutputFile(),
              help="Also write the result JSON to this file (atomically).")
def characterize(design, pdk, pdk_root, liberty, clock_ns, activity, activity_model, vectors,
                 seed, no_cache, as_json, output):
    """Synthesize INPUT onto a cell library (Yosys), time it (OpenSTA) and estimate its power:
    OpenSTA's per-pin energies x the toggles of the simulated mapped netlist; print them with the
    error metrics.

    INPUT is a design JSON from `axhw gen` or a Verilog file (see --verilog). Units: ns, um^2,
    mW, pJ. Results are cached per Verilog, library, options and flow version.
    """
    check_clock(clock_ns)  # before the (slow) library parse
    library = load_library(pdk, pdk_root=pdk_root, liberty=liberty)
    result = run(design, library, clock_ns=clock_ns, vectors=vectors, seed=seed,
                 activity_file=None if activity == "uniform" else activity,
                 use_cache=not no_cache, activity_model=activity_model)
    if output:
        write_json(output, result)
    kind = kind_of(design)
    if kind.has("format_characterization"):  # e.g. an array: PPA and energy per MAC, no errors
        click.echo(json.dumps(result, indent=2) if as_json
                   else kind.call("format_characterization", result))
        return
    click.echo(json.dumps(result, indent=2) if as_json
               else metrics_table(result) + "\n" + format_ppa(result))
