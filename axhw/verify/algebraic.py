"""Algebraic proof that a design's gates compute its golden model (``verify --method formal``
with ``--engine algebraic``): backward rewriting, as in Ciesielski et al. (DAC 2015), RevSCA
(Mahzoon, Große, Drechsler) and AMulet 2 (Kaufmann, Biere, Kauers).

1. The RTL is lowered to Yosys gates with every full/half adder extracted as an atomic ``$fa``
   cell and ``+`` rippled (``netsim.generic_netlist(..., optimize=False, adders=True)``).
2. Starting from the output signature Σ_k 2^k·p_k, every cell output, from the outputs back to
   the inputs, is replaced by the multilinear polynomial of its gate over its inputs (x² = x, so
   a monomial is a set of nets; coefficients mod 2^out_bits). A full adder's sum is replaced by
   the *linear* A + B + C − 2·X (X its carry): in a correct adder tree the carries then cancel,
   which keeps the polynomial small (gate-by-gate rewriting of the same circuit blows up).
3. The result is a polynomial over the operand bits. The specification is the degree-≤2
   multilinear polynomial interpolated from the golden model (Möbius transform of its values on
   inputs with at most two bits set), checked against the golden model on every pair (≤ 20 input
   bits) or on every input with at most three bits set plus random pairs; a golden model that is
   not of that form (rounding, recursive, fixed-width families) is refused in one line.
4. Two multilinear polynomials over 0/1 variables are equal as functions mod 2^n exactly when
   their coefficients are, so equal polynomials prove RTL == specification on every input. A
   nonzero residual gives a counterexample: its smallest monomial set to 1, every other bit 0.

Prefix and lookahead final adders make the rewriting blow up; :mod:`axhw.verify.formal` handles them
by adder substitution (the design is proved equal to its ripple-carry twin by SAT first).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from ..sim import netsim
from ..infra import progress
from ..infra.errors import AxhwError, ToolError, VerificationFailed
from ..design.golden import port_value, to_raw, to_value

__all__ = ["NotApplicable", "Budget", "rewrite", "Operands", "spec_polynomial",
           "check_spec_polynomial", "prove_netlist"]

Monomial = frozenset  # of net ids; the empty set is the constant monomial
Polynomial = dict  # Monomial -> coefficient in 0 .. modulus-1

# Input bits up to which the specification polynomial is checked on every pair.
ALL_PAIRS_BITS = 20
SPEC_SAMPLES = 100_000  # random pairs in that check past ALL_PAIRS_BITS
# Rewriting stops (one-line error) when the polynomial grows past this many monomials.
MAX_MONOMIALS = 200_000


class NotApplicable(AxhwError):
    """The algebraic engine cannot decide this design (its golden model is not of degree ≤ 2)."""


# -- gate polynomials ---------------------------------------------------------------------------
def _truth_table_polynomial(fn, k: int) -> list[tuple[int, int]]:
    """The multilinear polynomial of a k-input Boolean function given on packed words, as
    (subset of input pins as a bit mask, coefficient): Möbius transform of its truth table."""
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    pins = [np.array([ones if (m >> i) & 1 else 0 for m in range(1 << k)], dtype=np.uint64)
            for i in range(k)]
    coef = [int(w & np.uint64(1)) for w in fn(*pins)]
    for i in range(k):
        for m in range(1 << k):
            if (m >> i) & 1:
                coef[m] -= coef[m ^ (1 << i)]
    return [(m, c) for m, c in enumerate(coef) if c]


GATE_POLYNOMIALS = {kind: (pins, out, _truth_table_polynomial(fn, len(pins)))
                    for kind, (pins, out, fn) in netsim.BUILTIN_GATES.items()}
_MAJORITY = _truth_table_polynomial(lambda a, b, c: (a & b) | (a & c) | (b & c), 3)
_XOR3 = _truth_table_polynomial(lambda a, b, c: a ^ b ^ c, 3)
_SUM_LINEAR = [(1, 1), (2, 1), (4, 1)]  # A + B + C (the sum's -2·carry is added separately)


def _on_nets(nets: list[int], poly: list[tuple[int, int]]) -> list[tuple[Monomial, int]]:
    """A pin polynomial with pins replaced by net ids (constant nets 0/1 folded)."""
    out = []
    for mask, c in poly:
        mono = set()
        for i, net in enumerate(nets):
            if (mask >> i) & 1:
                if net == 0:
                    break
                if net != 1:
                    mono.add(net)
        else:
            out.append((frozenset(mono), c))
    return out


# -- backward rewriting -------------------------------------------------------------------------
class _Rewriter:
    """The polynomial with an index net -> monomials containing it, so a substitution touches
    only the monomials it changes."""

    def __init__(self, modulus: int):
        self.modulus = modulus
        self.poly: Polynomial = {}
        self.index: dict[int, set] = {}
        self.peak = 0

    def add(self, mono: Monomial, coef: int) -> None:
        poly = self.poly
        old = poly.get(mono)
        value = ((old or 0) + coef) % self.modulus
        if value:
            if old is None:
                for net in mono:
                    self.index.setdefault(net, set()).add(mono)
            poly[mono] = value
        elif old is not None:
            del poly[mono]
            for net in mono:
                self.index[net].discard(mono)

    def substitute(self, net: int, terms: list[tuple[Monomial, int]]) -> None:
        """Replace variable `net` by the polynomial `terms`."""
        monos = self.index.pop(net, None)
        if not monos:
            return
        taken = []
        for mono in monos:
            coef = self.poly.pop(mono)
            for other in mono:
                if other != net:
                    self.index[other].discard(mono)
            taken.append((mono - {net}, coef))
        for rest, coef in taken:
            for mono, c in terms:
                self.add(rest | mono, coef * c)
        self.peak = max(self.peak, len(self.poly))


@dataclass
class Budget:
    """The time a proof may take (``--timeout``), shared by its steps."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    def check(self, name: str) -> None:
        if self.left() <= 0:
            raise ToolError("algebraic", f"formal proof of {name} did not finish within "
                            f"{self.seconds:.0f} s (raise --timeout, or use --method random)")


