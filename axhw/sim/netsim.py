"""Bit-parallel gate-level evaluation of a Yosys netlist: 64 input vectors per uint64 word.

Yosys flattens and maps the design to simple gates and writes JSON (``generic_netlist``, cached);
``read_yosys_json`` also reads technology-mapped netlists, whose library cells are evaluated from
their Liberty ``function`` strings (``cell_functions``). ``evaluate`` runs every cell once per
chunk of vectors with numpy bitwise operations on packed words, so one pass over a few thousand
gates checks a million vectors; ``nets=True`` also returns every net's packed words (for toggle
counting). ``simulate_pairs`` has the contract of ``axhw.sim.cocotb_run.run_pairs(...)["outputs"]``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from ..infra.errors import AxhwError
from ..infra.cache import Cache
from ..infra.fileio import write_text
from ..infra.names import check_name
from ..infra.tools import yosys

__all__ = ["CHUNK", "CONST_BITS", "BUILTIN_GATES", "LibertyFunction", "parse_liberty_function",
           "Cell", "GateNetlist", "read_yosys_json", "gate_flow", "generic_netlist", "pack",
           "pack_range", "unpack", "compile_cells", "evaluate", "run_steps", "sweep_pairs",
           "simulate_pairs", "check_ports"]

# Gate netlists by content (bump its version in axhw.infra.cache when the Yosys flow below changes).
NETLISTS = Cache("netsim")
# Vectors per evaluation chunk: 2^18 vectors = 4 Ki words = 32 KiB per net (stays in cache).
CHUNK = 1 << 18
# Yosys bit ids start at 2; 0 and 1 hold the constants ("x"/"z" read as 0).
CONST_BITS = {"0": 0, "1": 1, "x": 0, "z": 0}
_W = np.uint64

Words = np.ndarray
GateFn = Callable[..., Words]


def _not(x):
    return np.invert(x)


# Yosys internal gate cells: type -> (input pins, output pin, function of packed words).
BUILTIN_GATES: dict[str, tuple[tuple[str, ...], str, GateFn]] = {
    "$_BUF_": (("A",), "Y", lambda a: a),
    "$_NOT_": (("A",), "Y", _not),
    "$_AND_": (("A", "B"), "Y", np.bitwise_and),
    "$_NAND_": (("A", "B"), "Y", lambda a, b: _not(a & b)),
    "$_OR_": (("A", "B"), "Y", np.bitwise_or),
    "$_NOR_": (("A", "B"), "Y", lambda a, b: _not(a | b)),
    "$_XOR_": (("A", "B"), "Y", np.bitwise_xor),
    "$_XNOR_": (("A", "B"), "Y", lambda a, b: _not(a ^ b)),
    "$_ANDNOT_": (("A", "B"), "Y", lambda a, b: a & _not(b)),
    "$_ORNOT_": (("A", "B"), "Y", lambda a, b: a | _not(b)),
    "$_MUX_": (("A", "B", "S"), "Y", lambda a, b, s: (a & _not(s)) | (b & s)),
    "$_NMUX_": (("A", "B", "S"), "Y", lambda a, b, s: _not((a & _not(s)) | (b & s))),
    "$_AOI3_": (("A", "B", "C"), "Y", lambda a, b, c: _not((a & b) | c)),
    "$_OAI3_": (("A", "B", "C"), "Y", lambda a, b, c: _not((a | b) & c)),
    "$_AOI4_": (("A", "B", "C", "D"), "Y", lambda a, b, c, d: _not((a & b) | (c & d))),
    "$_OAI4_": (("A", "B", "C", "D"), "Y", lambda a, b, c, d: _not((a | b) & (c | d))),
}


# -- Liberty boolean functions ----------------------------------------------------------------
@dataclass(frozen=True)
class LibertyFunction:
    """A parsed Liberty ``function`` string: its input pins and a packed-word evaluator."""

    text: str
    pins: tuple[str, ...]
    _tree: tuple = field(repr=False, compare=False)

    def __call__(self, values: dict[str, Words], ones: Words) -> Words:
        return _eval_tree(self._tree, values, ones)


_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_\[\]\.]*)|(?P<const>[01])(?![0-9])"
                    r"|(?P<op>[!'*&+|^()]))")


def parse_liberty_function(expr: str) -> LibertyFunction:
    """Parse a Liberty function: ``!``/postfix ``'`` not, ``*``/``&``/space and, ``+``/``|`` or,
    ``^`` xor, parentheses, constants 0/1. Precedence: not > and > xor > or."""
    text = str(expr).strip().strip('"').strip()
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise AxhwError(f"Liberty function {expr!r}: unexpected {text[pos:].strip()[:10]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    if not tokens:
        raise AxhwError(f"Liberty function {expr!r} is empty")
    parser = _Parser(tokens, expr)
    tree = parser.parse_or()
    if parser.i != len(tokens):
        raise AxhwError(f"Liberty function {expr!r}: unexpected {tokens[parser.i][1]!r}")
    pins: list[str] = []
    _collect_pins(tree, pins)
    return LibertyFunction(text, tuple(pins), tree)


class _Parser:
    """Recursive descent over (kind, text) tokens; trees are ("pin", n) / ("const", v) /
    ("not", t) / (op, t1, t2, ...)."""

    def __init__(self, tokens, expr):
        self.tokens, self.expr, self.i = tokens, expr, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def fail(self, what: str):
        raise AxhwError(f"Liberty function {self.expr!r}: {what}")

    def parse_or(self):
        terms = [self.parse_xor()]
        while self.peek() in (("op", "+"), ("op", "|")):
            self.i += 1
            terms.append(self.parse_xor())
        return terms[0] if len(terms) == 1 else ("or", *terms)

    def parse_xor(self):
        terms = [self.parse_and()]
        while self.peek() == ("op", "^"):
            self.i += 1
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else ("xor", *terms)

    def parse_and(self):
        terms = [self.parse_unary()]
        while True:
            tok = self.peek()
            if tok in (("op", "*"), ("op", "&")):
                self.i += 1
                terms.append(self.parse_unary())
            elif tok is not None and (tok[0] in ("name", "const") or tok in (("op", "("), ("op", "!"))):
                terms.append(self.parse_unary())  # juxtaposition (space) is AND
            else:
                break
        return terms[0] if len(terms) == 1 else ("and", *terms)

    def parse_unary(self):
        tok = self.peek()
        if tok is None:
            self.fail("ends early")
        self.i += 1
        if tok == ("op", "!"):
            node = ("not", self.parse_unary())
        elif tok == ("op", "("):
            node = self.parse_or()
            if self.peek() != ("op", ")"):
                self.fail("missing ')'")
            self.i += 1
        elif tok[0] == "name":
            node = ("pin", tok[1])
        elif tok[0] == "const":
            node = ("const", int(tok[1]))
        else:
            self.fail(f"unexpected {tok[1]!r}")
        while self.peek() == ("op", "'"):
            self.i += 1
            node = ("not", node)
        return node


def _collect_pins(tree, out: list[str]) -> None:
    if tree[0] == "pin":
        if tree[1] not in out:
            out.append(tree[1])
    elif tree[0] != "const":
        for sub in tree[1:]:
            _collect_pins(sub, out)


def _eval_tree(tree, values: dict[str, Words], ones: Words) -> Words:
    kind = tree[0]
    if kind == "pin":
        return values[tree[1]]
    if kind == "const":
        return ones if tree[1] else np.zeros_like(ones)
    if kind == "not":
        return _not(_eval_tree(tree[1], values, ones))
    op = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}[kind]
    acc = _eval_tree(tree[1], values, ones)
    for sub in tree[2:]:
        acc = op(acc, _eval_tree(sub, values, ones))
    return acc


# -- netlists ---------------------------------------------------------------------------------
@dataclass
class Cell:
    name: str
    type: str
    inputs: dict[str, int]   # pin -> bit id
    outputs: dict[str, int]


@dataclass
class GateNetlist:
    """A flat combinational netlist. Bit ids are Yosys's; 0 and 1 are the constants."""

    top: str
    inputs: dict[str, list[int]]    # port -> bit ids, LSB first
    outputs: dict[str, list[int]]
    cells: list[Cell]               # topological order
    net_names: dict[int, str]       # bit id -> a readable name ("sig" or "sig[3]")

    @property
    def cell_count(self) -> int:
        return len(self.cells)


