"""`axhw gen`: write <top>.v and <top>.json for a multiplier family (or a systolic array)."""

from __future__ import annotations

import click

from ..design.kinds import kind_named, kinds
from ..design.record import write_design
from ..gen.families import family_names, get_family
from ..gen.families.base import MIN_BITS, parse_kv

__all__ = ["families", "gen", "params_table"]


def params_table(name: str) -> str:
    cls = get_family(name)
    rows = [("parameter", "default", "range", "meaning")] + cls.describe_params()
    widths = [max(len(str(r[i])) for r in rows) for i in range(3)]
    lines = [f"{cls.family}: {cls.description}"]
    for r in rows:
        lines.append("  " + "  ".join(str(r[i]).ljust(widths[i]) for i in range(3)) + "  " + r[3])
    bits = f"{MIN_BITS}..{cls.max_bits}"
    lines.append(f"  (--bits {bits}, --bits-b {bits}, --signed)")
    return "\n".join(lines)


@click.command()
@click.option("--type", "type_", required=True, metavar="TYPE",
              help="Family: " + ", ".join(family_names()) + " (see `axhw families`), or systolic (an "
                   "array of them: --type systolic --help-params).")
@click.option("--bits", type=int, default=8, show_default=True, help="Width of operand a.")
@click.option("--bits-b", type=int, default=None, help="Width of operand b (default: --bits).")
@click.option("--signed", is_flag=True, help="Two's complement operands.")
@click.option("-p", "params", multiple=True, metavar="KEY=VALUE", help="Family parameter (repeatable).")
@click.option("-o", "--outdir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Output directory.")
@click.option("--help-params", is_flag=True, help="List the family's parameters and exit.")
def gen(type_, bits, bits_b, signed, params, outdir, help_params):
    """Generate Verilog + JSON sidecar; prints the JSON path last."""
    kind = kind_named(type_)
    if kind is not None:  # another kind of design (a systolic array), not a multiplier family
        if help_params:
            click.echo(kind.call("params_help"))
            return
        summary, path = kind.call("gen", bits, bits if bits_b is None else bits_b, signed,
                                  parse_kv(params), outdir)
        click.echo(summary, err=True)
        click.echo(str(path))
        return
    if help_params:
        click.echo(params_table(type_))
        return
    kv = parse_kv(params)
    cls = get_family(type_)
    spec = cls.from_strings(bits, bits if bits_b is None else bits_b, signed, kv)
    path = write_design(spec, outdir)
    click.echo(f"{spec.top}: {spec.bits_a}x{spec.bits_b} {'signed' if spec.signed else 'unsigned'}"
               f", out_bits={spec.out_bits}", err=True)
    click.echo(str(path))


@click.command()
def families():
    """List the multiplier families and their parameters, then systolic arrays of them."""
    for name in family_names():
        click.echo(params_table(name))
        click.echo("")
    click.echo("\n\n".join(k.call("params_help") for k in kinds().values() if k.has("params_help")))