def rewrite(netlist: netsim.GateNetlist, output: str, modulus: int,
            budget: Budget | None = None, name: str = "") -> tuple[Polynomial, int]:
    """The polynomial of Σ_k 2^k·output[k] over the netlist's inputs (mod `modulus`), by backward
    rewriting; returns it and the largest number of monomials seen on the way."""
    rw = _Rewriter(modulus)
    for k, net in enumerate(netlist.outputs[output]):
        if net:
            rw.add(frozenset() if net == 1 else frozenset([net]), 1 << k)
    for n, cell in enumerate(reversed(netlist.cells)):
        if budget is not None:
            budget.check(name)
        if len(rw.poly) > MAX_MONOMIALS:
            raise AxhwError(f"{name}: algebraic rewriting blew up ({len(rw.poly):,} monomials "
                            f"after {n:,} of {len(netlist.cells):,} cells); use --engine sat "
                            "or --method random")
        if cell.type == "$fa":
            abc = [cell.inputs[p] for p in "ABC"]
            carry, total = cell.outputs.get("X"), cell.outputs.get("Y")
            if total is not None:
                if carry is None:
                    rw.substitute(total, _on_nets(abc, _XOR3))
                else:
                    rw.substitute(total, _on_nets(abc, _SUM_LINEAR) + [(frozenset([carry]), -2)])
            if carry is not None:
                rw.substitute(carry, _on_nets(abc, _MAJORITY))
            continue
        if cell.type not in GATE_POLYNOMIALS:
            raise AxhwError(f"{name}: cell {cell.name} of type {cell.type} has no polynomial; "
                            "use --engine sat")
        pins, out, poly = GATE_POLYNOMIALS[cell.type]
        rw.substitute(cell.outputs[out], _on_nets([cell.inputs[p] for p in pins], poly))
    return rw.poly, rw.peak


