"""Switching activity of a mapped netlist, from gate-level simulation (zero-delay, or glitch-aware).

``operand_vectors(design, vectors, seed, activity_file=None) -> (a_raw, b_raw)``
    The operand stream applied one pair per clock period: uniform random raw operands
    (numpy ``default_rng(seed)``), or the pairs of an activity file: CSV with a header ``a,b`` and
    one operand pair (values; negative allowed for signed designs) per line, applied in order.

``switching_activity(synthesis, library, ports, a_raw, b_raw, model="zero-delay", sdf=None)
-> Activity``
    Evaluates the technology-mapped netlist (:func:`axhw.sim.netsim.evaluate`, the cells' Liberty
    functions) on the stream and measures, for every net, its toggles per period (transitions
    between consecutive vectors / (n - 1)) and its static probability (fraction of vectors at 1).
    Keys are what OpenSTA calls them: input port bits (``a[3]``) and driving cell pins
    (``_123_/Y``); ``Activity.cell_pins`` gives every cell pin (inputs too) its net's toggles per
    period, the rates :meth:`axhw.ppa.sta.Timing.power` turns into power. Glitches are not counted
    (zero-delay simulation, ``ZERO_DELAY``). With ``model=GLITCH`` and OpenSTA's SDF of the
    netlist, every toggle rate counts the glitches of an event-driven simulation with the cells'
    delays (:mod:`axhw.ppa.glitch`); static probabilities stay those of the settled values.
    ``Activity.outputs`` holds the mapped netlist's output words, so callers can check the mapping
    against the RTL.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..infra.errors import AxhwError
from ..infra.fileio import read_input
from ..design.golden import to_raw
from ..sim.netsim import read_yosys_json, evaluate
from .pdk import CellLibrary

__all__ = ["ZERO_DELAY", "ACTIVITY_MODELS", "Activity", "operand_vectors", "port_bit_names",
           "cell_pin_names", "switching_activity"]

MAX_VECTORS = 1 << 20  # the per-net bit matrix of the toggle count stays under ~1 GB
ZERO_DELAY = "zero-delay"  # activity model: one evaluation per vector, no glitches
GLITCH = "glitch"  # event-driven with the cells' SDF delays, inertial: glitches counted
ACTIVITY_MODELS = (ZERO_DELAY, GLITCH)


@dataclass(frozen=True)
class Activity:
    vectors: int
    ports: dict[str, tuple[float, float]]   # input port bit -> (toggles per period, P(1))
    pins: dict[str, tuple[float, float]]    # "cell/pin" of every cell output
    outputs: np.ndarray                     # raw output port words per vector (checked by callers)
    cell_pins: dict[str, float]             # "cell/pin" of every cell pin -> its net's toggles/period
    model: str = ZERO_DELAY                 # the activity model that counted the toggles

    @property
    def mean_toggle_rate(self) -> float:
        rates = [a for a, _ in self.pins.values()]
        return float(np.mean(rates)) if rates else 0.0


def read_activity_file(path: Path | str, design) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd  # noqa: PLC0415 - only for activity files (a slow import)

    path = Path(path)
    data = read_input(path, "activity file")
    try:
        table = pd.read_csv(io.BytesIO(data), comment="#", skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise AxhwError(f"activity file {path} is empty: expected a CSV with header 'a,b' and "
                        "operand pairs") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise AxhwError(f"cannot read activity file {path}: {str(exc).splitlines()[0]}") from None
    if list(table.columns) != ["a", "b"]:
        raise AxhwError(f"activity file {path}: expected a CSV with header 'a,b', "
                        f"got columns {', '.join(map(str, table.columns)) or 'none'}")
    if len(table) < 2:
        raise AxhwError(f"activity file {path}: needs at least 2 operand pairs")
    if not all(pd.api.types.is_integer_dtype(table[c]) for c in "ab"):
        raise AxhwError(f"activity file {path}: operands must be integers")
    out = []
    for col, bits in (("a", design.bits_a), ("b", design.bits_b)):
        v = table[col].to_numpy(dtype=np.int64)
        lo, hi = (-(1 << bits - 1), (1 << bits - 1) - 1) if design.signed else (0, (1 << bits) - 1)
        bad = np.flatnonzero((v < lo) | (v > hi))
        if len(bad):
            raise AxhwError(f"activity file {path}: line {bad[0] + 2}: {col}={v[bad[0]]} is outside "
                            f"{lo}..{hi} ({bits}-bit {'signed' if design.signed else 'unsigned'})")
        out.append(to_raw(v, bits))
    return out[0], out[1]


def operand_vectors(design, vectors: int, seed: int, activity_file=None):
    if activity_file is not None:
        a_raw, b_raw = read_activity_file(activity_file, design)
        if len(a_raw) > MAX_VECTORS:
            raise AxhwError(f"activity file {activity_file}: {len(a_raw)} operand pairs, at most "
                            f"{MAX_VECTORS} are simulated")
        return a_raw, b_raw
    if not 2 <= vectors <= MAX_VECTORS:
        raise AxhwError(f"--vectors {vectors}: expected 2..{MAX_VECTORS}")
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 1 << design.bits_a, vectors, dtype=np.int64),
            rng.integers(0, 1 << design.bits_b, vectors, dtype=np.int64))


def port_bit_names(netlist_json: dict, top: str) -> dict[int, str]:
    """Yosys bit id of each input port bit -> its OpenSTA name after ``splitnets -ports``."""
    names = {}
    for pname, port in netlist_json["modules"][top]["ports"].items():
        if port["direction"] != "input":
            continue
        bits, offset = port["bits"], int(port.get("offset", 0))
        for k, b in enumerate(bits):
            index = offset + (len(bits) - 1 - k if port.get("upto") else k)
            if isinstance(b, int):
                names[b] = pname if len(bits) == 1 else f"{pname}[{index}]"
    return names


def cell_pin_names(cells) -> list[tuple[str, int]]:
    """("cell/pin", net bit id) of every pin of every cell (netsim cells)."""
    return [(f"{c.name}/{pin}", bit) for c in cells
            for pin, bit in (*c.inputs.items(), *c.outputs.items())]


def _rates(words: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Packed words (nets x words) -> per net (toggles per period, static probability)."""
    bits = np.unpackbits(np.ascontiguousarray(words).view(np.uint8), axis=1,
                         bitorder="little")[:, :n]
    toggles = np.count_nonzero(bits[:, 1:] != bits[:, :-1], axis=1) / (n - 1)
    return toggles, bits.sum(axis=1) / n


