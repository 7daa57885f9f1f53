"""`axhw pdks`: every known cell library, its corner and units, and where axhw finds it."""

from __future__ import annotations

import json
import math

import click

from ..infra.errors import AxhwError
from ..ppa.pdk import PDK_ROOT_ENV, PDKS, locate_pdk, pdk_root, read_header

__all__ = ["describe_pdk", "format_entry", "pdks", "si"]

_PREFIXES = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, "")]


def si(value: float, unit: str) -> str:
    """1e-12, 's' -> '1 ps' (largest prefix that keeps the number >= 1)."""
    scale, prefix = next(((s, p) for s, p in reversed(_PREFIXES) if value >= s * (1 - 1e-9)),
                         _PREFIXES[0])
    return f"{value / scale:.4g} {prefix}{unit}"


def describe_pdk(name: str, root: str | None) -> dict:
    """One library's facts; units and nominal corner from its first file's header."""
    spec = PDKS[name]
    entry = {"name": name, "description": spec.description, "corner": spec.corner,
             "source": spec.source, "licence": spec.licence}
    try:
        found = locate_pdk(name, root)
        head = read_header(found.files[0])
    except AxhwError as exc:
        return {**entry, "found": False, "origin": None, "files": [], "fix": str(exc)}
    volt = head["voltage_v"]
    units = {"time": si(head["time_s"], "s"), "capacitance": si(head["cap_f"], "F"),
             "leakage_power": si(head["leakage_w"], "W"),
             # Liberty internal_power tables are energies in capacitance x voltage^2 units.
             "internal_energy": si(head["cap_f"] * volt * volt, "J")}
    licence_file = found.files[0].parent / "LICENSE"
    return {**entry, "found": True, "origin": found.origin,
            "files": [str(p) for p in found.files], "fix": None, "library": head["library"],
            "licence_file": str(licence_file) if licence_file.is_file() else None,
            "nom_voltage_v": None if head["nom_voltage"] is None else head["nom_voltage"] * volt,
            "nom_temperature_c": head["nom_temperature"], "units": units}


def format_entry(e: dict) -> str:
    lines = [f"{e['name']}: {e['description']}"]
    if e["found"]:
        v, t = e["nom_voltage_v"], e["nom_temperature_c"]
        nominal = ", ".join(x for x in (None if v is None else f"{v:g} V",
                                        None if t is None or math.isnan(t) else f"{t:g} C") if x)
        u = e["units"]
        rows = [("corner", f"{e['corner']} (file: {e['library']}, {nominal or 'no nominal'})"),
                ("units", f"time {u['time']}, capacitance {u['capacitance']}, leakage "
                          f"{u['leakage_power']}, internal energy {u['internal_energy']}"),
                ("found", f"{e['origin']}: " + (e["files"][0] if len(e["files"]) == 1 else
                                                f"{len(e['files'])} files in "
                                                f"{e['files'][0].rsplit('/', 1)[0]}"))]
    else:
        rows = [("corner", e["corner"]), ("found", f"not found: {e['fix']}")]
    licence = e["licence"] + (f" ({e['licence_file']})" if e.get("licence_file") else "")
    rows[1:1] = [("source", e["source"]), ("licence", licence)]
    width = max(len(k) for k, _ in rows)
    return "\n".join(lines + [f"  {k:<{width}}  {v}" for k, v in rows])


@click.command()
@click.option("--pdk-root", "root_option", default=None, type=click.Path(file_okay=False),
              help=f"Folder holding <pdk>/*.lib[.gz] (default ${PDK_ROOT_ENV}); searched first.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def pdks(root_option, as_json):
    """List every known cell library: corner, units, source, licence and where it was found.

    Search order for `--pdk NAME`: --liberty files; --pdk-root (else $AXHW_PDK_ROOT) when it
    holds NAME/; the copy bundled with axhw (asap7, nangate45, sky130hd); the system path
    (osu018, Debian's qflow-tech-osu018). Units are the library's own; axhw reports ns, um^2,
    mW and pJ whatever they are.
    """
    pdk_root(root_option)  # a root that is not a folder: one error, not one per library
    entries = [describe_pdk(name, root_option) for name in PDKS]
    click.echo(json.dumps(entries, indent=2) if as_json
               else "\n\n".join(format_entry(e) for e in entries))