# -- the specification polynomial ---------------------------------------------------------------
@dataclass
class Operands:
    """The operand bits as netlist nets: column k of a bit matrix is net ``nets[k]``; a's bits
    first (LSB first), then b's."""

    nets: list[int]
    bits_a: int
    bits_b: int
    signed: bool

    def values(self, X: np.ndarray):
        """Operand values (A, B) of the 0/1 rows of X (one column per operand bit)."""
        w = np.left_shift(np.int64(1), np.arange(max(self.bits_a, self.bits_b), dtype=np.int64))
        a_raw = (X[:, :self.bits_a].astype(np.int64) * w[:self.bits_a]).sum(axis=1)
        b_raw = (X[:, self.bits_a:].astype(np.int64) * w[:self.bits_b]).sum(axis=1)
        return to_value(a_raw, self.bits_a, self.signed), to_value(b_raw, self.bits_b, self.signed)


def _golden_mod(spec, ops: Operands, X: np.ndarray, out_bits: int) -> np.ndarray:
    """golden(rows of X) mod 2^out_bits as uint64."""
    raw = to_raw(spec.golden(*ops.values(X)), out_bits)
    return np.asarray(raw).astype(np.uint64)


def spec_polynomial(spec, ops: Operands) -> Polynomial:
    """The degree-≤2 multilinear polynomial through the golden model's values at the inputs with
    at most two bits set (Möbius: c_i = f(e_i) - f(0),
    c_ij = f(e_i + e_j) - f(e_i) - f(e_j) + f(0))."""
    n = len(ops.nets)
    modulus = 1 << spec.out_bits
    pairs = list(combinations(range(n), 2))
    X = np.zeros((1 + n + len(pairs), n), dtype=np.uint8)
    for i in range(n):
        X[1 + i, i] = 1
    for r, (i, j) in enumerate(pairs):
        X[1 + n + r, [i, j]] = 1
    f = [int(v) for v in _golden_mod(spec, ops, X, spec.out_bits)]
    poly: Polynomial = {}
    const = f[0] % modulus
    if const:
        poly[frozenset()] = const
    for i in range(n):
        c = (f[1 + i] - f[0]) % modulus
        if c:
            poly[frozenset([ops.nets[i]])] = c
    for r, (i, j) in enumerate(pairs):
        c = (f[1 + n + r] - f[1 + i] - f[1 + j] + f[0]) % modulus
        if c:
            poly[frozenset([ops.nets[i], ops.nets[j]])] = c
    return poly


def check_spec_polynomial(spec, ops: Operands, poly: Polynomial, seed: int = 1) -> str:
    """Compare the polynomial with the golden model: on every pair up to ALL_PAIRS_BITS input
    bits, else on every input with at most three bits set and SPEC_SAMPLES random pairs. Returns
    what was checked; raises NotApplicable on a difference."""
    n = len(ops.nets)
    if n <= ALL_PAIRS_BITS:
        idx = np.arange(1 << n, dtype=np.int64)
        X = ((idx[:, None] >> np.arange(n)) & 1).astype(np.uint8)
        what = f"every pair ({1 << n:,})"
    else:
        triples = list(combinations(range(n), 3))
        low = np.zeros((len(triples), n), dtype=np.uint8)
        for r, t in enumerate(triples):
            low[r, list(t)] = 1
        rand = np.random.default_rng(seed).integers(0, 2, size=(SPEC_SAMPLES, n), dtype=np.uint8)
        X = np.concatenate([low, rand])
        what = (f"{len(X):,} pairs (all {len(triples):,} with three bits set, "
                f"{SPEC_SAMPLES:,} random)")
    mask = np.uint64((1 << spec.out_bits) - 1)
    col = {net: k for k, net in enumerate(ops.nets)}
    for lo in range(0, len(X), 1 << 18):
        part = X[lo:lo + (1 << 18)]
        value = np.zeros(len(part), dtype=np.uint64)
        for mono, c in poly.items():
            term = np.full(len(part), np.uint64(c), dtype=np.uint64)
            for net in mono:
                term *= part[:, col[net]].astype(np.uint64)
            value += term
        bad = np.nonzero((value & mask) != _golden_mod(spec, ops, part, spec.out_bits))[0]
        if len(bad):
            A, B = ops.values(part[bad[:1]])
            raise NotApplicable(
                f"the algebraic engine does not apply to {spec.top}: its golden model is not a "
                f"polynomial of degree <= 2 in the operand bits (differs at a={int(A[0])} "
                f"b={int(B[0])}); use --engine sat (small widths) or --method exhaustive/random")
    return what


