"""`axhw lut INPUT -o FILE`: the product LUT of a design's RTL in a file format emulators read."""

from __future__ import annotations

import click

from ..design.external import design_input
from ..measure.lut import FORMATS, SOURCES, design_lut, format_for, write_lut


@click.command()
@design_input
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="npy (int32/int64 [a][b]), tfapprox (8x8 uint16 binary), transaxx (C header), "
                   "csv (a,b,p). Default: from the -o suffix (.npy .bin .h .csv).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file (written atomically).")
@click.option("--sim", default="netsim", show_default=True, type=click.Choice(SOURCES),
              help="How the RTL is simulated: gate-level netsim, or cocotb on icarus/verilator.")
@click.option("--no-cache", is_flag=True, help="Simulate again even if a cached LUT exists.")
def lut(design, fmt, output, sim, no_cache):
    """Simulate the RTL on every input pair and write its product LUT.

    INPUT is a design JSON from `axhw gen` or a Verilog file (see --verilog). Entries are indexed
    by the operands' raw bit patterns; values are products (port read as signed when the design is
    signed, at product scale for fixed-width designs). axhw designs are checked against their
    golden model on every pair.
    """
    fmt = format_for(output, fmt)
    table = design_lut(design, sim=sim, use_cache=not no_cache)
    write_lut(design, table, fmt, output)
    click.echo(f"{design.top}: {table.size} entries, {fmt} -> {output}", err=True)