def read_yosys_json(source: Path | str | dict, top: str,
                    cell_functions: dict[str, dict[str, str]] | None = None) -> GateNetlist:
    """Parse a flat Yosys ``write_json`` netlist (generic gates or library cells).

    Pin directions come from the JSON's ``port_directions``, else from ``cell_functions``
    (output pins are its keys) or the built-in gate table."""
    if isinstance(source, dict):
        data = source
    else:
        try:
            data = json.loads(Path(source).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise AxhwError(f"cannot read Yosys JSON {source}: {exc}") from None
    modules = data.get("modules", {})
    if top not in modules:
        raise AxhwError(f"Yosys JSON has no module {top!r} (modules: {', '.join(modules) or 'none'})")
    mod = modules[top]
    inputs: dict[str, list[int]] = {}
    outputs: dict[str, list[int]] = {}
    for pname, port in mod.get("ports", {}).items():
        bits = [_bit(b) for b in port["bits"]]
        if port["direction"] == "input":
            inputs[pname] = bits
        elif port["direction"] == "output":
            outputs[pname] = bits
        else:
            raise AxhwError(f"{top}: inout port {pname!r} is not supported by the gate evaluator")
    cells = []
    for cname, c in mod.get("cells", {}).items():
        dirs = c.get("port_directions") or _pin_directions(c["type"], c["connections"],
                                                          cell_functions, top)
        ins, outs = {}, {}
        for pin, bits in c["connections"].items():
            if len(bits) != 1:
                raise AxhwError(f"{top}: cell {cname} ({c['type']}) pin {pin} is {len(bits)} bits "
                                "wide; the evaluator needs a netlist of single-bit gates")
            (ins if dirs.get(pin) == "input" else outs)[pin] = _bit(bits[0])
        cells.append(Cell(cname, c["type"], ins, outs))
    names: dict[int, str] = {}
    # Prefer user-visible names (no leading '$') and those Yosys did not mark hidden.
    for nname, net in sorted(mod.get("netnames", {}).items(),
                             key=lambda kv: (kv[1].get("hide_name", 0), kv[0].startswith("$"))):
        bits = net["bits"]
        for k, b in enumerate(bits):
            if isinstance(b, int) and b not in names:
                names[b] = nname if len(bits) == 1 else f"{nname}[{k}]"
    _check_outputs_driven(mod, inputs, cells, top)
    return GateNetlist(top, inputs, outputs, _topological(cells, inputs, top), names)


def _check_outputs_driven(mod: dict, inputs: dict[str, list[int]], cells: list[Cell], top: str) -> None:
    """Every output bit is a 0/1 constant, an input or a gate's output: an X/Z constant or an
    undriven net (what synthesis leaves of a combinational loop such as ``p = ~p``) would be read
    as 0, a number the circuit never computes."""
    driven = {b for bits in inputs.values() for b in bits} | {0, 1}
    driven |= {b for c in cells for b in c.outputs.values()}
    for pname, port in mod.get("ports", {}).items():
        if port["direction"] != "output":
            continue
        for k, b in enumerate(port["bits"]):
            if b in ("x", "z") or (isinstance(b, int) and b not in driven):
                raise AxhwError(f"{top}: output {pname}[{k}] is "
                                + (f"the constant {b!r}" if isinstance(b, str) else "driven by no gate")
                                + " (X, undriven, or a combinational loop): not a value axhw can read")


def _bit(b) -> int:
    if isinstance(b, int):
        return b
    if b in CONST_BITS:
        return CONST_BITS[b]
    raise AxhwError(f"unexpected bit {b!r} in Yosys JSON")


def _pin_directions(ctype: str, conns: dict, cell_functions, top: str) -> dict[str, str]:
    if ctype in BUILTIN_GATES:
        outs = {BUILTIN_GATES[ctype][1]}
    elif cell_functions and ctype in cell_functions:
        outs = set(cell_functions[ctype])
    else:
        raise AxhwError(f"{top}: cell type {ctype} has no pin directions and no function")
    return {pin: ("output" if pin in outs else "input") for pin in conns}


def _topological(cells: list[Cell], inputs: dict[str, list[int]], top: str) -> list[Cell]:
    """Order cells so every cell follows the drivers of its inputs (Kahn); reject loops."""
    driver: dict[int, int] = {}
    for k, c in enumerate(cells):
        for b in c.outputs.values():
            if b in driver or b < 2:
                raise AxhwError(f"{top}: net {b} has more than one driver")
            driver[b] = k
    waiting = [0] * len(cells)
    users: dict[int, list[int]] = {}
    for k, c in enumerate(cells):
        for b in set(c.inputs.values()):
            if b in driver:
                waiting[k] += 1
                users.setdefault(driver[b], []).append(k)
    ready = [k for k in range(len(cells)) if waiting[k] == 0]
    order = []
    while ready:
        k = ready.pop()
        order.append(cells[k])
        for u in users.get(k, ()):
            waiting[u] -= 1
            if waiting[u] == 0:
                ready.append(u)
    if len(order) != len(cells):
        raise AxhwError(f"{top}: combinational loop in the netlist")
    return order


# Techmap rule lowering the carry unit of '+' as a ripple chain (for adders=True).
RIPPLE_LCU = Path(__file__).resolve().parent / "rtl_templates" / "ripple_lcu.v"  # package data


def gate_flow(verilog: Path, top: str, optimize: bool, adders: bool = False) -> list[str]:
    """Yosys commands lowering `verilog` to simple gates (see :func:`generic_netlist`); the
    caller appends the write command (``write_json``, ``write_blif``)."""
    if optimize:
        lower = [f"synth -flatten -top {top}", "abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX"]
    elif adders:  # as below, '+' rippled, then full/half adders found and made $fa cells
        lower = ["proc", "flatten", f"techmap -map +/techmap.v -map {yosys.quote(RIPPLE_LCU)}",
                 "opt_clean -purge", "extract_fa"]
    else:  # semantics-preserving lowering only: every RTL operator becomes its gates
        lower = ["proc", "flatten", "techmap"]
    return [f"read_verilog -sv {yosys.quote(verilog)}", f"hierarchy -check -top {top}", *lower,
            "opt_clean -purge"]


def generic_netlist(verilog: Path | str, top: str, optimize: bool = True,
                    adders: bool = False) -> GateNetlist:
    """Lower `verilog` to Yosys simple gates (cached by content) and parse it. `optimize`:
    synth + abc (fewer gates); False: proc/flatten/techmap only (the RTL operators, bit-blasted).
    `adders` (with optimize=False): '+' lowered as a ripple-carry chain and full/half adders
    extracted as Yosys ``$fa`` cells (outputs X = carry, Y = sum), for algebraic rewriting;
    :func:`evaluate` does not know ``$fa``."""
    if adders and optimize:
        raise ValueError("generic_netlist: adders=True needs optimize=False")
    verilog = Path(verilog)
    check_name(top)
    try:
        text = verilog.read_text()
    except OSError as exc:
        raise AxhwError(f"cannot read Verilog {verilog}: {exc.strerror or exc}") from None
    flow = f"{optimize}+adders" if adders else str(optimize)
    key = NETLISTS.key(flow, top, text, length=24)
    cdir = NETLISTS.dir
    cached = NETLISTS.path(key)
    if not cached.is_file():
        work = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=cdir))
        src = work / "design.v"
        src.write_text(text)
        out = work / "netlist.json"
        yosys.run_script(gate_flow(src, top, optimize, adders)
                         + [f"write_json {yosys.quote(out)}"],
                         work / "yosys.log")
        write_text(cached, out.read_text())
        shutil.rmtree(work, ignore_errors=True)
    return read_yosys_json(cached, top)


