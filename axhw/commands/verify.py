"""`axhw verify DESIGN.json`: RTL == golden model, on every pair where feasible."""

from __future__ import annotations

import dataclasses
import json

import click

from ..design.record import load_design
from ..infra.errors import VerificationFailed
from ..infra.cliparams import SEED, FiniteFloat
from ..verify.formal import ENGINES
from ..verify.dispatch import METHODS, verify_design

__all__ = ["format_result", "result_dict", "verify"]


def format_result(r) -> str:
    scope = "all" if r.exhaustive else "sampled"
    status = "PASS" if r.ok else "FAIL"
    line = (f"{status} {r.method:<10} {r.sim:<9} {r.checked:>12,} {scope} {r.unit}, "
            f"{r.mismatches} mismatches, {r.seconds:.2f} s")
    if r.detail:
        line += f" ({r.detail})"
    return line


def result_dict(design, results) -> dict:
    return {"design": design.top, "family": design.family, "bits_a": design.bits_a,
            "bits_b": design.bits_b, "signed": design.signed,
            "ok": all(r.ok for r in results),
            "results": [{**dataclasses.asdict(r), "ok": r.ok} for r in results]}


@click.command()
@click.argument("design_json", type=click.Path(dir_okay=False))
@click.option("--sim", default="both", show_default=True,
              type=click.Choice(["icarus", "verilator", "both"]), help="Simulator(s).")
@click.option("--method", default=None, type=click.Choice(sorted(METHODS)),
              help="Default: cocotb on every pair up to 2^16 pairs, exhaustive up to 2^32, "
                   "else random.")
@click.option("--samples", default=100_000, show_default=True, help="Pairs for --method random.")
@click.option("--seed", default=1, show_default=True, type=SEED,
              help="Seed for --method random (and for the random pairs on which the algebraic "
                   "proof checks its polynomial against the golden model).")
@click.option("--timeout", default=None, type=FiniteFloat(min=1),
              help="Seconds allowed for --method formal (default 600).")
@click.option("--engine", default=None, type=click.Choice(ENGINES),
              help="Proof engine of --method formal: sat (Yosys miter), algebraic (backward "
                   "rewriting against the golden model's polynomial, to 32x32), auto (default: "
                   "sat up to 12 input bits, else algebraic).")
@click.option("--allow-edited", is_flag=True,
              help="Verify a Verilog file edited since `axhw gen` wrote it (its verilog_sha256 no "
                   "longer matches) against the JSON's golden model.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as one line of JSON (the only line on stdout).")
def verify(design_json, sim, method, samples, seed, timeout, engine, allow_edited, as_json):
    """Check the design's RTL against its golden model; exit 0 only if everything matches."""
    design = load_design(design_json, allow_edited=allow_edited)
    results = verify_design(design, sim=sim, method=method, samples=samples, seed=seed,
                            timeout=timeout, engine=engine)
    if as_json:
        click.echo(json.dumps(result_dict(design, results)))
    else:
        click.echo(f"{design.top}: {design.bits_a}x{design.bits_b} "
                   f"{'signed' if design.signed else 'unsigned'} {design.family}")
        for r in results:
            click.echo(format_result(r))
            for m in r.first_mismatches:
                click.echo(f"    a={m['a']} b={m['b']} expected={m['expected']} got={m['got']}")
    bad = [r for r in results if not r.ok]
    if bad:
        raise VerificationFailed(f"{design.top}: RTL differs from the golden model on "
                                 + ", ".join(f"{r.sim} ({r.mismatches} pairs)" for r in bad))
