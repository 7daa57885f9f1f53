"""Static timing and per-pin power with OpenSTA (flow: axhw/ppa/flows/sta.tcl.tmpl).

``sta(synthesis, library, clock_ns, input_ports, clock_port=None) -> Timing``
``Timing.power(pin_rates) -> Power``

Constraints, stated in the result:
  * combinational designs (``clock_port=None``): a virtual clock of period ``clock_ns``, input and
    output delays 0, so the critical-path delay is ``clock_ns - worst slack``; a design without
    any constrained path (every output constant) has delay 0 (``Timing.unconstrained``);
  * clocked designs (``clock_port="clk"``): the clock on that port (ideal), same I/O delays; the
    delay is then the worst register/port-to-register/port path including clock-to-Q and setup,
    i.e. the minimum period (fmax = 1 / delay);
  * inputs driven by the library's smallest inverter (``set_driving_cell``), every output loaded
    with 4x that inverter's input capacitance (``set_load``).

Power: OpenSTA 2.0.17 propagates activity from the input ports itself on every power query and
overwrites activities set on internal pins, and its propagation is biased (XOR outputs toggle
less, AND outputs more than they do). So OpenSTA is asked only for energies: with every pin at
one toggle per clock period (``set_power_activity -global``; clock pins at their two), the
internal and switching power of every instance, split over its pins (OpenSTA's ``power`` debug
lines: each output pin's switching power and the internal power of its arcs; input pins' own
internal power). ``Timing.power`` scales each pin's share by that pin's simulated toggles per
period (:mod:`axhw.ppa.activity`) and adds the instances' leakage: the power of the simulated
activity under OpenSTA's power model, at the clock frequency 1 / clock_ns.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..infra.errors import ToolError
from ..infra.names import check_name
from .pdk import CellLibrary
from .synth import Synthesis, flow_template, liberty_names
from ..infra.tools.opensta import run_tcl, tcl_quote

__all__ = ["LOAD_INVERTERS", "CLOCK_TOGGLES", "SDF", "Power", "Timing", "clock_pins", "sta"]

LOAD_INVERTERS = 4  # output load, in input capacitances of the library's smallest inverter
CLOCK_TOGGLES = 2.0  # toggles of a clock pin per period (OpenSTA's clock activity)
SDF = "netlist.sdf"
UNCONSTRAINED_S = 1e29  # |slack| OpenSTA reports (1e30 s) when no path is constrained
_ENUM = re.compile(r"[-+]?\d+(?:\.\d*)?[eE][-+]?\d+")
_ARC = re.compile(r"^power:\s+\S+ -> \S+")


@dataclass(frozen=True)
class Power:
    internal_mw: float
    switching_mw: float
    leakage_mw: float

    @property
    def dynamic_mw(self) -> float:
        return self.internal_mw + self.switching_mw

    @property
    def total_mw(self) -> float:
        return self.dynamic_mw + self.leakage_mw


@dataclass(frozen=True)
class Timing:
    delay_ns: float
    slack_ns: float
    unconstrained: bool  # no constrained timing path: delay 0, slack = the period
    # "instance/pin" -> (internal mW, switching mW) at one toggle of that pin per clock period
    pin_power: dict[str, tuple[float, float]]
    leakage_mw: float
    load_ff: float
    drive_cell: str
    log: str
    sdf: Path  # the cells' arc delays at their loads (write_sdf), for glitch-aware activity

    def power(self, pin_rates: dict[str, float]) -> Power:
        """Power of the activity `pin_rates` ("instance/pin" -> toggles per period; clock pins
        CLOCK_TOGGLES). A pin with power but no rate is an error, never a silent zero."""
        missing = [p for p in self.pin_power if p not in pin_rates]
        if missing:
            raise ToolError("opensta", f"no simulated activity for pin {missing[0]} "
                                       f"({len(missing)} pins)", self.log)
        internal = sum(e * pin_rates[p] for p, (e, _) in self.pin_power.items())
        switching = sum(e * pin_rates[p] for p, (_, e) in self.pin_power.items())
        return Power(internal, switching, self.leakage_mw)


def clock_pins(synthesis: Synthesis, clock_port: str | None) -> set[str]:
    """The cell pins on the clock port's net ("instance/pin")."""
    if clock_port is None:
        return set()
    module = json.loads(Path(synthesis.netlist_json).read_text())["modules"][synthesis.top]
    (clk,) = module["ports"][clock_port]["bits"]
    return {f"{name}/{pin}" for name, cell in module["cells"].items()
            for pin, bits in cell["connections"].items() if bits == [clk]}


def _split(total: float, shares: dict[str, float], name: str, log: str) -> dict[str, float]:
    """`total` over the pins in proportion to `shares` (pins without power left out)."""
    s = sum(shares.values())
    if abs(s - total) > 0.02 * abs(total) + 1e-18:
        raise ToolError("opensta", f"instance {name}: pin powers {s:g} W do not add up to its "
                                   f"power {total:g} W", log)
    return {p: total * v / s for p, v in shares.items() if v}


