"""Other model formats of a design, all derived from its gate-level netlist (so external Verilog
works as well as axhw designs).

``export_text(design, fmt, pdk=None, pdk_root=None, name=None, ppa=None) -> str``
    ``c``: an EvoApproxLib-style C function ``uint16_t mul8u_XXX(uint8_t A, uint8_t B)`` (signed
    designs: ``int16_t mul8s_XXX(int8_t A, int8_t B)``; ``name`` renames it) computing the product
    bit by bit, one statement per gate of the Yosys netlist (:func:`axhw.sim.netsim.generic_netlist`);
    it returns the output port's value (two's complement when the design is signed). Its header
    has EvoApproxLib's ``// MAE% = ...`` .. ``// MSE = ...`` lines (exhaustive metrics) and, given
    ``ppa`` (an ``axhw characterize`` result of the design), ``// <PDK>_PWR/AREA/DELAY`` lines.
    ``python``: the same as a pure-Python function (no imports) returning the port value.
    ``blif``: Yosys ``write_blif`` of the same gate-level netlist (``.names`` logic functions).
    ``netlist``: the mapped gate-level Verilog of a cell library (``pdk``), from the synthesis flow
    of ``axhw characterize`` (:func:`axhw.ppa.synth.synthesize`).

The port value is the product at scale ``<< out_shift`` (fixed-width designs), as in the JSON.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from ..design.record import Design
from ..infra.errors import AxhwError
from ..infra.fileio import cache_root, ensure_dir, format_from_suffix
from ..measure.lut import MAX_LUT_BITS
from ..infra.names import check_function_name, check_name
from ..sim.netsim import GateNetlist, gate_flow, generic_netlist
from .pdk import load_library
from .synth import synthesize
from ..infra.tools import stage, yosys
from ..design.kinds import kind_of

__all__ = ["FORMATS", "DEFAULT_CLOCK_NS", "format_for", "export_text", "export_multiplier", "blif"]

FORMATS = ("c", "python", "blif", "netlist")
SUFFIXES = {"c": (".c", ".h"), "python": (".py",), "blif": (".blif",),
            "netlist": (".v", ".sv")}
DEFAULT_CLOCK_NS = 10.0

# Yosys internal gate -> (C/Python expression of its 0/1 inputs, result needs "& 1").
_GATE_EXPR = {
    "$_BUF_": ("{A}", False),
    "$_NOT_": ("~{A}", True),
    "$_AND_": ("{A} & {B}", False),
    "$_NAND_": ("~({A} & {B})", True),
    "$_OR_": ("{A} | {B}", False),
    "$_NOR_": ("~({A} | {B})", True),
    "$_XOR_": ("{A} ^ {B}", False),
    "$_XNOR_": ("~({A} ^ {B})", True),
    "$_ANDNOT_": ("{A} & ~{B}", True),
    "$_ORNOT_": ("{A} | ~{B}", True),
    "$_MUX_": ("({S} ? {B} : {A})", False),
    "$_NMUX_": ("~({S} ? {B} : {A})", True),
    "$_AOI3_": ("~(({A} & {B}) | {C})", True),
    "$_OAI3_": ("~(({A} | {B}) & {C})", True),
    "$_AOI4_": ("~(({A} & {B}) | ({C} & {D}))", True),
    "$_OAI4_": ("~(({A} | {B}) & ({C} | {D}))", True),
}


def format_for(output: str | None, fmt: str | None) -> str:
    """The format from --format and the -o suffix (see fileio.format_from_suffix)."""
    suffix_format = {sfx: f for f, sfxs in SUFFIXES.items() for sfx in sfxs}
    return format_from_suffix(output, fmt, FORMATS, suffix_format, "export")


def export_text(design: Design, fmt: str, pdk: str | None = None,
                pdk_root: str | None = None, name: str | None = None,
                ppa: dict | None = None) -> str:
    """`design` in `fmt`, by the hook of the design's kind (:mod:`axhw.design.kinds`); `name`
    names the C/Python function (default: the module), `ppa` (the result of `axhw characterize`
    of this design) adds its PPA lines to the C header."""
    if name is not None and fmt not in ("c", "python"):
        raise AxhwError(f"--name applies to --format c or python only, not {fmt}")
    if ppa is not None and fmt != "c":
        raise AxhwError(f"--ppa applies to --format c only, not {fmt}")
    return kind_of(design).call("export", design, fmt, pdk, pdk_root, name, ppa)


def export_multiplier(design: Design, fmt: str, pdk: str | None, pdk_root: str | None,
                      name: str | None = None, ppa: dict | None = None) -> str:
    """The `export` hook of a multiplier (and of external Verilog)."""
    if fmt == "netlist":
        return mapped_netlist(design, pdk, pdk_root)
    if pdk is not None:
        raise AxhwError(f"--pdk applies to --format netlist only, not {fmt}")
    if fmt == "blif":
        return blif(design)
    if fmt not in ("c", "python"):
        raise AxhwError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    name = (check_function_name(name) if name is not None else
            check_function_name(function_name(design.top), f"{design.top}: its function name"))
    nl = generic_netlist(design.verilog_path, design.top)
    if fmt == "python":
        return python_model(design, nl, name)
    return c_model(design, nl, name, evoapprox_header(design, ppa))


# -- C and Python from the gates ----------------------------------------------------------------
def _statements(design: Design, nl: GateNetlist, lang: str):
    """(declared net names, assignment lines, output bit expressions) of the netlist in `lang`."""
    pa, pb, pp = design.ports
    names: dict[int, str] = {0: "0", 1: "1"}
    var = {"c": ("A", "B"), "python": ("a", "b")}[lang]
    for port, v in zip((pa, pb), var):
        for k, bit in enumerate(nl.inputs[port]):
            if bit >= 2:
                names[bit] = f"(({v} >> {k}) & 1)"
    for port, bits in nl.inputs.items():  # other inputs (there are none for a design) read 0
        for bit in bits:
            names.setdefault(bit, "0")
    lines, declared = [], []
    for cell in nl.cells:
        if cell.type not in _GATE_EXPR:
            raise AxhwError(f"{design.top}: gate {cell.type} has no C/Python form")
        template, mask = _GATE_EXPR[cell.type]
        if lang == "python":
            template = template.replace("({S} ? {B} : {A})", "({B} if {S} else {A})")
        expr = template.format(**{p: names[b] for p, b in cell.inputs.items()})
        if mask:
            expr = f"({expr}) & 1"
        (out,) = cell.outputs.values()
        name = f"n{len(declared)}"
        declared.append(name)
        names[out] = name
        lines.append(f"{name} = {expr};" if lang == "c" else f"{name} = {expr}")
    outputs = [names.get(b, "0") for b in nl.outputs[pp]]
    return declared, lines, outputs


def function_name(top: str) -> str:
    """The C/Python function name: the module name ("$" is not allowed in C or Python)."""
    return top.replace("$", "_")


# -- EvoApproxLib's header lines ("// MAE% = 0.00095 %" ... "// PDK45_DELAY = 1.42 ns"), which its
# Cython wrapper generator reads. Percentages are of 2^(bits_a+bits_b), as EvoApproxLib's.
def _evo_number(value: float) -> str:
    """As EvoApproxLib prints them: 6.0, 0.62 (two significant digits below 10), 87, 645336
    (whole numbers), 15608.397e3 (from 10^6: five integer digits and an exponent)."""
    if value >= 1e6:
        exponent = len(str(int(value))) - 5
        mantissa = f"{value / 10 ** exponent:.3f}".rstrip("0").rstrip(".")
        return f"{mantissa}e{exponent}"
    if value >= 10:
        return f"{value:.0f}"
    text = f"{value:.2g}"
    return text if "." in text or "e" in text or value == 0 else text + ".0"


def _evo_percent(value: float) -> str:
    """Two decimals from 0.1 % up (28.57), else two significant digits (0.00095)."""
    return f"{value:.2f}" if value >= 0.1 or value == 0 else f"{value:.2g}"


def evoapprox_metric_lines(m: dict, bits_a: int, bits_b: int) -> list[str]:
    """EvoApproxLib's eight metric lines from axhw's metrics dict (fractions)."""
    full = 100 / (1 << (bits_a + bits_b))
    pct = {"MAE%": m["mae"] * full, "WCE%": m["wce"] * full, "WCRE%": 100 * (m["wcre"] or 0),
           "EP%": 100 * m["er"], "MRE%": 100 * (m["mre"] or 0)}
    return [f"// MAE% = {_evo_percent(pct['MAE%'])} %", f"// MAE = {_evo_number(m['mae'])} ",
            f"// WCE% = {_evo_percent(pct['WCE%'])} %", f"// WCE = {_evo_number(m['wce'])} ",
            f"// WCRE% = {_evo_percent(pct['WCRE%'])} %", f"// EP% = {_evo_percent(pct['EP%'])} %",
            f"// MRE% = {_evo_percent(pct['MRE%'])} %", f"// MSE = {_evo_number(m['mse'])} "]


def evoapprox_ppa_lines(ppa: dict) -> list[str]:
    """``// <PDK>_PWR/AREA/DELAY`` lines of an `axhw characterize` result, named for its PDK."""
    tag = "".join(c if c.isalnum() else "_" for c in str(ppa["pdk"]).upper())
    return [f"// {tag}_PWR = {ppa['power_mw']:.3g} mW", f"// {tag}_AREA = {ppa['area_um2']:.1f} um2",
            f"// {tag}_DELAY = {ppa['delay_ns']:.2f} ns"]


