"""`axhw export INPUT --format c|python|blif|netlist [-o FILE] [--pdk P]`: other model formats."""

from __future__ import annotations

import click

from ..infra.errors import AxhwError
from ..ppa.export import FORMATS, export_text, format_for
from ..infra.fileio import read_json, write_text
from ..design.external import OutputFile, design_input
from ..ppa.pdk import PDKS

__all__ = ["export"]


@click.command()
@design_input
@click.option("-f", "--format", "fmt", default=None, metavar="|".join(FORMATS),
              help="c (EvoApproxLib-style C function), python (pure-Python function), blif "
                   "(Yosys), netlist (mapped gate-level Verilog of --pdk). Default: from the -o "
                   "suffix (.c .py .blif .v).")
@click.option("-o", "--output", default=None, type=OutputFile(),
              help="Output file (written atomically); default: standard output.")
@click.option("--pdk", default=None, metavar="NAME",
              help=f"--format netlist: the cell library ({', '.join(PDKS)}).")
@click.option("--pdk-root", default=None, type=click.Path(file_okay=False),
              help="--format netlist: folder holding <pdk>/*.lib[.gz].")
@click.option("--name", default=None, metavar="IDENT",
              help="--format c|python: the function's name (default: the module name).")
@click.option("--ppa", default=None, type=click.Path(dir_okay=False, exists=True),
              help="--format c: the JSON of `axhw characterize -o` of this design; adds "
                   "EvoApproxLib's // <PDK>_PWR, _AREA and _DELAY header lines.")
def export(design, fmt, output, pdk, pdk_root, name, ppa):
    """Write INPUT as a C function, a Python function, BLIF or a mapped netlist.

    INPUT is a design JSON from `axhw gen` or a Verilog file (see --verilog). C and Python are
    derived gate by gate from the Yosys netlist of the RTL and return the output port's value
    (two's complement when signed). The C header carries EvoApproxLib's // MAE% = ... lines.
    """
    fmt = format_for(output, fmt)
    if pdk_root is not None and fmt != "netlist":
        raise AxhwError(f"--pdk-root applies to --format netlist only, not {fmt}")
    text = export_text(design, fmt, pdk=pdk, pdk_root=pdk_root, name=name,
                       ppa=read_json(ppa, "--ppa") if ppa else None)
    if output is None:
        click.echo(text, nl=False)
        return
    write_text(output, text)
    click.echo(f"{design.top}: {fmt} -> {output}", err=True)