def _pin_power(text: str, clocks: set[str], log: str) -> tuple[dict, float]:
    """Parse the instance lines and the ``power:`` debug lines of each instance (printed before
    its instance line): per pin (internal, switching) in W at one toggle per period; leakage."""
    pins: dict[str, tuple[float, float]] = {}
    leakage = 0.0
    internal: dict[str, float] = {}  # pin -> internal power of its arcs (debug precision)
    switching: dict[str, float] = {}  # output pin name -> switching power
    pin = None
    for line in text.splitlines():
        if line.startswith("power: internal "):
            pin = line.split()[2]
            internal.setdefault(pin.rsplit("/", 1)[1], 0.0)
        elif line.startswith("power: switching "):
            switching[line.split()[2].rsplit("/", 1)[1]] = float(_ENUM.findall(line)[-1])
        elif _ARC.match(line) and pin is not None:
            internal[pin.rsplit("/", 1)[1]] += float(_ENUM.findall(line)[-1])
        elif line.startswith("axhw instance "):
            name, *nums = line.split()[2:]
            inst_internal, inst_switching, inst_leakage = (float(x) for x in nums[:3])
            leakage += inst_leakage
            # OpenSTA's own (full-precision) instance totals, split in the debug lines' ratios.
            split_internal = _split(inst_internal, internal, name, log)
            split_switching = _split(inst_switching, switching, name, log)
            for p in set(split_internal) | set(split_switching):
                full = f"{name}/{p}"
                per_toggle = 1.0 / (CLOCK_TOGGLES if full in clocks else 1.0)
                pins[full] = (split_internal.get(p, 0.0) * per_toggle,
                              split_switching.get(p, 0.0) * per_toggle)
            internal, switching, pin = {}, {}, None
    return pins, leakage


def sta(synthesis: Synthesis, library: CellLibrary, clock_ns: float, input_ports: list[str],
        clock_port: str | None = None) -> Timing:
    """Run OpenSTA on the mapped netlist; see the module doc for the constraints."""
    period = clock_ns / library.time_unit_ns
    inv_cell, _, inv_out = library.inverter
    load_ff = LOAD_INVERTERS * library.inverter_input_cap_ff
    clock = f"create_clock -name axhw_clk -period {period!r}"
    if clock_port is not None:
        clock += f" [get_ports {tcl_quote(check_name(clock_port, 'clock port'))}]"
    script = flow_template("sta.tcl.tmpl").substitute(
        read_liberty="\n".join(f"read_liberty {tcl_quote(f.name)}"
                                for f in liberty_names(library, synthesis.workdir)),
        # OpenSTA runs in the work folder: the kept script reruns there by hand.
        netlist_v=tcl_quote(synthesis.netlist_v.relative_to(synthesis.workdir)),
        top=tcl_quote(synthesis.top),
        create_clock=clock,
        input_ports="{" + " ".join(tcl_quote(p) for p in input_ports) + "}",
        drive_cell=tcl_quote(inv_cell), drive_pin=tcl_quote(inv_out),
        load=repr(load_ff / library.cap_unit_ff),
        sdf=tcl_quote(SDF),
    )
    log = synthesis.workdir / "sta.log"
    text = run_tcl(script, log)
    values = {}
    for line in text.splitlines():
        if line.startswith("axhw ") and not line.startswith("axhw instance "):
            key, *nums = line.split()[1:]
            values[key] = [float(x) for x in nums]
    try:
        time_s, cap_f = values["units"]
        slack_s = values["slack"][0]
    except (KeyError, ValueError):
        raise ToolError("opensta", "no timing results in the log", str(log)) from None
    # OpenSTA read the same units from the library header as axhw did (else the constraints
    # above were given in the wrong unit).
    for what, theirs, ours in (("time", time_s * 1e9, library.time_unit_ns),
                               ("capacitance", cap_f * 1e15, library.cap_unit_ff)):
        if abs(theirs - ours) > 1e-6 * ours:
            raise ToolError("opensta", f"library {what} unit {theirs:g} differs from axhw's "
                                       f"{ours:g}", str(log))
    pins, leakage = _pin_power(text, clock_pins(synthesis, clock_port), str(log))
    pins = {p: (i * 1e3, s * 1e3) for p, (i, s) in pins.items()}
    unconstrained = abs(slack_s) >= UNCONSTRAINED_S
    slack_ns = clock_ns if unconstrained else slack_s * 1e9
    return Timing(delay_ns=clock_ns - slack_ns, slack_ns=slack_ns, unconstrained=unconstrained,
                  pin_power=pins, leakage_mw=leakage * 1e3, load_ff=load_ff, drive_cell=inv_cell,
                  log=str(log), sdf=synthesis.workdir / SDF)