def switching_activity(synthesis, library: CellLibrary, ports: tuple[str, str, str],
                       a_raw: np.ndarray, b_raw: np.ndarray, model: str = ZERO_DELAY,
                       sdf: Path | None = None) -> Activity:
    data = json.loads(Path(synthesis.netlist_json).read_text())
    functions = library.cell_functions()
    netlist = read_yosys_json(data, synthesis.top, functions)
    for port, side, kind in ((ports[0], netlist.inputs, "input"), (ports[1], netlist.inputs, "input"),
                             (ports[2], netlist.outputs, "output")):
        if port not in side:  # a Verilog file replaced by a module with other ports
            raise AxhwError(f"{synthesis.top}: the design has no {kind} port {port!r} (its ports: "
                            f"{', '.join([*netlist.inputs, *netlist.outputs])})")
    n = len(a_raw)
    inputs = {p: np.zeros(n, dtype=np.int64) for p in netlist.inputs}
    inputs[ports[0]], inputs[ports[1]] = a_raw, b_raw
    outs, words = evaluate(netlist, inputs, functions, nets=True)
    port_names = port_bit_names(data, synthesis.top)
    drivers = [(f"{c.name}/{pin}", bit) for c in netlist.cells for pin, bit in c.outputs.items()]
    bit_ids = sorted({b for b in words if b >= 2})
    toggles, ones = _rates(np.stack([words[b] for b in bit_ids]), n)
    rates = {0: (0.0, 0.0), 1: (0.0, 1.0)}
    rates.update({b: (float(t), float(p)) for b, t, p in zip(bit_ids, toggles, ones)})
    if model == GLITCH:
        from .glitch import glitch_toggles, read_sdf_delays  # noqa: PLC0415

        counts = glitch_toggles(netlist, functions, read_sdf_delays(sdf), inputs)
        rates.update({b: (c / (n - 1), rates[b][1]) for b, c in counts.items() if b >= 2})
    return Activity(vectors=n, ports={k: rates[b] for b, k in port_names.items()},
                    pins={k: rates[b] for k, b in drivers},
                    outputs=outs[ports[2]].astype(np.int64),
                    cell_pins={k: rates[b][0] for k, b in cell_pin_names(netlist.cells)},
                    model=model)
