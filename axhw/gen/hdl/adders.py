"""Carry-propagate adders built from gates: the final adder of the tree multipliers.

``add(nl, name, x, y)`` returns the sum bits of two equal-width rows (mod 2^W, or W+1 bits with
``carry_out``). ``synth`` is not here: it is the behavioural ``+`` that ``trees.emit_product``
leaves to the synthesizer. Every other adder is structural, with the names of ArithsGen
(Klhufek et al. 2022):

- ``rca``: full-adder chain; ``pg_rca``: ripple of generate/propagate (AND-OR) carries.
- ``cla``: 4-bit carry-lookahead blocks (two-level carry logic inside, ripple between blocks).
- ``carry_skip``, ``carry_select``, ``carry_increment``: 4-bit ripple blocks whose block carry
  is bypassed, selected by a multiplexer, or added by an incrementer.
- ``conditional_sum``: Sklansky's recursive selection of both-carry-in results.
- parallel-prefix: ``kogge_stone``, ``brent_kung``, ``sklansky``, ``han_carlson``,
  ``ladner_fischer`` (Sklansky on odd bits between one Brent-Kung level in and out), ``knowles``
  ([2,1,...,1]: Kogge-Stone with lateral fanout 2 in the last level). A prefix network is a
  list of levels of (i, j) pairs: node i absorbs node j (j < i) with
  (G, P)_i = (G_i | P_i·G_j, P_i·P_j), all pairs of a level reading the previous level.

Without a carry-in, carry c_(i+1) is the group generate G[i:0]; only the carries that a sum (or
the carry-out) reads are built, and no group propagate that reaches bit 0, so no dead logic
is left for the synthesizer to sweep.
"""

from __future__ import annotations

from collections.abc import Callable

from .netlist import ONE, ZERO, Netlist

__all__ = ["kogge_stone", "sklansky", "brent_kung", "knowles", "han_carlson", "ladner_fischer",
           "PREFIX_NETWORKS", "pg_rca", "cla", "carry_skip", "carry_select", "carry_increment",
           "conditional_sum", "ADDERS", "add"]

BLOCK = 4  # block size of cla / carry_skip / carry_select / carry_increment (ArithsGen's default)

Level = list[tuple[int, int]]


# -- prefix networks: n positions -> levels of (i, j) ------------------------------------------
def _log2_ceil(n: int) -> int:
    return max(0, (n - 1).bit_length())


def kogge_stone(n: int) -> list[Level]:
    return [[(i, i - d) for i in range(d, n)] for d in (1 << k for k in range(_log2_ceil(n)))]


def sklansky(n: int) -> list[Level]:
    return [[(i, ((i >> k) << k) - 1) for i in range(n) if (i >> k) & 1]
            for k in range(_log2_ceil(n))]


def brent_kung(n: int) -> list[Level]:
    levels = _log2_ceil(n)
    up = [[(i, i - (1 << k)) for i in range((2 << k) - 1, n, 2 << k)] for k in range(levels)]
    down = [[(i, i - (1 << k)) for i in range(3 * (1 << k) - 1, n, 2 << k)]
            for k in reversed(range(levels - 1))]
    return [lv for lv in up + down if lv]


def knowles(n: int) -> list[Level]:
    """Knowles [2,1,...,1]: the last level's node i takes ((i - d) | 1), fanout 2."""
    levels = kogge_stone(n)
    if len(levels) >= 2:
        d = 1 << (len(levels) - 1)
        levels[-1] = [(i, (i - d) | 1) for i in range(d, n)]
    return levels


def _sparse(inner: Callable[[int], list[Level]]) -> Callable[[int], list[Level]]:
    """``inner`` on the odd positions, between one Brent-Kung level in (odd i takes i-1) and one
    out (even i takes i-1): Han-Carlson from Kogge-Stone, Ladner-Fischer from Sklansky."""
    def network(n: int) -> list[Level]:
        odd = list(range(1, n, 2))
        middle = [[(odd[i], odd[j]) for i, j in lv] for lv in inner(len(odd))]
        return [[(i, i - 1) for i in odd]] + middle + [[(i, i - 1) for i in range(2, n, 2)]]
    return network


han_carlson = _sparse(kogge_stone)
ladner_fischer = _sparse(sklansky)

PREFIX_NETWORKS: dict[str, Callable[[int], list[Level]]] = {
    "kogge_stone": kogge_stone, "brent_kung": brent_kung, "sklansky": sklansky,
    "han_carlson": han_carlson, "ladner_fischer": ladner_fischer, "knowles": knowles,
}


# -- carry networks: (g, p) of positions 0..n-1 -> carries c_1..c_n (no carry-in) ---------------
def _prefix_carries(network: Callable[[int], list[Level]]):
    def carries(nl: Netlist, g: list[str], p: list[str]) -> list[str]:
        n = len(g)
        G, P = list(g), list(p)
        low = list(range(n))  # lowest bit each node's group covers
        for level in network(n):
            newG, newP, newlow = list(G), list(P), list(low)
            for i, j in level:
                if not (low[i] - 1 <= j < i and low[j] < low[i]):
                    raise AssertionError(f"prefix network: ({i}, {j}) does not extend node {i}")
                newG[i] = nl.or2(G[i], nl.and2(P[i], G[j]))
                newlow[i] = low[j]
                # A group that reaches bit 0 is a carry: its propagate is never read.
                newP[i] = nl.and2(P[i], P[j]) if low[j] > 0 else ZERO
            G, P, low = newG, newP, newlow
        if any(low):
            raise AssertionError("prefix network does not reach bit 0 everywhere")
        return G
    return carries


