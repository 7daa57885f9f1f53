"""Area, maximum frequency, power and energy per MAC of a systolic array on a cell library.

The clocked flavour of :mod:`axhw.ppa.characterize`, built from the same pieces: Yosys synthesis with
``dfflibmap`` (:func:`axhw.ppa.synth.synthesize`), OpenSTA with a real clock on ``clk``
(:func:`axhw.ppa.sta.sta`: delay = minimum period incl. clock-to-Q and setup), and switching activity
from a simulated GEMM workload on the *mapped* netlist:

* the flip-flops are cut out of the netlist (their outputs become inputs of the combinational
  rest, evaluated by :mod:`axhw.sim.netsim` from the cells' Liberty functions; their next state comes
  from the Liberty ``ff`` group), and the netlist is clocked cycle by cycle;
* ``LANES`` independent workloads run side by side (one per bit of the packed words): reset, load a
  random weight tile (one row per cycle), then stream random activation vectors back to back with
  ``out_ready`` high; toggles and static probabilities of every net are counted over ``window``
  cycles in which every PE holds a valid vector (the steady state of a GEMM);
* every result the mapped netlist produces is checked against the functional model, so the power
  belongs to a netlist that computes the array.

Energy per MAC = power x clock period / (rows x cols): one vector per clock, rows x cols MACs each.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..ppa.activity import ZERO_DELAY, Activity, cell_pin_names, port_bit_names
from ..infra.cache import VERSIONS
from ..ppa.characterize import CachedRun, check_clock
from ..design.record import Design
from ..infra.errors import AxhwError, ToolError
from ..design.golden import port_value
from ..sim.netsim import (CONST_BITS, compile_cells, run_steps,
    parse_liberty_function, read_yosys_json, unpack)
from ..ppa.pdk import CellLibrary
from ..ppa.sta import CLOCK_TOGGLES, LOAD_INVERTERS, sta
from ..ppa.synth import synthesize
from .design import array_from_dict
from .model import functional

FLOW = VERSIONS["systolic"]  # part of the cache key, reported with every result

__all__ = ["gemm_activity", "characterize_array", "ROWS", "format_array"]
LANES = 64


@dataclass(frozen=True)
class FlopModel:
    """A library flip-flop: positive-edge, no asynchronous pins. Its next state is a function of
    its data pins and maybe its own state (enable flip-flops: ``(D&DE) | (IQ&!DE)``)."""

    clock_pin: str
    state: tuple[str, str]  # the ff group's variables: state and inverted state
    next_state: object  # LibertyFunction of the data pins and the state variables
    outputs: dict[str, bool]  # output pin -> inverted (reads the ff's second variable)

    @property
    def data_pins(self) -> list[str]:
        return [p for p in self.next_state.pins if p not in self.state]


@lru_cache(maxsize=None)
def flop_model(liberty_files: tuple[Path, ...], cell: str) -> FlopModel:
    """Read the ``ff`` group of `cell` (liberty-parser on that cell's text only: whole libraries
    take long to parse and axhw.ppa.pdk keeps no ff facts)."""
    from liberty.parser import parse_liberty  # noqa: PLC0415

    head = re.compile(r'\bcell\s*\(\s*"?' + re.escape(cell) + r'"?\s*\)\s*\{')
    for path in liberty_files:
        text = Path(path).read_text(errors="replace")
        m = head.search(text)
        if m:
            break
    else:
        raise AxhwError(f"flip-flop cell {cell} not found in the Liberty files")
    depth, end = 0, m.end() - 1
    for end in range(m.end() - 1, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            break
    group = parse_liberty("library (axhw) {\n" + text[m.start():end + 1] + "\n}\n")
    (cell_group,) = group.get_groups("cell")
    ffs = cell_group.get_groups("ff")
    if len(ffs) != 1 or any(ffs[0].get(k) is not None for k in ("clear", "preset")):
        raise AxhwError(f"flip-flop {cell}: only plain D flip-flops (one ff group, no clear/"
                        "preset) are supported by the array power flow")
    ff = ffs[0]
    state, inv_state = (str(a).strip('"') for a in ff.args)
    clocked_on = str(ff.get("clocked_on")).strip('"').strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", clocked_on):
        raise AxhwError(f"flip-flop {cell}: clocked_on {clocked_on!r} is not a rising-edge pin")
    outputs = {}
    for pin in cell_group.get_groups("pin"):
        fn = pin.get("function")
        if fn is None or str(pin.get("direction")).strip('"') != "output":
            continue
        fn = str(fn).strip('"').strip()
        if fn not in (state, inv_state):
            raise AxhwError(f"flip-flop {cell}: output function {fn!r} is not its state")
        outputs[str(pin.args[0]).strip('"')] = fn == inv_state
    return FlopModel(clocked_on, (state, inv_state),
                     parse_liberty_function(str(ff.get("next_state")).strip('"')), outputs)


def _pack_bits(bits: np.ndarray) -> list[np.ndarray]:
    """(LANES, width) array of 0/1 -> per bit, its packed uint64 words over the lanes."""
    packed = np.packbits(bits.astype(np.uint8).T, axis=1, bitorder="little")
    return list(np.ascontiguousarray(packed).view("<u8").astype(np.uint64))


def _port_bits(values: np.ndarray, width: int) -> np.ndarray:
    """(LANES, k) raw words of `width` bits -> (LANES, k*width) bits, word 0 lowest."""
    shifts = np.arange(width, dtype=np.int64)
    return ((values[:, :, None] >> shifts) & 1).reshape(values.shape[0], -1)


class GateLevelArray:
    """The mapped netlist, clocked: flops cut out, combinational rest from netsim."""

    def __init__(self, synthesis, library: CellLibrary):
        data = json.loads(Path(synthesis.netlist_json).read_text())
        mod = data["modules"][synthesis.top]
        self.data, self.top = data, synthesis.top
        self.clk = mod["ports"]["clk"]["bits"][0]
        comb, self.flops = {}, []
        q_bits = []
        for name, cell in mod["cells"].items():
            if not library.cells.get(cell["type"], {}).get("sequential"):
                comb[name] = cell
                continue
            ff = flop_model(tuple(library.files), cell["type"])
            conns = {pin: b if isinstance(b, int) else CONST_BITS[b]
                     for pin, (b,) in cell["connections"].items()}
            if conns.get(ff.clock_pin) != self.clk:
                raise AxhwError(f"flip-flop {name} is not clocked by clk")
            outs = {pin: conns[pin] for pin in ff.outputs if pin in conns}
            self.flops.append((name, ff, {p: conns[p] for p in ff.data_pins}, outs))
            q_bits += list(outs.values())
        ports = {**mod["ports"], "__ffq": {"direction": "input", "bits": q_bits}}
        cut = {"modules": {self.top: {**mod, "ports": ports, "cells": comb}}}
        self.netlist = read_yosys_json(cut, self.top, library.cell_functions())
        self.steps = compile_cells(self.netlist, library.cell_functions())
        self.words = LANES // 64
        self.state = [np.zeros(self.words, dtype=np.uint64) for _ in self.flops]
        # Nets whose activity OpenSTA gets: every cell output pin and every input port bit.
        self.pins = [(f"{c.name}/{p}", b) for c in self.netlist.cells for p, b in c.outputs.items()]
        self.pins += [(f"{name}/{p}", b) for name, _, _, outs in self.flops for p, b in outs.items()]
        # Every cell pin with its net (the flops' data pins read the combinational nets; their
        # clock pins toggle CLOCK_TOGGLES times per period, `clock_pins`).
        self.cell_pins = cell_pin_names(self.netlist.cells) + [
            (f"{name}/{p}", b) for name, _, ins, outs in self.flops for p, b in {**ins, **outs}.items()]
        self.clock_pins = [f"{name}/{ff.clock_pin}" for name, ff, _, _ in self.flops]
        self.port_names = {b: n for b, n in port_bit_names(data, self.top).items() if b != self.clk}

    def cycle(self, inputs: dict[str, list[np.ndarray]]) -> dict[int, np.ndarray]:
        """Evaluate one clock period (inputs: port -> packed words per bit), then clock the
        flops; return every net's words during the period."""
        ones = np.full(self.words, np.uint64(0xFFFFFFFFFFFFFFFF))
        q = [(~s if inv else s) for s, (_, ff, _, outs) in zip(self.state, self.flops)
             for inv in (ff.outputs[p] for p in outs)]
        _, val = run_steps(self.netlist, self.steps, {**inputs, "__ffq": q}, LANES, keep=True)
        self.state = [ff.next_state({**{p: val[b] for p, b in ins.items()},
                                     ff.state[0]: s, ff.state[1]: ~s}, ones)
                      for s, (_, ff, ins, _) in zip(self.state, self.flops)]
        return val