# -- the proof ----------------------------------------------------------------------------------
@dataclass
class AlgebraicProof:
    cells: int
    peak_monomials: int
    spec_terms: int
    spec_check: str
    seconds: float


def prove_netlist(spec, verilog, top: str, budget: Budget | None = None,
                  seed: int = 1) -> AlgebraicProof:
    """Prove that the Verilog `top` (ports a, b, p) computes ``spec.golden`` mod 2^out_bits.
    Raises VerificationFailed with a counterexample confirmed by gate-level simulation."""
    t0 = time.perf_counter()
    progress.step(f"{top}: lowering to gates and full adders (Yosys)")
    nl = netsim.generic_netlist(verilog, top, optimize=False, adders=True)
    ops = Operands(list(nl.inputs["a"]) + list(nl.inputs["b"]), spec.bits_a, spec.bits_b,
                   spec.signed)
    progress.step(f"{top}: specification polynomial from the golden model")
    want = spec_polynomial(spec, ops)
    checked = check_spec_polynomial(spec, ops, want, seed)
    progress.step(f"{top}: backward rewriting of {len(nl.cells):,} cells")
    modulus = 1 << spec.out_bits
    got, peak = rewrite(nl, "p", modulus, budget, top)
    residual = dict(got)
    for mono, c in want.items():
        value = (residual.get(mono, 0) - c) % modulus
        if value:
            residual[mono] = value
        else:
            residual.pop(mono, None)
    if residual:
        raise _counterexample(spec, verilog, top, ops, residual)
    return AlgebraicProof(len(nl.cells), peak, len(want), checked, time.perf_counter() - t0)


def _counterexample(spec, verilog, top: str, ops: Operands, residual: Polynomial) -> AxhwError:
    """Set the residual's smallest monomial to 1 and every other bit to 0: the residual's value
    there is that monomial's coefficient, nonzero. Confirmed by gate-level simulation."""
    stray = {net for mono in residual for net in mono} - set(ops.nets)
    if stray:
        raise AxhwError(f"{top}: the rewritten polynomial depends on nets that are not operand "
                        f"bits (undriven wires?); use --engine sat")
    mono = min(residual, key=lambda m: (len(m), sorted(m)))
    X = np.array([[1 if net in mono else 0 for net in ops.nets]], dtype=np.uint8)
    A, B = ops.values(X)
    a_raw = int(to_raw(A, spec.bits_a)[0])
    b_raw = int(to_raw(B, spec.bits_b)[0])
    index = np.array([(a_raw << spec.bits_b) | b_raw],
                     dtype=np.uint64 if spec.bits_a + spec.bits_b > 62 else np.int64)
    rtl = netsim.simulate_pairs(verilog, top, ("a", "b", "p"), spec.bits_a, spec.bits_b,
                                spec.out_bits, index)
    mask = np.uint64((1 << spec.out_bits) - 1)
    got = np.asarray(rtl).astype(np.uint64) & mask
    want = _golden_mod(spec, ops, X, spec.out_bits)
    a, b = int(A[0]), int(B[0])
    if got[0] == want[0]:
        raise NotApplicable(f"the algebraic engine does not apply to {top}: the golden model is "
                            f"not of degree <= 2 at a={a} b={b}; use --engine sat or --method "
                            "exhaustive/random")
    design = int(port_value(got, spec.out_bits, spec.out_signed)[0])
    reference = int(port_value(want, spec.out_bits, spec.out_signed)[0])
    return VerificationFailed(f"{top}: formal proof FAILED, counterexample a={a} b={b} "
                              f"design={design} reference={reference} (algebraic)")
