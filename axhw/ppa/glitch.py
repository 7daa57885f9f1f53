"""Glitch-aware switching activity: event-driven simulation of a mapped netlist with cell delays.

``read_sdf_delays(path) -> {(instance, input pin, output pin): (rise, fall)}``
    The IOPATH delays OpenSTA wrote (``write_sdf``) at each cell's real load and input slew
    (the mean of SDF's min and max values, and of an arc's COND variants; the time unit does not
    matter, only the ratios).

``glitch_toggles(netlist, functions, delays, inputs) -> {bit id: toggles}``
    Simulates every transition between consecutive input vectors at once (numpy over the
    transitions): the input ports switch at time 0, each cell output follows its Liberty function
    after the delay of the arc whose input changed last, with inertial delay (a pulse shorter than
    that delay is swallowed, as in VHDL's default). A net's waveform per transition is its settled
    value plus the sorted times of its toggles (padded with inf), so the count includes every
    glitch. Every net's final value is checked against the zero-delay evaluation of the next vector.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..infra.errors import AxhwError
from ..sim.netsim import GateNetlist, parse_liberty_function

__all__ = ["read_sdf_delays", "glitch_toggles"]

_CELL = re.compile(r"\(INSTANCE\s*([^)]*)\)")
_IOPATH = re.compile(r"\(IOPATH\s+([^\s()]+)\s+([^\s()]+)\s+\(([^)]*)\)(?:\s+\(([^)]*)\))?")


def _sdf_value(text: str) -> float:
    nums = [float(x) for x in text.split(":") if x.strip()]
    if not nums:
        raise AxhwError(f"SDF: empty delay value ({text!r})")
    return (min(nums) + max(nums)) / 2


def read_sdf_delays(path: Path | str) -> dict[tuple[str, str, str], tuple[float, float]]:
    arcs: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    instance = None
    for line in Path(path).read_text().splitlines():
        m = _CELL.search(line)
        if m:
            instance = m.group(1).strip().replace("\\", "")
            continue
        m = _IOPATH.search(line)
        if m and instance:
            rise = _sdf_value(m.group(3))  # one value: rise and fall alike
            arcs.setdefault((instance, m.group(1), m.group(2)), []).append(
                (rise, _sdf_value(m.group(4)) if m.group(4) is not None else rise))
    return {k: tuple(np.mean(v, axis=0)) for k, v in arcs.items()}


class _Wave:
    """Per transition (row): the value before it and the sorted times of the net's toggles."""

    def __init__(self, init: np.ndarray, times: np.ndarray):
        self.init, self.times = init, times


def _cell_delays(cell, outs: list[str], delays) -> np.ndarray:
    """(outputs, inputs, 2) arc delays [fall, rise] (an arc without an IOPATH: the cell's
    mean delay to that output)."""
    ins = list(cell.inputs)
    table = np.full((len(outs), len(ins), 2), np.nan)
    for o, opin in enumerate(outs):
        for i, ipin in enumerate(ins):
            d = delays.get((cell.name, ipin, opin))
            if d is not None:
                table[o, i] = (d[1], d[0])
        if not ins:  # a tie cell: its output never switches
            continue
        if np.isnan(table[o]).all():
            raise AxhwError(f"SDF: no delay for cell {cell.name} ({cell.type}) output {opin}")
        table[o][np.isnan(table[o])] = np.nanmean(table[o])
    return table


