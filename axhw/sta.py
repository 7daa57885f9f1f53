"""Static timing and power with OpenSTA (flow: axhw/flows/sta.tcl.tmpl).

``sta(synthesis, library, clock_ns, input_ports, activity=None, clock_port=None) -> Timing``

Constraints, stated in the result:
  * combinational designs (``clock_port=None``): a virtual clock of period ``clock_ns``, input and
    output delays 0, so the critical-path delay is ``clock_ns - worst slack``;
  * clocked designs (``clock_port="clk"``): the clock on that port (ideal), same I/O delays; the
    delay is then the worst register/port-to-register/port path including clock-to-Q and setup,
    i.e. the minimum period (fmax = 1 / delay);
  * inputs driven by the library's smallest inverter (``set_driving_cell``), every output loaded
    with 4x that inverter's input capacitance (``set_load``).
Power: ``activity`` (an :class:`axhw.activity.Activity`) gives each input port and each cell output
pin its toggles per clock period and static probability, from gate-level simulation; without it
OpenSTA propagates its default input activity (0.1, duty 0.5). Power is reported at the clock
frequency 1 / clock_ns.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ToolError
from .pdk import Library
from .synth import Synthesis, check_name, flow_template
from .tools.opensta import run_tcl, tcl_quote

LOAD_INVERTERS = 4  # output load, in input capacitances of the library's smallest inverter


@dataclass(frozen=True)
class Timing:
    delay_ns: float
    slack_ns: float
    internal_mw: float
    switching_mw: float
    leakage_mw: float
    total_mw: float
    load_ff: float
    drive_cell: str
    log: str

    @property
    def dynamic_mw(self) -> float:
        return self.internal_mw + self.switching_mw


def _activity_tcl(activity) -> str:
    if activity is None:
        return ""
    lines = [f"sta::set_power_input_port_activity [get_ports {tcl_quote(port)}] {a!r} {d!r}"
             for port, (a, d) in activity.ports.items()]
    # set_power_activity -pins is broken in 2.0.17 (and limited to input pins): use the command
    # underneath it on the driving pins; load pins inherit their net's driver activity.
    lines += [f"sta::set_power_pin_activity [get_pins {tcl_quote(pin)}] {a!r} {d!r}"
              for pin, (a, d) in activity.pins.items()]
    return "\n".join(lines)


def sta(synthesis: Synthesis, library: Library, clock_ns: float, input_ports: list[str],
        activity=None, clock_port: str | None = None) -> Timing:
    """Run OpenSTA on the mapped netlist; see the module doc for the constraints."""
    period = clock_ns / library.time_unit_ns
    inv_cell, _, inv_out = library.inverter
    load_ff = LOAD_INVERTERS * library.inverter_input_cap_ff
    clock = f"create_clock -name axhw_clk -period {period!r}"
    if clock_port is not None:
        clock += f" [get_ports {tcl_quote(check_name(clock_port, 'clock port'))}]"
    script = flow_template("sta.tcl.tmpl").substitute(
        read_liberty="\n".join(f"read_liberty {tcl_quote(f)}" for f in library.files),
        # OpenSTA runs in the work folder: the kept script reruns there by hand.
        netlist_v=tcl_quote(synthesis.netlist_v.relative_to(synthesis.workdir)),
        top=tcl_quote(synthesis.top),
        create_clock=clock,
        input_ports="{" + " ".join(tcl_quote(p) for p in input_ports) + "}",
        drive_cell=tcl_quote(inv_cell), drive_pin=tcl_quote(inv_out),
        load=repr(load_ff / library.cap_unit_ff),
        activity=_activity_tcl(activity),
    )
    log = synthesis.workdir / "sta.log"
    text = run_tcl(script, log)
    values = {}
    for line in text.splitlines():
        if line.startswith("axhw "):
            key, *nums = line.split()[1:]
            values[key] = [float(x) for x in nums]
    try:
        time_s, cap_f = values["units"]
        slack_s = values["slack"][0]
        internal, switching, leakage, total = values["power"][:4]
    except (KeyError, ValueError):
        raise ToolError("opensta", "no timing/power results in the log", str(log)) from None
    # OpenSTA read the same units from the library header as axhw did (else the constraints
    # above were given in the wrong unit).
    for what, theirs, ours in (("time", time_s * 1e9, library.time_unit_ns),
                               ("capacitance", cap_f * 1e15, library.cap_unit_ff)):
        if abs(theirs - ours) > 1e-6 * ours:
            raise ToolError("opensta", f"library {what} unit {theirs:g} differs from axhw's "
                                       f"{ours:g}", str(log))
    slack_ns = slack_s * 1e9
    return Timing(delay_ns=clock_ns - slack_ns, slack_ns=slack_ns, internal_mw=internal * 1e3,
                  switching_mw=switching * 1e3, leakage_mw=leakage * 1e3, total_mw=total * 1e3,
                  load_ff=load_ff, drive_cell=inv_cell, log=str(log))