def gemm_activity(syn, library: CellLibrary, arr, window: int, seed: int) -> tuple[Activity, int]:
    """Run the GEMM workload on the mapped netlist; return its activity over the steady-state
    window and the number of result vectors checked against the functional model."""
    gl = GateLevelArray(syn, library)
    rng = np.random.default_rng(seed)
    R, C, L = arr.rows, arr.cols, arr.latency
    S = L + window  # vectors streamed: the pipeline is full for `window` cycles
    X = rng.integers(0, 1 << arr.bits_a, size=(LANES, S, R), dtype=np.int64)
    W = rng.integers(0, 1 << arr.bits_b, size=(LANES, R, C), dtype=np.int64)
    widths = {n: len(b) for n, b in gl.netlist.inputs.items() if n != "__ffq"}
    zeros = {n: [np.zeros(gl.words, dtype=np.uint64)] * w for n, w in widths.items()}
    one = [np.full(gl.words, np.uint64(0xFFFFFFFFFFFFFFFF))]
    first = R + 1  # cycle of the first vector: after the reset and the weight rows
    expected = np.stack([functional(arr, X[k], W[k]) for k in range(LANES)])  # (LANES, S, C)
    acc = arr.acc_width
    bits = sorted({b for _, b in gl.pins + gl.cell_pins if b >= 2} | set(gl.port_names))
    toggles = np.zeros(len(bits), dtype=np.int64)
    high = np.zeros(len(bits), dtype=np.int64)
    prev = None
    checked = 0
    for t in range(first + S + L):
        inputs = dict(zeros)
        if t == 0:
            inputs["rst"] = one
        elif t < first:
            inputs["w_en"] = one
            inputs["w_row"] = _pack_bits(_port_bits(np.full((LANES, 1), t - 1), len(zeros["w_row"])))
            inputs["w_data"] = _pack_bits(_port_bits(W[:, t - 1, :], arr.bits_b))
        if first <= t < first + S:
            inputs["in_valid"] = one
            inputs["in_data"] = _pack_bits(_port_bits(X[:, t - first, :], arr.bits_a))
        if arr.backpressure:
            inputs["out_ready"] = one
        val = gl.cycle(inputs)
        v = t - first - L  # the vector due on the outputs this cycle
        out_valid = unpack([val[b] for b in gl.netlist.outputs["out_valid"]], LANES)
        if not np.array_equal(out_valid, np.full(LANES, int(0 <= v < S), dtype=np.uint64)):
            raise ToolError("yosys", f"mapped netlist: out_valid wrong in cycle {t}", str(syn.log))
        if 0 <= v < S:
            obits = gl.netlist.outputs["out_data"]
            got = np.stack([unpack([val[b] for b in obits[j * acc:(j + 1) * acc]], LANES)
                            for j in range(C)], axis=1).astype(np.int64)
            got = port_value(got, acc, arr.acc_signed)
            bad = np.argwhere(got != expected[:, v, :])
            if len(bad):
                k, j = bad[0]
                raise ToolError("yosys", f"mapped netlist differs from the array model: vector "
                                f"{v}, column {j}: got {got[k, j]}, expected {expected[k, v, j]}",
                                str(syn.log))
            checked += LANES
        if first + L <= t < first + S:  # steady state: every PE works on a valid vector
            cur = np.stack([val[b] for b in bits])
            high += np.bitwise_count(cur).sum(axis=1, dtype=np.int64)
            if prev is not None:
                toggles += np.bitwise_count(cur ^ prev).sum(axis=1, dtype=np.int64)
            prev = cur
    rates = {0: (0.0, 0.0), 1: (0.0, 1.0)}
    rates.update({b: (float(tg) / ((window - 1) * LANES), float(h) / (window * LANES))
                  for b, tg, h in zip(bits, toggles, high)})
    cell_pins = {k: rates[b][0] for k, b in gl.cell_pins}
    cell_pins.update(dict.fromkeys(gl.clock_pins, CLOCK_TOGGLES))
    return Activity(vectors=window * LANES, ports={k: rates[b] for b, k in gl.port_names.items()},
                    pins={k: rates[b] for k, b in gl.pins}, outputs=np.zeros(0, dtype=np.int64),
                    cell_pins=cell_pins, model=ZERO_DELAY), checked


