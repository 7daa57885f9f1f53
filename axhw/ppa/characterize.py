"""Power, area and delay of a design on a cell library, plus its error metrics.

``characterize(design, library, clock_ns=10.0, vectors=4096, seed=1, activity_file=None,
use_cache=True, activity_model="zero-delay") -> dict``
    Yosys synthesis (:mod:`axhw.ppa.synth`), switching activity from simulating the mapped netlist on
    an operand stream (:mod:`axhw.ppa.activity`; ``activity_model`` says how), OpenSTA timing and
    per-pin energies (:mod:`axhw.ppa.sta`) scaled by that activity into power, and the exhaustive
    error metrics of ``axhw metrics`` (:func:`axhw.measure.metrics.design_metrics`). Units:
    ns, um^2, mW, pJ. The result is cached under ``<cache>/characterize/<key>.json`` where the key
    covers the Verilog text, top and ports, the library content, the options, the flow version
    and templates and the tool versions. Tool runs happen in ``<cache>/characterize/runs/<key>``
    (logs kept there: a tool failure names its log).

Clocked designs (e.g. a systolic array) use the pieces directly::

    syn = synthesize(verilog, top, library, clock_ns, workdir)          # dfflibmap included
    t = sta(syn, library, clock_ns, input_ports=[...], clock_port="clk")  # delay = min period
    p = t.power(activity.cell_pins)  # toggles per period of every cell pin -> mW
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..infra import progress
from .activity import (ACTIVITY_MODELS, ZERO_DELAY, Activity, operand_vectors, port_bit_names,
                       switching_activity)
from ..design.kinds import kind_of
from ..design.record import Design
from ..infra.errors import AxhwError, ToolError
from ..infra.cache import Cache
from ..infra.fileio import ensure_dir, sha256_file
from ..design.golden import port_value, to_raw, to_value
from .pdk import CellLibrary
from .sta import LOAD_INVERTERS, sta
from .synth import flow_template, synthesize
from ..infra.tools import opensta

__all__ = ["FLOW_VERSION", "DEFAULT_CLOCK_NS", "DEFAULT_VECTORS", "DEFAULT_SEED",
           "input_port_names", "CachedRun", "check_clock", "check_activity_model", "characterize",
           "characterize_multiplier"]

# Results by content; the flow version (axhw.infra.cache.VERSIONS) is reported with every result.
CHARACTERIZATIONS = Cache("characterize")
FLOW_VERSION = CHARACTERIZATIONS.version
DEFAULT_CLOCK_NS = 10.0
DEFAULT_VECTORS = 4096
DEFAULT_SEED = 1


def tool_versions() -> dict[str, str]:
    return {"yosys": f"pyosys {importlib.metadata.version('pyosys')}",
            "opensta": opensta.version(), "axhw": __version__}


def input_port_names(synthesis) -> list[str]:
    """OpenSTA names of the design's input port bits (single-bit after ``splitnets -ports``)."""
    data = json.loads(Path(synthesis.netlist_json).read_text())
    return list(port_bit_names(data, synthesis.top).values())


def _cache_key(design: Design, library: CellLibrary, options: dict, versions: dict) -> str:
    templates = [flow_template(n).template for n in ("synth.ys.tmpl", "sta.tcl.tmpl")]
    # What the JSON says the circuit is (golden model, output format) changes the error metrics
    # and the mapping check: a hand-edited JSON must not be answered with the old result.
    contract = [design.family, design.params, design.bits_a, design.bits_b, design.signed,
                design.out_bits, design.out_signed, design.out_shift]
    return CHARACTERIZATIONS.key(design.verilog_path.read_text(errors="replace"), design.top,
                                 ",".join(design.ports), json.dumps(contract, sort_keys=True,
                                                                    default=str),
                                 library.pdk, library.sha256, ",".join(library.dont_use),
                                 options, versions, *templates)


def check_mapping(design: Design, a_raw, b_raw, p_raw, log) -> None:
    """The mapped netlist computes what the RTL computes (on the activity stream): the RTL's
    LUT up to 16 input bits, else the golden model (mod 2^out_bits, as `axhw verify`)."""
    from ..measure.lut import MAX_LUT_BITS, design_lut  # noqa: PLC0415

    got = port_value(p_raw, design.out_bits, design.out_signed)
    if design.bits_a + design.bits_b <= MAX_LUT_BITS:
        got = got << design.out_shift  # the LUT is at product scale
        want = design_lut(design)[a_raw, b_raw]
    elif design.spec is not None:
        want = design.golden(to_value(a_raw, design.bits_a, design.signed),
                             to_value(b_raw, design.bits_b, design.signed))
        want = port_value(to_raw(want, design.out_bits), design.out_bits, design.out_signed)
    else:
        return
    bad = np.flatnonzero(got != want)
    if len(bad):
        k = bad[0]
        raise ToolError("yosys", f"mapped netlist differs from the RTL on {len(bad)} of "
                                 f"{len(got)} vectors (first: a_raw={a_raw[k]} b_raw={b_raw[k]} "
                                 f"got {got[k]}, expected {want[k]})", str(log))


class CachedRun:
    """One characterization run's cache entry: ``result`` is the cached dict (or None); on a miss,
    ``start()`` gives a private run folder (parallel runs of one key must not share files) and
    ``keep()`` renames it to runs/<key> (a failed run's folder stays, its logs named in the error)
    and ``finish(result)`` writes the result."""

    def __init__(self, design: Design, library: CellLibrary, options: dict, use_cache: bool = True):
        self.versions = tool_versions()
        self.key = _cache_key(design, library, options, self.versions)
        self.dir = CHARACTERIZATIONS.dir
        self.result = CHARACTERIZATIONS.get(self.key) if use_cache else None

    def start(self) -> Path:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.key}.",
                                             dir=ensure_dir(self.dir / "runs")))
        return self.workdir

    @property
    def final(self) -> Path:
        return self.dir / "runs" / self.key

    def keep(self) -> Path:
        try:
            os.replace(self.workdir, self.final)
        except OSError:  # an earlier or parallel run of the same key already holds it
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.final

    def finish(self, result: dict) -> dict:
        return CHARACTERIZATIONS.put(self.key, result)