# -- evaluation -------------------------------------------------------------------------------
def pack(values: np.ndarray, bits: int) -> list[Words]:
    """Integer values (one per vector) -> per bit, LSB first, the packed uint64 words."""
    values = np.asarray(values, dtype=np.int64)
    n = len(values)
    padded = np.zeros(-(-n // 64) * 64, dtype="<i8")
    padded[:n] = values
    bitmat = np.unpackbits(padded.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    packed = np.packbits(bitmat[:, :bits].T, axis=1, bitorder="little")  # (bits, n/8) bytes
    return list(np.ascontiguousarray(packed).view("<u8").astype(_W, copy=False))


def pack_range(lo: int, n: int, bits: int) -> list[Words]:
    """``pack(np.arange(lo, lo + n), bits)`` without materializing the range (lo % 64 == 0):
    bits 0..5 repeat within every word, higher bits are constant over a word."""
    assert lo % 64 == 0
    word = np.arange(lo // 64, lo // 64 + -(-n // 64), dtype=np.uint64)
    out = []
    for k in range(bits):
        if k < 6:
            pattern = sum(1 << j for j in range(64) if (j >> k) & 1)
            out.append(np.full(len(word), pattern, dtype=_W))
        else:
            out.append((word >> _W(k - 6) & _W(1)) * _W(0xFFFFFFFFFFFFFFFF))
    if n % 64:  # clear the padding vectors past the end
        for w in out:
            w[-1] &= _W((1 << (n % 64)) - 1)
    return out


def unpack(words: list[Words], n: int) -> np.ndarray:
    """Per-bit packed words (LSB first) -> n unsigned integer values (uint64)."""
    if not words:
        return np.zeros(n, dtype=np.uint64)
    return _unpack_words(np.stack(words).astype(np.uint64, copy=False), n)


@numba.njit(cache=True)
def _unpack_words(words, n):  # pragma: no cover - compiled
    # Bit-matrix transpose; numpy's unpackbits/packbits round trip is ~10x slower.
    nbits, nwords = words.shape
    out = np.zeros(nwords * 64, dtype=np.uint64)
    for w in range(nwords):
        for k in range(nbits):
            x = words[k, w]
            if x == 0:
                continue
            bit = np.uint64(1) << np.uint64(k)
            for j in range(64):
                if (x >> np.uint64(j)) & np.uint64(1):
                    out[w * 64 + j] |= bit
    return out[:n]


def compile_cells(nl: GateNetlist, cell_functions) -> list[tuple[Callable, list[int], list[int]]]:
    """Per cell: (function of the packed input words -> tuple of output words, inputs, outputs)."""
    parsed: dict[tuple[str, str], LibertyFunction] = {}
    steps = []
    for c in nl.cells:
        if cell_functions and c.type in cell_functions:
            pins_out = list(cell_functions[c.type])
            fns = []
            for pin in pins_out:
                if (c.type, pin) not in parsed:
                    parsed[(c.type, pin)] = parse_liberty_function(cell_functions[c.type][pin])
                fns.append(parsed[(c.type, pin)])
            missing = {p for f in fns for p in f.pins} - set(c.inputs)
            if missing:
                raise AxhwError(f"cell {c.name} ({c.type}): function uses unconnected pin(s) "
                                f"{', '.join(sorted(missing))}")
            in_pins = list(c.inputs)
            outs = [c.outputs[p] for p in pins_out if p in c.outputs]
            used = [f for p, f in zip(pins_out, fns) if p in c.outputs]

            def lib(*ws, _pins=in_pins, _fns=used):
                vals = dict(zip(_pins, ws[1:]))
                return tuple(f(vals, ws[0]) for f in _fns)

            steps.append((lib, [1] + [c.inputs[p] for p in in_pins], outs))
        elif c.type in BUILTIN_GATES:
            pins, opin, fn = BUILTIN_GATES[c.type]
            try:
                ins = [c.inputs[p] for p in pins]
            except KeyError:
                raise AxhwError(f"cell {c.name} ({c.type}) has unconnected inputs") from None
            steps.append((lambda *ws, _fn=fn: (_fn(*ws),), ins, [c.outputs[opin]]))
        else:
            raise AxhwError(f"cell {c.name}: no function for cell type {c.type} "
                            "(pass its Liberty functions in cell_functions)")
    return steps


def evaluate(netlist: GateNetlist, inputs: dict[str, np.ndarray],
             cell_functions: dict[str, dict[str, str]] | None = None, nets: bool = False):
    """Evaluate the netlist on vectors: ``inputs[port]`` holds one integer per vector.

    Returns ``{output port: uint64 raw values}``; with ``nets=True`` returns
    ``(outputs, {bit id: packed uint64 words})`` for every net (bit k of word w is vector
    64*w + k; bits past the last vector are padding). Names of bit ids: ``netlist.net_names``."""
    missing = set(netlist.inputs) - set(inputs)
    if missing:
        raise AxhwError(f"{netlist.top}: no values for input(s) {', '.join(sorted(missing))}")
    lengths = {len(np.asarray(v)) for v in inputs.values()}
    if len(lengths) > 1:
        raise AxhwError("evaluate: input arrays differ in length")
    n = lengths.pop() if lengths else 0
    packed = {port: pack(inputs[port], len(bits)) for port, bits in netlist.inputs.items()}
    outs, words = run_steps(netlist, compile_cells(netlist, cell_functions), packed, n, keep=nets)
    return (outs, words) if nets else outs


def run_steps(nl: GateNetlist, steps, packed: dict[str, list[Words]], n: int, keep: bool):
    """Evaluate on packed input words; returns (outputs, every net's words if `keep`)."""
    nwords = (n + 63) // 64
    val: dict[int, Words] = {0: np.zeros(nwords, dtype=_W), 1: np.full(nwords, ~_W(0), dtype=_W)}
    for port, bits in nl.inputs.items():
        for b, w in zip(bits, packed[port]):
            if b >= 2:
                val[b] = w
    # Free each net after its last reader (keeps the working set in cache for big chunks).
    last: dict[int, int] = {}
    if not keep:
        for k, (_, ins, _) in enumerate(steps):
            for b in ins:
                last[b] = k
        for bits in nl.outputs.values():
            for b in bits:
                last[b] = len(steps)
    for k, (fn, ins, outs) in enumerate(steps):
        res = fn(*(val[b] for b in ins))
        for b, w in zip(outs, res):
            val[b] = w
        if not keep:
            for b in ins:
                if b >= 2 and last.get(b) == k:
                    del val[b]
    outputs = {port: unpack([val.get(b, val[0]) for b in bits], n)
               for port, bits in nl.outputs.items()}
    return outputs, (val if keep else None)


# -- pair sweeps ------------------------------------------------------------------------------
def check_ports(netlist: GateNetlist, ports, bits_a: int, bits_b: int, out_bits: int) -> None:
    """The design's a, b inputs and p output exist in the netlist with the JSON's widths."""
    pa, pb, pp = ports
    for port, kind, table in ((pa, "input", netlist.inputs), (pb, "input", netlist.inputs),
                              (pp, "output", netlist.outputs)):
        if port not in table:
            have = ", ".join([*netlist.inputs, *netlist.outputs]) or "none"
            raise AxhwError(f"{netlist.top}: no {kind} port {port!r} in the Verilog (ports: "
                            f"{have}): the design JSON and its Verilog disagree")
    widths = (len(netlist.inputs[pa]), len(netlist.inputs[pb]), len(netlist.outputs[pp]))
    if widths != (bits_a, bits_b, out_bits):
        raise AxhwError(f"{netlist.top}: ports {pa}, {pb}, {pp} are {widths[0]}, {widths[1]}, "
                        f"{widths[2]} bits wide, expected {bits_a}, {bits_b}, {out_bits}")


def _pair_inputs(netlist: GateNetlist, ports, bits_b: int, index_bits: list[Words], nwords: int):
    """Split the packed bits of pair indices into the a and b ports (other inputs tied to 0)."""
    pa, pb, _ = ports
    zero = np.zeros(nwords, dtype=_W)
    packed = {p: [zero] * len(bits) for p, bits in netlist.inputs.items()}
    packed[pb] = index_bits[:bits_b]
    packed[pa] = index_bits[bits_b:bits_b + len(netlist.inputs[pa])]
    return packed


def sweep_pairs(netlist: GateNetlist, ports: tuple[str, str, str], bits_a: int, bits_b: int,
                out_bits: int, start: int, stop: int,
                chunk: int = CHUNK) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (first pair index, raw int64 outputs) for consecutive chunks of the pair indices
    [start, stop) (start a multiple of 64): index = a_raw << bits_b | b_raw. One chunk at a time."""
    check_ports(netlist, ports, bits_a, bits_b, out_bits)
    if start % 64 or chunk % 64:
        raise AxhwError("sweep_pairs: start and chunk must be multiples of 64")
    steps = compile_cells(netlist, None)
    for lo in range(start, stop, chunk):
        n = min(chunk, stop - lo)
        bits = pack_range(lo, n, bits_a + bits_b)
        packed = _pair_inputs(netlist, ports, bits_b, bits, len(bits[0]))
        yield lo, run_steps(netlist, steps, packed, n, keep=False)[0][ports[2]].astype(np.int64)


def simulate_pairs(verilog: Path | str, top: str, ports: tuple[str, str, str], bits_a: int,
                   bits_b: int, out_bits: int, index: np.ndarray) -> np.ndarray:
    """Raw output words (int64) for pair indices, like ``run_pairs(...)["outputs"]``."""
    netlist = generic_netlist(verilog, top)
    check_ports(netlist, ports, bits_a, bits_b, out_bits)
    index = np.asarray(index, dtype=np.int64)
    steps = compile_cells(netlist, None)
    parts = []
    for k in range(0, len(index), CHUNK):
        part = index[k:k + CHUNK]
        bits = pack(part, bits_a + bits_b)
        packed = _pair_inputs(netlist, ports, bits_b, bits, len(bits[0]))
        parts.append(run_steps(netlist, steps, packed, len(part), keep=False)[0][ports[2]])
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