def _ripple(nl: Netlist, g: list[str], p: list[str], cin: str) -> list[str]:
    out, c = [], cin
    for gi, pi in zip(g, p):
        c = nl.or2(gi, nl.and2(pi, c))
        out.append(c)
    return out


def _blocks(n: int):
    return [(lo, min(lo + BLOCK, n)) for lo in range(0, n, BLOCK)]


def _and_all(nl: Netlist, sigs: list[str]) -> str:
    acc = sigs[0]
    for s in sigs[1:]:
        acc = nl.and2(acc, s)
    return acc


def pg_rca(nl: Netlist, g, p) -> list[str]:
    return _ripple(nl, g, p, ZERO)


def cla(nl: Netlist, g, p) -> list[str]:
    """Inside a block, c_(k+1) = g_k | p_k g_(k-1) | ... | p_k..p_lo c_lo, each as its own
    two-level sum of products (no carry ripples through the block)."""
    out, cin = [], ZERO
    for lo, hi in _blocks(len(g)):
        for k in range(lo, hi):
            terms = [_and_all(nl, p[m + 1:k + 1] + [g[m]]) for m in range(lo, k + 1)]
            terms.append(_and_all(nl, p[lo:k + 1] + [cin]))
            c = terms[0]
            for t in terms[1:]:
                c = nl.or2(c, t)
            out.append(c)
        cin = out[-1]
    return out


def carry_skip(nl: Netlist, g, p) -> list[str]:
    out, cin = [], ZERO
    for lo, hi in _blocks(len(g)):
        out += _ripple(nl, g[lo:hi], p[lo:hi], cin)
        # The block's carry-out skips the ripple when every bit propagates.
        out[-1] = nl.mux2(_and_all(nl, p[lo:hi]), out[-1], cin)
        cin = out[-1]
    return out


def carry_select(nl: Netlist, g, p) -> list[str]:
    out, cin = [], ZERO
    for lo, hi in _blocks(len(g)):
        if cin == ZERO:
            out += _ripple(nl, g[lo:hi], p[lo:hi], ZERO)
        else:
            c0 = _ripple(nl, g[lo:hi], p[lo:hi], ZERO)
            c1 = _ripple(nl, g[lo:hi], p[lo:hi], ONE)
            out += [nl.mux2(cin, x0, x1) for x0, x1 in zip(c0, c1)]
        cin = out[-1]
    return out


def carry_increment(nl: Netlist, g, p) -> list[str]:
    """Each block ripples with carry-in 0; the real carry-in is added afterwards through the
    block's running propagate: c = c0 | P[k:lo]·cin."""
    out, cin = [], ZERO
    for lo, hi in _blocks(len(g)):
        c0 = _ripple(nl, g[lo:hi], p[lo:hi], ZERO)
        run = ZERO if cin == ZERO else p[lo]
        for k, c in enumerate(c0):
            if k:
                run = nl.and2(run, p[lo + k])
            out.append(nl.or2(c, nl.and2(run, cin)))
        cin = out[-1]
    return out


def conditional_sum(nl: Netlist, g, p) -> list[str]:
    def both(lo: int, hi: int, need1: bool) -> tuple[list[str], list[str]]:
        """Carries out of positions lo..hi-1 for carry-in 0 and (if need1) carry-in 1."""
        if hi - lo == 1:
            return [g[lo]], ([nl.or2(g[lo], p[lo])] if need1 else [])
        mid = (lo + hi) // 2
        l0, l1 = both(lo, mid, need1)
        h0, h1 = both(mid, hi, True)
        sel0 = [nl.mux2(l0[-1], a, b) for a, b in zip(h0, h1)]
        sel1 = [nl.mux2(l1[-1], a, b) for a, b in zip(h0, h1)] if need1 else []
        return l0 + sel0, (l1 + sel1 if need1 else [])
    return both(0, len(g), False)[0] if g else []


CARRY_NETWORKS: dict[str, Callable[[Netlist, list[str], list[str]], list[str]]] = {
    "pg_rca": pg_rca, "cla": cla, "carry_skip": carry_skip, "carry_select": carry_select,
    "carry_increment": carry_increment, "conditional_sum": conditional_sum,
    **{name: _prefix_carries(net) for name, net in PREFIX_NETWORKS.items()},
}

# "synth" = behavioural "+" (trees.emit_product); the rest are built here.
ADDERS: tuple[str, ...] = ("synth", "rca", *CARRY_NETWORKS)


def _rca(nl: Netlist, x: list[str], y: list[str], carry_out: bool) -> list[str]:
    out, c = [], ZERO
    for i, (xi, yi) in enumerate(zip(x, y)):
        if i == len(x) - 1 and not carry_out:
            out.append(nl.xor2(nl.xor2(xi, yi), c))
        else:
            s, c = nl.fa(xi, yi, c, tag="rca")
            out.append(s)
    return out + ([c] if carry_out else [])


def add(nl: Netlist, name: str, x: list[str], y: list[str], carry_out: bool = False) -> list[str]:
    """Sum bits of x + y (LSB first): len(x) bits, plus the carry-out with `carry_out`."""
    if len(x) != len(y):
        raise ValueError("adder rows differ in width")
    if name == "rca":
        return _rca(nl, x, y, carry_out)
    if name not in CARRY_NETWORKS:
        raise ValueError(f"unknown structural adder {name!r}")
    n = len(x)
    p = [nl.xor2(a, b) for a, b in zip(x, y)]
    need = n if carry_out else n - 1  # the carry out of the top bit is read only as carry-out
    g = [nl.and2(a, b) for a, b in zip(x[:need], y[:need])]
    c = [ZERO] + (CARRY_NETWORKS[name](nl, g, p[:need]) if need else [])
    return [nl.xor2(p[i], c[i]) for i in range(n)] + ([c[n]] if carry_out else [])