def characterize_array(design: Design, library: CellLibrary, clock_ns: float, vectors: int,
                       seed: int, activity_file=None, use_cache: bool = True,
                       activity_model: str = ZERO_DELAY, error_metrics: bool = True) -> dict:
    """PPA of an array; `vectors` = activation vectors measured (in LANES parallel streams).
    (`error_metrics` is the multiplier's option: an array has none.)"""
    clock_ns = check_clock(clock_ns)
    if activity_file is not None:
        raise AxhwError("--activity FILE gives operand pairs of one multiplier; a systolic array's "
                        "activity comes from its simulated GEMM workload (use --vectors/--seed)")
    if activity_model != ZERO_DELAY:
        raise AxhwError(f"--activity-model {activity_model}: a systolic array's activity is "
                        f"simulated cycle by cycle ({ZERO_DELAY} only)")
    if vectors < 2 * LANES:
        raise AxhwError(f"--vectors {vectors}: a systolic array needs at least {2 * LANES}")
    if not library.has_flops:
        raise AxhwError(f"{library.pdk}: the library has no flip-flops for the array's registers")
    arr = array_from_dict(design.meta or {}, str(design.json_path))
    window = -(-vectors // LANES)
    options = {"flow": FLOW, "clock_ns": clock_ns, "lanes": LANES, "window": window,
               "seed": seed, "load_inverters": LOAD_INVERTERS}
    run = CachedRun(design, library, options, use_cache)
    if run.result is not None:
        return run.result
    t0 = time.perf_counter()
    workdir = run.start()
    syn = synthesize(design.verilog_path, design.top, library, clock_ns, workdir, map_flops=True)
    act, checked = gemm_activity(syn, library, arr, window, seed)
    inputs = [n for n in port_bit_names(json.loads(syn.netlist_json.read_text()), syn.top).values()
              if n != "clk"]
    timing = sta(syn, library, clock_ns, inputs, clock_port="clk")
    power = timing.power(act.cell_pins)
    final = run.keep()
    macs = arr.rows * arr.cols
    result = {
        "design": design.top, "family": "systolic", "rows": arr.rows, "cols": arr.cols,
        "bits_a": arr.bits_a, "bits_b": arr.bits_b, "signed": arr.signed,
        "acc_bits": arr.acc_width, "pipeline": arr.pipeline,
        "multipliers": [m.top for m in arr.multipliers],
        "pdk": library.pdk, "library": library.describe(),
        "liberty": [str(p) for p in library.sources], "clock_ns": clock_ns,
        "area_um2": syn.area_um2, "sequential_area_um2": syn.sequential_area_um2,
        "cells": syn.cells, "cell_counts": syn.cell_counts,
        "flops": sum(n for c, n in syn.cell_counts.items() if library.cells[c]["sequential"]),
        "min_period_ns": timing.delay_ns, "fmax_mhz": 1e3 / timing.delay_ns,
        "slack_ns": timing.slack_ns,
        "power_mw": power.total_mw, "dynamic_mw": power.dynamic_mw,
        "internal_mw": power.internal_mw, "switching_mw": power.switching_mw,
        "leakage_mw": power.leakage_mw, "activity_model": act.model,
        # mW x ns = pJ per clock; one vector (rows x cols MACs) per clock in the steady state.
        "energy_per_cycle_pj": power.total_mw * clock_ns,
        "energy_per_mac_pj": power.total_mw * clock_ns / macs,
        "throughput_gmacs_at_fmax": macs * 1e3 / timing.delay_ns / 1e3,
        "workload": f"{LANES} parallel GEMM streams x {window} steady-state cycles, uniform random "
                    f"operands, seed {seed}",
        "vectors": act.vectors, "seed": seed, "checked_vectors": checked,
        "mean_toggle_rate": act.mean_toggle_rate,
        "input_drive": f"{timing.drive_cell} (set_driving_cell)",
        "output_load_ff": timing.load_ff,
        "tools": run.versions, "flow": FLOW,
        "netlist": str(final / syn.netlist_v.name),
        "logs": {"yosys": str(final / syn.log.name), "opensta": str(final / Path(timing.log).name)},
        "ppa_seconds": round(time.perf_counter() - t0, 3),
    }
    return run.finish(result)


ROWS = [("area_um2", "area (um^2)", "{:.3f}"), ("sequential_area_um2", "  registers (um^2)", "{:.3f}"),
        ("cells", "cells", "{:d}"), ("flops", "flip-flops", "{:d}"),
        ("min_period_ns", "min clock period (ns)", "{:.4f}"), ("fmax_mhz", "fmax (MHz)", "{:.2f}"),
        ("power_mw", "power at clock (mW)", "{:.6g}"), ("dynamic_mw", "  dynamic (mW)", "{:.6g}"),
        ("leakage_mw", "  leakage (mW)", "{:.6g}"),
        ("energy_per_cycle_pj", "energy / cycle (pJ)", "{:.6g}"),
        ("energy_per_mac_pj", "energy / MAC (pJ)", "{:.6g}"),
        ("mean_toggle_rate", "mean net toggle rate", "{:.4f}")]


def format_array(r: dict) -> str:
    lines = [f"{r['design']}: {r['rows']}x{r['cols']} systolic array on {r['pdk']} "
             f"({r['library']}), clock {r['clock_ns']:g} ns"]
    width = max(len(label) for _, label, _ in ROWS)
    lines += [f"  {label:<{width}}  {fmt.format(r[key])}" for key, label, fmt in ROWS]
    lines.append(f"  (activity: {r['workload']}, {r['activity_model']} simulation; "
                 f"{r['checked_vectors']:,} mapped-netlist results "
                 f"checked; {r['tools']['yosys']}, {r['tools']['opensta']})")
    return "\n".join(lines)
