"""`axhw lut INPUT -o FILE`: the product LUT of a design's RTL in a file format emulators read."""

from __future__ import annotations

import click

from ..design.external import OutputFile, design_input
from ..measure.lut import FORMATS, ORDERS, SOURCES, design_lut, format_for, write_lut

__all__ = ["lut"]


@click.command()
@design_input
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="npy (int32/int64 table), tfapprox (8x8 unsigned, uint16 binary), transaxx "
                   "(8x8 C header for TransAxx/AdaPT), torchapprox (int32 256x256 .npy on int8 "
                   "codes), csv (a,b,p). Default: from the -o suffix (.npy .bin .h .csv).")
@click.option("--order", default="a,b", show_default=True, type=click.Choice(ORDERS),
              help="Which operand the table's first index is: a,b writes lut[a][b], b,a the "
                   "transpose. Convolutions of AdaPT, TransAxx and TorchApprox index "
                   "lut[weight][activation]: b,a (docs/lut-metrics.md).")
@click.option("--allow-unsigned", is_flag=True,
              help="Write an unsigned design into transaxx, whose tools quantize to signed int8.")
@click.option("-o", "--output", required=True, type=OutputFile(),
              help="Output file (written atomically).")
@click.option("--sim", default="netsim", show_default=True, type=click.Choice(SOURCES),
              help="How the RTL is simulated: gate-level netsim, or cocotb on icarus/verilator.")
@click.option("--no-cache", is_flag=True, help="Simulate again even if a cached LUT exists.")
def lut(design, fmt, order, allow_unsigned, output, sim, no_cache):
    """Simulate the RTL on every input pair and write its product LUT.

    INPUT is a design JSON from `axhw gen` or a Verilog file (see --verilog). Entries are indexed
    by the operands' raw bit patterns, [a][b] (--order b,a: [b][a]); values are products (port
    read as signed when the design is signed, at product scale for fixed-width designs). axhw
    designs are checked against their golden model on every pair. A format that cannot hold the
    design refuses it and writes nothing.
    """
    fmt = format_for(output, fmt)
    table = design_lut(design, sim=sim, use_cache=not no_cache)
    write_lut(design, table, fmt, output, order=order, allow_unsigned=allow_unsigned)
    click.echo(f"{design.top}: {table.size} entries, {fmt} [{order.replace(',', '][')}] -> {output}",
               err=True)