def evoapprox_header(design: Design, ppa: dict | None = None) -> list[str]:
    from ..measure.metrics import design_metrics  # noqa: PLC0415 - numba only when needed

    if ppa is not None:
        missing = [k for k in ("design", "pdk", "power_mw", "area_um2", "delay_ns") if k not in ppa]
        if missing:
            raise AxhwError(f"--ppa: not an `axhw characterize` result (no {', '.join(missing)})")
        if ppa["design"] != design.top:
            raise AxhwError(f"--ppa characterizes {ppa['design']}, not {design.top}")
    if design.bits_a + design.bits_b <= MAX_LUT_BITS:  # exhaustive from the LUT, in a second
        lines = evoapprox_metric_lines(design_metrics(design), design.bits_a, design.bits_b)
    else:
        lines = [f"// (no MAE%/WCE%/... lines: past {MAX_LUT_BITS} input bits use axhw metrics)"]
    return lines + (evoapprox_ppa_lines(ppa) if ppa is not None else [])


def _ctype(bits: int, signed: bool) -> str:
    width = next(w for w in (8, 16, 32, 64) if bits <= w)
    return f"{'int' if signed else 'uint'}{width}_t"


def c_model(design: Design, nl: GateNetlist, name: str, header: list[str]) -> str:
    declared, lines, outputs = _statements(design, nl, "c")
    w = design.out_bits
    utype = _ctype(w, False)
    rtype = _ctype(w, design.out_signed)
    ta = _ctype(design.bits_a, design.signed)
    tb = _ctype(design.bits_b, design.signed)
    body = [f"/* {line} */" for line in _header(design, nl)] + header
    body += ["#include <stdint.h>", "",
             f"{rtype} {name}({ta} A, {tb} B)", "{",
             f"  {utype} O;"]
    for k in range(0, len(declared), 16):
        body.append("  uint8_t " + ", ".join(declared[k:k + 16]) + ";")
    body += [f"  {line}" for line in lines]
    body.append("  O = 0;")
    body += [f"  O |= ({utype})({bit} & 1) << {k};" for k, bit in enumerate(outputs)]
    if design.out_signed and w < int(rtype[3:-2]):
        body.append(f"  return ({rtype})((int64_t)O - ((int64_t)((O >> {w - 1}) & 1) << {w}));")
    else:
        body.append(f"  return ({rtype})O;")
    body.append("}")
    return "\n".join(body) + "\n"