MIN_CLOCK_NS, MAX_CLOCK_NS = 0.001, 1e6  # ABC's delay target is whole picoseconds


def check_clock(clock_ns: float, name: str = "--clock-ns") -> float:
    if not MIN_CLOCK_NS <= clock_ns < MAX_CLOCK_NS:  # also false for nan
        raise AxhwError(f"{name} {clock_ns:g}: expected a clock period from {MIN_CLOCK_NS:g} "
                        f"ns (1 ps) to below {MAX_CLOCK_NS:g} ns")
    return float(clock_ns)


def check_activity_model(model: str, name: str = "--activity-model") -> str:
    if model not in ACTIVITY_MODELS:
        raise AxhwError(f"{name} {model!r}: expected one of {', '.join(ACTIVITY_MODELS)}")
    return model


def timing_note(timing) -> dict:
    """The ``delay_note`` of a design without constrained paths (else nothing)."""
    return ({"delay_note": "no timing path: every output is constant (delay reported as 0)"}
            if timing.unconstrained else {})


def characterize(design: Design, library: CellLibrary, clock_ns: float = DEFAULT_CLOCK_NS,
                 vectors: int = DEFAULT_VECTORS, seed: int = DEFAULT_SEED,
                 activity_file: str | Path | None = None, use_cache: bool = True,
                 activity_model: str = ZERO_DELAY, error_metrics: bool = True) -> dict:
    """PPA of `design` on `library` plus (with `error_metrics`) its error metrics, by the hook of
    the design's kind (:mod:`axhw.design.kinds`)."""
    activity_model = check_activity_model(activity_model)
    return kind_of(design).call("characterize", design, library, clock_ns, vectors, seed,
                                activity_file, use_cache, activity_model, error_metrics)


def characterize_multiplier(design: Design, library: CellLibrary, clock_ns: float, vectors: int,
                            seed: int, activity_file: str | Path | None, use_cache: bool,
                            activity_model: str, error_metrics: bool) -> dict:
    """The `characterize` hook of a multiplier: combinational flow, operand-stream activity."""
    clock_ns = check_clock(clock_ns)
    a_raw, b_raw = operand_vectors(design, vectors, seed, activity_file)  # validates the file
    options = {"clock_ns": clock_ns, "vectors": len(a_raw),
               "seed": None if activity_file else seed,
               "activity": sha256_file(Path(activity_file)) if activity_file else "uniform",
               "load_inverters": LOAD_INVERTERS, "activity_model": activity_model}
    if not error_metrics:  # (only then, so the cache keys of full results stay as they were)
        options["error_metrics"] = False
    run = CachedRun(design, library, options, use_cache)
    if run.result is not None:
        progress.step("cached result")
        return run.result

    from ..measure.metrics import design_metrics  # noqa: PLC0415 - numba import only when needed

    t0 = time.perf_counter()
    workdir = run.start()
    progress.step(f"synthesizing {design.top} onto {library.pdk} (Yosys + ABC)")
    syn = synthesize(design.verilog_path, design.top, library, clock_ns, workdir)
    progress.step("timing and per-pin energies (OpenSTA)")
    timing = sta(syn, library, clock_ns, input_port_names(syn))
    progress.step(f"simulating the netlist on {len(a_raw):,} operand pairs "
                  f"({activity_model} activity)")
    act: Activity = switching_activity(syn, library, design.ports, a_raw, b_raw, activity_model,
                                       timing.sdf)
    check_mapping(design, a_raw, b_raw, act.outputs, syn.log)
    power = timing.power(act.cell_pins)
    ppa_s = time.perf_counter() - t0
    if error_metrics:
        progress.step("error metrics")
    metrics = design_metrics(design) if error_metrics else {}
    final = run.keep()
    result = {
        **metrics,
        "pdk": library.pdk, "library": library.describe(),
        "liberty": [str(p) for p in library.sources],
        "clock_ns": clock_ns,
        "area_um2": syn.area_um2, "cells": syn.cells, "cell_counts": syn.cell_counts,
        "delay_ns": timing.delay_ns, "slack_ns": timing.slack_ns, **timing_note(timing),
        "power_mw": power.total_mw, "dynamic_mw": power.dynamic_mw,
        "internal_mw": power.internal_mw, "switching_mw": power.switching_mw,
        "leakage_mw": power.leakage_mw,
        # mW x ns = pJ: the energy of one operation at one operation per clock period.
        "energy_pj": power.total_mw * clock_ns,
        "vectors": act.vectors, "seed": options["seed"],
        "activity": str(activity_file) if activity_file else "uniform",
        "activity_model": act.model,
        "mean_toggle_rate": act.mean_toggle_rate,
        "input_drive": f"{timing.drive_cell} (set_driving_cell)",
        "output_load_ff": timing.load_ff,
        "output_load": f"{LOAD_INVERTERS} x input cap of {library.inverter[0]}",
        "tools": run.versions, "flow_version": FLOW_VERSION,
        "netlist": str(final / syn.netlist_v.name),
        "logs": {"yosys": str(final / syn.log.name), "opensta": str(final / Path(timing.log).name)},
        "ppa_seconds": round(ppa_s, 3),
    }
    return run.finish(result)
