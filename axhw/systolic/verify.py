"""`axhw verify ARRAY.json`: the cocotb array test on Icarus and/or Verilator.

Builds follow axhw.sim.cocotb_run: one cached build per (simulator, version, Verilog), shared under a
file lock; the toplevel is a pass-through wrapper ``axhw_tb`` so the cached-runner helper applies.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from ..design.record import Design
from ..infra.errors import AxhwError, ToolError
from ..infra.fileio import ensure_dir
from ..sim.cocotb_run import build_testbench, environ, first_line, prepared_runner
from ..sim.simulators import sim_env
from ..verify.dispatch import VerifyResult, expand_sims
from .design import array_from_dict
from .rtl import port_list

__all__ = ["wrapper", "build", "run_array", "verify_hook"]

# Default stimulus of `axhw verify`: tiles x matrices x vectors activation rows.
DEFAULT_WORKLOAD = {"tiles": 6, "matrices": 4, "vectors": 8, "p_stall": 0.25, "p_bubble": 0.2,
                    "reset_mid": True}


def wrapper(top: str, ports: list[dict]) -> str:
    """``axhw_tb``: the array's ports passed straight through."""
    decl = ",\n".join(f"  {p['dir']} {'[' + str(p['width'] - 1) + ':0] ' if p['width'] > 1 else ''}"
                      f"{p['name']}" for p in ports)
    conn = ", ".join(f".{p['name']}({p['name']})" for p in ports)
    return (f"`timescale 1ns/1ps\nmodule axhw_tb(\n{decl}\n);\n  {top} dut ({conn});\nendmodule\n")


def build(sim: str, top: str, verilog: Path, ports: list[dict]) -> Path:
    return build_testbench(sim, top, wrapper(top, ports), verilog.read_text(), prefix="sa-")


def run_array(sim: str, design_json: Path, seed: int = 1, **workload) -> dict:
    """Simulate the array test once; return its summary (counts, first mismatches, seconds)."""
    design_json = Path(design_json).resolve()
    d = json.loads(design_json.read_text())
    arr = array_from_dict(d, str(design_json))
    verilog = (design_json.parent / d["verilog"]).resolve()
    bdir = build(sim, arr.top, verilog, port_list(arr))
    run_dir = Path(tempfile.mkdtemp(prefix="sa-run-", dir=ensure_dir(bdir / "runs")))
    cfg = {**DEFAULT_WORKLOAD, **workload, "design": str(design_json), "seed": int(seed),
           "summary": str(run_dir / "summary.json")}
    (run_dir / "config.json").write_text(json.dumps(cfg))
    log = run_dir / "sim.log"
    t0 = time.perf_counter()
    with environ(sim_env(sim)):
        try:
            runner = prepared_runner(sim, bdir, run_dir / "build.log", cached=True)
            runner.test(test_module="axhw.systolic.cocotb_array", hdl_toplevel="axhw_tb",
                        build_dir=bdir, test_dir=run_dir, timescale=("1ns", "1ps"),
                        extra_env={"AXHW_SIM_CONFIG": str(run_dir / "config.json")},
                        log_file=log)
        except (SystemExit, Exception) as exc:  # noqa: BLE001
            if not (run_dir / "summary.json").exists():
                raise ToolError(sim, f"cocotb run failed: {first_line(exc)}", str(log)) from None
    if not (run_dir / "summary.json").exists():
        raise ToolError(sim, "the cocotb array test ended without a result", str(log))
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["seconds"] = time.perf_counter() - t0
    summary["sim"] = sim
    return summary


def verify_hook(design: Design, sim: str, method: str | None, samples: int, seed: int,
                timeout: float | None, engine: str | None) -> list[VerifyResult]:
    """The `verify` hook of the systolic kind: the array's one method, its cocotb test."""
    if method is not None:
        raise AxhwError(f"--method {method}: a systolic array has one method, its cocotb "
                        "array test (drop --method)")
    return verify_array(design, expand_sims(sim), samples, seed)


def verify_array(design: Design, sims, samples: int, seed: int, **workload):
    """VerifyResults for `axhw verify` (``samples`` is unused: the workload sets the size)."""
    if design.json_path is None:
        raise AxhwError("a systolic array is verified from its JSON sidecar")
    results = []
    for sim in sims:
        s = run_array(sim, design.json_path, seed, **workload)
        bad = s["mismatches"] + s["model_mismatches"] + s["unknown_outputs"]
        detail = (f"{s['matrices']} matrices, {s['macs']:,} MACs, {s['cycles']:,} cycles, "
                  f"{s['stall_cycles']} stalled, {s['bubble_cycles']} bubbles, "
                  f"{s['resets']} mid-stream resets; cycle model mismatches {s['model_mismatches']}")
        first = [{"a": m.get("a"), "b": m.get("b"), "expected": m.get("expected"),
                  "got": m.get("got", m.get("reason"))} for m in s["first_mismatches"]]
        results.append(VerifyResult("systolic", sim, s["vectors"], bad, s["seconds"], False,
                                    first, detail, unit="result vectors"))
    return results