def python_model(design: Design, nl: GateNetlist, name: str) -> str:
    declared, lines, outputs = _statements(design, nl, "python")
    w = design.out_bits
    body = [f"# {line}" for line in _header(design, nl)]
    body += ["", "", f"def {name}(a: int, b: int) -> int:",
             f'    """Port value of {design.top} for operands a, b (raw bits or two\'s complement '
             f'values)."""']
    body += [f"    {line}" for line in lines]
    body.append("    o = 0")
    body += [f"    o |= ({bit} & 1) << {k}" for k, bit in enumerate(outputs)]
    if design.out_signed:
        body.append(f"    return o - ((o >> {w - 1}) << {w})")
    else:
        body.append("    return o")
    return "\n".join(body) + "\n"


def _header(design: Design, nl: GateNetlist) -> list[str]:
    """Comment lines (no comment terminator or line break can come from the design's strings)."""
    lines = [f"{design.top}: {design.bits_a}x{design.bits_b} "
            f"{'signed' if design.signed else 'unsigned'} multiplier, {design.out_bits}-bit output"
            + (f" (product = value << {design.out_shift})" if design.out_shift else ""),
            f"family={design.family} params={design.params}",
            f"{nl.cell_count} gates from the Yosys netlist of {design.verilog_path.name}; "
            "generated by axhw export, do not edit"]
    return [" ".join(line.replace("*/", "* /").split()) for line in lines]


# -- Yosys outputs ------------------------------------------------------------------------------
@contextlib.contextmanager
def _workdir(kind: str):
    """A scratch folder under the cache, removed on success and kept (its logs named in the
    error) on failure."""
    path = Path(tempfile.mkdtemp(prefix=f"{kind}.", dir=ensure_dir(cache_root() / "export")))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def blif(design: Design) -> str:
    check_name(design.top)
    with _workdir("blif") as tmp:
        out = tmp / "design.blif"
        src = stage(design.verilog_path, tmp, ".v")  # Yosys never sees the user's path
        yosys.run_script(gate_flow(src, design.top, optimize=True)
                         + [f"write_blif {yosys.quote(out)}"], tmp / "yosys.log")
        return out.read_text()


def mapped_netlist(design: Design, pdk: str | None, pdk_root: str | None) -> str:
    if pdk is None:
        raise AxhwError("--format netlist needs --pdk (the cell library to map onto)")
    library = load_library(pdk, pdk_root=pdk_root)
    with _workdir("netlist") as tmp:
        syn = synthesize(design.verilog_path, design.top, library, DEFAULT_CLOCK_NS, tmp)
        return syn.netlist_v.read_text()
