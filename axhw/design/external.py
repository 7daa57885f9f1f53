"""What `lut`, `metrics` and `characterize` accept: an axhw design JSON or external Verilog.

Both become a :class:`axhw.design.record.Design`, so later stages treat them alike. External Verilog
(an EvoApproxLib circuit ``module mul8u_XXXX(A, B, O)``, a flat gate-level netlist, ...) gets
``family="external"``, ``spec=None`` (no golden model), ``json_path=None`` and a ``meta`` dict with
the same keys as a design JSON.

API
---
``@design_input``
    click decorator for a command. Adds the argument ``INPUT`` (a design ``.json`` or a Verilog
    ``.v``/``.sv`` file) and the options ``--verilog FILE``, ``--top NAME``, ``--bits N``,
    ``--bits-b M``, ``--signed``, ``--ports A,B,O``, ``--out-shift S``; the command function receives
    one keyword argument ``design`` (a loaded Design) instead of them::

        @click.command()
        @design_input
        @click.option("--json", "as_json", is_flag=True)
        def metrics(design, as_json): ...

``load_input(path=None, verilog=None, top=None, bits=None, bits_b=None, signed=False, ports=None,
out_shift=0) -> Design``
    The same from Python: ``path`` ending in ``.json`` -> :func:`axhw.design.record.load_design`, else
    external Verilog via :func:`load_external`.

``load_external(verilog, top=None, bits=None, bits_b=None, signed=False, ports=None, out_shift=0)
-> Design``
    Yosys (``hierarchy -auto-top``) finds the top module and its ports; without ``ports`` the module
    must have exactly two inputs (a, b in declaration order) and one output. Widths come from the
    ports; ``bits``/``bits_b`` given must match them. ``signed`` reads operands and output as two's
    complement. ``out_shift`` says the output port holds the product's high bits (value << shift is
    the product scale), as in fixed-width multipliers.

``port_order_note(design) -> str | None``
    The one-line note ``@design_input`` prints (without ``--ports``) when the operand order of
    external Verilog may surprise: the module's first input is named ``B``, or its header names
    EvoApproxLib, whose legacy C models and TFApprox's tables take port ``B`` first.

Every failure (missing file, unparseable Verilog, wrong port count, width mismatch) is a one-line
AxhwError / ToolError.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
from pathlib import Path

import click

from .. import __version__
from .record import MAX_OUT_BITS, Design, load_design
from ..infra.errors import AxhwError
from ..gen.families.base import MAX_BITS, MIN_BITS
from ..infra.cache import Cache
from ..infra.fileio import check_writable_target, read_input_text, sha256_text
from ..infra.names import check_name
from ..infra.tools import stage_text, yosys

__all__ = ["load_external", "load_input", "AbsolutePath", "design_input", "OutputFile",
           "parse_ports"]

VERILOG_SUFFIXES = (".v", ".sv", ".vh", ".verilog")
PORTS = Cache("ports")


def module_ports(verilog: Path, top: str | None = None) -> tuple[str, list[tuple[str, str, int]]]:
    """(top module, [(port, direction, width)] in declaration order), found by Yosys.

    Cached by the content hash of the Verilog (and the requested top)."""
    if top is not None:
        check_name(top, "--top")
    text = _read_verilog(verilog)
    key = PORTS.key(text, top or "", importlib.metadata.version("pyosys"), length=24)
    cdir = PORTS.dir
    info = PORTS.get(key)
    if info is None:
        # Per-process scratch names: parallel runs on the same Verilog must not share them.
        out = cdir / f"{key}.{os.getpid()}.yosys.json"
        modules = cdir / f"{key}.{os.getpid()}.modules.json"
        log = cdir / f"{key}.{os.getpid()}.log"
        src = stage_text(text, cdir, f".{os.getpid()}.v")  # Yosys never sees the user's path
        select = f"hierarchy -check -top {top}" if top else "hierarchy -check -auto-top"
        try:
            yosys.run_script([f"read_verilog -sv {yosys.quote(src)}", "proc",
                              f"write_json {yosys.quote(modules)}", select,
                              f"write_json {yosys.quote(out)}"], log)
            if top is None:
                _check_one_top(json.loads(modules.read_text()))
        except AxhwError as exc:
            raise AxhwError(f"cannot read Verilog {verilog}: "
                            f"{str(exc).replace(str(src), verilog.name)}") from None
        finally:
            for scratch in (src, modules):
                scratch.unlink(missing_ok=True)
        info = PORTS.put(key, _ports_from_yosys(json.loads(out.read_text()), verilog))
        for scratch in (out, log, log.with_suffix(".ys")):
            scratch.unlink(missing_ok=True)
    # The names go into testbenches and tool scripts: escaped identifiers are refused.
    found = check_name(info["top"], f"{verilog}: top module")
    return found, [(check_name(name, f"{verilog}: port of {found}"), d, w)
                   for name, d, w in info["ports"]]


def _read_verilog(verilog: Path) -> str:
    return read_input_text(verilog, "Verilog file")


def _check_one_top(netlist: dict) -> None:
    """Refuse to guess between several modules that no other module instantiates (Yosys's
    -auto-top would pick one silently)."""
    modules = {name: m for name, m in netlist.get("modules", {}).items()
               if not str(m.get("attributes", {}).get("blackbox", "0")).strip("0")}
    used = {c["type"] for m in modules.values() for c in m.get("cells", {}).values()}
    tops = sorted(name for name in modules if name not in used)
    if len(tops) > 1:
        raise AxhwError(f"it has {len(tops)} top-level modules ({', '.join(tops[:5])}): choose "
                        "one with --top")


def _ports_from_yosys(netlist: dict, verilog: Path) -> dict:
    modules = netlist.get("modules", {})
    tops = [name for name, m in modules.items()
            if str(m.get("attributes", {}).get("top", "0")).strip("0") != ""]
    if not modules:
        raise AxhwError(f"{verilog}: no Verilog module in the file")
    if not tops and all("blackbox" in m.get("attributes", {}) for m in modules.values()):
        raise AxhwError(f"{verilog}: module(s) {', '.join(modules)} have no contents (an empty "
                        "module is a black box, not a multiplier)")
    if len(tops) != 1:
        raise AxhwError(f"{verilog}: cannot tell the top module among {', '.join(modules)}: "
                        "choose one with --top")
    module = netlist["modules"][tops[0]]
    ports = [(name, p["direction"], len(p["bits"])) for name, p in module["ports"].items()]
    return {"top": tops[0], "ports": ports}


def load_external(verilog: Path | str, top: str | None = None, bits: int | None = None,
                  bits_b: int | None = None, signed: bool = False,
                  ports: tuple[str, str, str] | str | None = None, out_shift: int = 0) -> Design:
    """External Verilog as a Design (family "external", no golden model). See the module doc."""
    verilog = Path(verilog).resolve() if Path(verilog).exists() else Path(verilog)
    top, found = module_ports(verilog, top)
    width = {name: w for name, _, w in found}
    direction = {name: d for name, d, _ in found}
    if ports is None:
        ins = [n for n, d, _ in found if d == "input"]
        outs = [n for n, d, _ in found if d == "output"]
        others = [n for n, d, _ in found if d not in ("input", "output")]
        if len(ins) != 2 or len(outs) != 1 or others:
            raise AxhwError(f"{verilog}: module {top} has {len(ins)} inputs, {len(outs)} outputs"
                            + (f" and {len(others)} inout ports" if others else "")
                            + ": a multiplier needs 2 inputs and 1 output (name them with --ports A,B,O)")
        names = (ins[0], ins[1], outs[0])
    else:
        names = parse_ports(ports)
        for name, want in zip(names, ("input", "input", "output")):
            if name not in direction:
                raise AxhwError(f"{verilog}: module {top} has no port {name!r} "
                                f"(ports: {', '.join(width)})")
            if direction[name] != want:
                raise AxhwError(f"{verilog}: port {name} of {top} is an {direction[name]}, not an {want}")
        extra = [n for n in width if n not in names]
        if extra:
            raise AxhwError(f"{verilog}: module {top} has ports besides {', '.join(names)} "
                            f"({', '.join(extra)}): axhw drives only a, b and reads p")
    bits_a, bits_bb, out_bits = (width[n] for n in names)
    for opt, given, actual, port in (("--bits", bits, bits_a, names[0]),
                                     ("--bits-b", bits_b if bits_b is not None else bits, bits_bb,
                                      names[1])):
        if given is not None and given != actual:
            raise AxhwError(f"{verilog}: {opt} {given} does not match port {port} of {top} "
                            f"({actual} bits)")
    for name, w in ((names[0], bits_a), (names[1], bits_bb)):
        if not MIN_BITS <= w <= MAX_BITS:
            raise AxhwError(f"{verilog}: port {name} is {w} bits wide: operands of {MIN_BITS}.."
                            f"{MAX_BITS} bits are supported")
    if out_shift < 0:
        raise AxhwError(f"--out-shift {out_shift}: expected 0 or more")
    if out_bits + out_shift > MAX_OUT_BITS:
        raise AxhwError(f"{verilog}: output {names[2]} ({out_bits} bits) with --out-shift "
                        f"{out_shift} does not fit {MAX_OUT_BITS} bits")
    meta = {"top": top, "verilog": str(verilog), "family": "external", "params": {},
            "bits_a": bits_a, "bits_b": bits_bb, "signed": bool(signed), "out_bits": out_bits,
            "out_signed": bool(signed), "bit_linear": False,
            "ports": {"a": names[0], "b": names[1], "p": names[2]},
            "verilog_sha256": sha256_text(_read_verilog(verilog)), "axhw_version": __version__,
            "out_shift": int(out_shift),
            "notes": ["external Verilog: no golden model"]}
    return Design(json_path=None, top=top, verilog_path=verilog, family="external", params={},
                  bits_a=bits_a, bits_b=bits_bb, signed=bool(signed), out_bits=out_bits,
                  out_signed=bool(signed), spec=None, ports=names, meta=meta)


LEGACY_PORTS_NOTE = ("legacy EvoApproxLib C models (f(B, A)) and the TFApprox tables built from "
                     "them take port B first: --ports B,A,O makes B operand a (docs/lut-metrics.md)")


def port_order_note(design: Design) -> str | None:
    """A one-line note when external Verilog's operand order may not be the user's: the module's
    first input is named B, or its header says it is an EvoApproxLib circuit."""
    if design.family != "external":
        return None
    a, b, o = design.ports
    if a.upper() == "B":
        return (f"note: {design.top}'s first input port is {a}: operand a is port {a}, b is port "
                f"{b} (--ports {b},{a},{o} swaps them)")
    if "evoapproxlib" in _read_verilog(design.verilog_path)[:4096].lower():
        return (f"note: {design.top} is an EvoApproxLib circuit: operand a is port {a}; "
                + LEGACY_PORTS_NOTE)
    return None


def parse_ports(ports: tuple[str, str, str] | str, what: str = "--ports") -> tuple[str, str, str]:
    names = tuple(p.strip() for p in ports.split(",")) if isinstance(ports, str) else tuple(ports)
    if len(names) != 3 or not all(names) or len(set(names)) != 3:
        raise AxhwError(f"{what} {ports!r}: expected three distinct names A,B,O")
    for name in names:
        check_name(name, what)
    return names  # type: ignore[return-value]


def load_input(path: Path | str | None = None, verilog: Path | str | None = None,
               top: str | None = None, bits: int | None = None, bits_b: int | None = None,
               signed: bool = False, ports: str | tuple | None = None, out_shift: int = 0) -> Design:
    """A design JSON (``path``) or external Verilog (``verilog``, or a ``path`` ending in .v)."""
    if path is not None and verilog is not None:
        raise AxhwError("give either INPUT or --verilog, not both")
    if path is not None and not str(path).lower().endswith(VERILOG_SUFFIXES):
        external_opts = [name for name, v in (("--top", top), ("--bits", bits), ("--bits-b", bits_b),
                                              ("--signed", signed), ("--ports", ports),
                                              ("--out-shift", out_shift)) if v]
        if external_opts:
            raise AxhwError(f"{', '.join(external_opts)} apply to external Verilog only: "
                            f"{path} is a design JSON")
        return load_design(path)
    verilog = verilog if verilog is not None else path
    if verilog is None:
        raise AxhwError("no design given: pass DESIGN.json or --verilog FILE")
    return load_external(verilog, top=top, bits=bits, bits_b=bits_b, signed=signed, ports=ports,
                         out_shift=out_shift)


class AbsolutePath(click.Path):
    """A click.Path made absolute (symlinks kept): tools run in their own folders (OpenSTA in
    its run folder), where a relative name would point elsewhere."""

    def convert(self, value, param, ctx):
        return os.path.abspath(super().convert(value, param, ctx))


class OutputFile(click.Path):
    """An output file option: refused at once (before any work) when it exists and is not a
    regular file (:func:`axhw.infra.fileio.check_writable_target`)."""

    def __init__(self):
        super().__init__(dir_okay=False)

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        check_writable_target(Path(value))
        return value


_OPTIONS = [
    click.argument("design_input", metavar="[INPUT]", required=False,
                   type=click.Path(dir_okay=False)),
    click.option("--verilog", type=AbsolutePath(dir_okay=False),
                 help="External Verilog file (instead of a design JSON)."),
    click.option("--top", default=None, help="External Verilog: top module (default: auto)."),
    click.option("--bits", type=int, default=None,
                 help="External Verilog: width of operand a (checked against the port)."),
    click.option("--bits-b", type=int, default=None,
                 help="External Verilog: width of operand b (default: --bits)."),
    click.option("--signed", is_flag=True,
                 help="External Verilog: operands and output are two's complement."),
    click.option("--ports", default=None, metavar="A,B,O",
                 help="External Verilog: input, input, output port names (default: the module's "
                      "two inputs and one output). EvoApproxLib circuits: B,A,O matches its "
                      "legacy C models and TFApprox's tables (B first)."),
    click.option("--out-shift", type=int, default=0, show_default=True,
                 help="External Verilog: the output holds product bits from this position up "
                      "(fixed-width multipliers)."),
]


def design_input(fn):
    """click decorator: INPUT or --verilog ... -> ``design=`` (see the module doc)."""

    @functools.wraps(fn)
    def wrapper(*args, design_input=None, verilog=None, top=None, bits=None, bits_b=None,
                signed=False, ports=None, out_shift=0, **kwargs):
        design = load_input(design_input, verilog=verilog, top=top, bits=bits, bits_b=bits_b,
                            signed=signed, ports=ports, out_shift=out_shift)
        note = None if ports else port_order_note(design)
        if note:
            click.echo(note, err=True)
        return fn(*args, design=design, **kwargs)

    for decorate in reversed(_OPTIONS):
        wrapper = decorate(wrapper)
    return wrapper