def _inertial(cand_t, cand_src, new, init, delay) -> np.ndarray:
    """Output toggle times of one output: `new` (rows x candidates) is the function's value after
    each input event; an event schedules the output change after its arc's delay, and a pending
    change that an opposite event overtakes before it happens is cancelled."""
    n, c = new.shape
    out = init.copy()
    pend = np.zeros(n, dtype=bool)
    pt = np.full(n, np.inf)
    events = np.full((n, c + 1), np.inf)
    for j in range(c):
        t = cand_t[:, j]
        live = np.isfinite(t)
        matured = pend & (pt <= t)
        events[matured, j] = pt[matured]
        out ^= matured
        pend &= ~matured
        v = new[:, j]
        cancel = live & pend & (v == out)
        pend &= ~cancel
        start = live & ~pend & (v != out)
        d = delay[np.where(live, cand_src[:, j], 0), v.astype(np.intp)]
        pt = np.where(start, t + d, pt)
        pend |= start
    events[pend, c] = pt[pend]
    events.sort(axis=1)
    used = np.isfinite(events).any(axis=0)
    return events[:, :used.nonzero()[0][-1] + 1] if used.any() else events[:, :0]


def glitch_toggles(netlist: GateNetlist, functions: dict[str, dict[str, str]], delays,
                   inputs: dict[str, np.ndarray]) -> dict[int, int]:
    """Toggles of every net over all transitions of the vector stream `inputs` (port -> values)."""
    n = len(next(iter(inputs.values())))
    rows = n - 1
    waves: dict[int, _Wave] = {0: _Wave(np.zeros(rows, bool), np.zeros((rows, 0))),
                               1: _Wave(np.ones(rows, bool), np.zeros((rows, 0)))}
    final: dict[int, np.ndarray] = {0: np.zeros(rows, bool), 1: np.ones(rows, bool)}
    for port, bits in netlist.inputs.items():
        v = np.asarray(inputs[port], dtype=np.int64)
        for k, b in enumerate(bits):
            x = ((v >> k) & 1).astype(bool)
            if b >= 2:
                waves[b] = _Wave(x[:-1], np.where(x[:-1] != x[1:], 0.0, np.inf)[:, None])
                final[b] = x[1:]
    parsed = {}
    for cell in netlist.cells:
        if cell.type not in functions:
            raise AxhwError(f"cell {cell.name}: no Liberty function for {cell.type}")
        outs = [p for p in functions[cell.type] if p in cell.outputs]
        fns = [parsed.setdefault((cell.type, p), parse_liberty_function(functions[cell.type][p]))
               for p in outs]
        ins = list(cell.inputs)
        src = [waves[cell.inputs[p]] for p in ins]
        # Candidate events: every input toggle (none for a tie cell).
        cand_t = np.concatenate([np.zeros((rows, 0))] + [w.times for w in src], axis=1)
        cand_src = np.concatenate([np.zeros((rows, 0), dtype=np.intp)] +
                                  [np.full(w.times.shape, i) for i, w in enumerate(src)], axis=1)
        order = np.argsort(cand_t, axis=1, kind="stable")
        cand_t = np.take_along_axis(cand_t, order, axis=1)
        cand_src = np.take_along_axis(cand_src, order, axis=1)
        # Each input's value after each event: its initial value flipped by its events so far.
        vals = {p: w.init[:, None] ^ (np.cumsum(cand_src == i, axis=1) & 1).astype(bool)
                for i, (p, w) in enumerate(zip(ins, src))}
        init = {p: w.init for p, w in zip(ins, src)}
        last = {p: final[cell.inputs[p]] for p in ins}
        table = _cell_delays(cell, outs, delays)
        ones_c, ones_r = np.ones(cand_t.shape, bool), np.ones(rows, bool)
        for o, (pin, fn) in enumerate(zip(outs, fns)):
            b = cell.outputs[pin]
            start = fn(init, ones_r)
            times = _inertial(cand_t, cand_src, fn(vals, ones_c), start, table[o])
            waves[b] = _Wave(start, times)
            final[b] = fn(last, ones_r)
            settled = start ^ (np.isfinite(times).sum(axis=1) & 1).astype(bool)
            if not np.array_equal(settled, final[b]):
                raise AxhwError(f"glitch simulation: net of {cell.name}/{pin} does not settle "
                                "to its zero-delay value")
    return {b: int(np.isfinite(w.times).sum()) for b, w in waves.items()}
