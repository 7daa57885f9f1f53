"""Run the pair-sweep testbench under cocotb on Icarus or Verilator.

Builds are cached by content hash (testbench + design Verilog + simulator version + the cocotb
install the binary links to) under the axhw cache, with a file lock so parallel runs share one build. Vectors go in chunks of at most
``CHUNK`` pairs per simulator run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ..infra.errors import AxhwError, ToolError
from ..infra.cache import Cache
from ..infra.fileio import ensure_dir
from .simulators import sim_env, sim_version

SIM_BUILDS = Cache("sim")

__all__ = ["CHUNK", "TEMPLATE", "testbench", "locked", "prepared_runner", "first_line", "environ",
           "cocotb_libs", "build_dir", "build_testbench", "build", "run_pairs"]

CHUNK = 1 << 16
TEMPLATE = Path(__file__).resolve().parent / "rtl_templates" / "pair_sweep_tb.v"  # package data


def _template() -> str:
    try:
        return TEMPLATE.read_text()
    except OSError:
        raise AxhwError(f"{TEMPLATE} is missing from the installation") from None


# cocotb's pytest assertion rewriting would rewrite every module imported after it (numpy, axhw):
# most of the simulator's start-up. The test's one assert carries its own message.
LEAN_COCOTB_ENV = {"COCOTB_REWRITE_ASSERTION_FILES": ""}

# Simulators whose testbench generates its own clock (AXHW_TB_CLOCK in pair_sweep_tb.v).
SELF_CLOCKED = ("icarus",)


def testbench(top: str, ports: tuple[str, str, str], bits_a: int, bits_b: int, out_bits: int,
              depth: int, self_clocked: bool = False) -> str:
    text = ("`define AXHW_TB_CLOCK\n" if self_clocked else "") + _template()
    for key, val in {"TOP": top, "PORT_A": ports[0], "PORT_B": ports[1], "PORT_P": ports[2],
                     "BITS_A": bits_a, "BITS_B": bits_b, "OUT_BITS": out_bits,
                     "DEPTH": depth}.items():
        text = text.replace("{{" + key + "}}", str(val))
    return text


@contextlib.contextmanager
def locked(path: Path):
    ensure_dir(path.parent)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def prepared_runner(sim: str, bdir: Path, log: Path, cached: bool):
    """A cocotb runner with its build state set. For a cached build nothing is recompiled:
    Icarus skips an up-to-date sim.vvp itself; Verilator's build command is emptied."""
    from cocotb_tools.runner import get_runner  # noqa: PLC0415

    runner = get_runner(sim)
    # cocotb's runner logs every command at INFO; axhw prints its own summary.
    quiet = logging.getLogger().level > logging.INFO
    runner.log.setLevel(logging.CRITICAL if quiet else logging.DEBUG)
    if cached and sim == "verilator":
        runner._build_command = lambda: []  # noqa: SLF001 - cocotb has no "skip build" switch
    runner.build(sources=[bdir / "dut.v", bdir / "axhw_tb.v"], hdl_toplevel="axhw_tb",
                 build_dir=bdir, timescale=("1ns", "1ps"),
                 build_args=(["-Wno-fatal", "-O1"] if sim == "verilator" else []),
                 log_file=log, always=not cached)
    return runner


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@contextlib.contextmanager
def environ(env: dict[str, str]):
    """cocotb's runner reads the simulator set-up from os.environ: swap it in for the call."""
    old = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(old)


def cocotb_libs() -> str:
    """The cocotb library folder a Verilator build links to by RUNPATH, and its version. Part of
    the cache key: a build made by another (since deleted) environment would fail to load its
    libraries (exit 127)."""
    import cocotb  # noqa: PLC0415
    from cocotb_tools.config import libs_dir  # noqa: PLC0415

    return f"{Path(libs_dir).resolve()} cocotb {cocotb.__version__}"


def build_dir(sim: str, tb_text: str, dut_text: str, prefix: str = "") -> Path:
    """<cache>/sim/<sim>/<prefix><hash of everything the build depends on>."""
    key = SIM_BUILDS.key(sim, sim_version(sim), cocotb_libs(), tb_text, dut_text, length=24)
    return SIM_BUILDS.dir / sim / f"{prefix}{key}"


def build_testbench(sim: str, top: str, tb_text: str, dut_text: str, prefix: str = "") -> Path:
    """Compile (or reuse) testbench `axhw_tb` + design for `sim`; return the build directory,
    shared under a file lock."""
    bdir = build_dir(sim, tb_text, dut_text, prefix)
    marker = bdir / ".built"
    if marker.exists():
        return bdir
    with locked(bdir.with_suffix(".lock")):
        if marker.exists():
            return bdir
        ensure_dir(bdir)
        (bdir / "axhw_tb.v").write_text(tb_text)
        (bdir / "dut.v").write_text(dut_text)
        log = bdir / "build.log"
        with environ(sim_env(sim)):
            try:
                prepared_runner(sim, bdir, log, cached=False)
            except (SystemExit, Exception) as exc:  # noqa: BLE001 - any build failure
                raise ToolError(sim, f"build of {top} failed: {first_line(exc)}", str(log)) from None
        marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    return bdir


def build(sim: str, top: str, verilog: Path, ports, bits_a, bits_b, out_bits, depth) -> Path:
    """The pair-sweep testbench around a combinational design."""
    tb = testbench(top, ports, bits_a, bits_b, out_bits, depth, sim in SELF_CLOCKED)
    return build_testbench(sim, top, tb, verilog.read_text())


def run_pairs(sim: str, top: str, verilog: Path, ports, bits_a: int, bits_b: int, out_bits: int,
              index: np.ndarray, design_json: Path | None = None) -> dict:
    """Simulate every pair index (a_raw << bits_b | b_raw); check against the golden model when
    `design_json` is given. Returns a summary dict with raw outputs under "outputs"."""
    index = np.asarray(index)
    index = index if index.dtype == np.uint64 else index.astype(np.int64)
    depth = int(min(len(index), CHUNK))
    bdir = build(sim, top, verilog, ports, bits_a, bits_b, out_bits, depth)
    env = sim_env(sim)
    total = {"sim": sim, "checked": 0, "mismatches": 0, "first_mismatches": [],
             "unknown_outputs": 0}
    outputs = []
    t0 = time.perf_counter()
    for start in range(0, len(index), depth):
        chunk = index[start:start + depth]
        summary = _run_chunk(sim, bdir, env, chunk, design_json)
        npy = Path(summary.pop("_outputs_npy"))
        outputs.append(np.load(npy))
        shutil.rmtree(npy.parent, ignore_errors=True)  # a failed run keeps its folder (the log)
        total["checked"] += summary.get("checked", summary["count"])
        total["mismatches"] += summary.get("mismatches", 0)
        total["unknown_outputs"] += summary.get("unknown_outputs", 0)
        room = 10 - len(total["first_mismatches"])
        total["first_mismatches"] += summary.get("first_mismatches", [])[:max(room, 0)]
    total["seconds"] = time.perf_counter() - t0
    total["outputs"] = np.concatenate(outputs) if outputs else np.zeros(0, dtype=np.int64)
    return total


def _run_chunk(sim: str, bdir: Path, env: dict, chunk: np.ndarray, design_json) -> dict:
    from cocotb_tools.check_results import get_results  # noqa: PLC0415
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=ensure_dir(bdir / "runs")))
    vec = run_dir / "vectors.hex"
    vec.write_text("\n".join(map("{:x}".format, chunk.tolist())) + "\n")
    np.save(run_dir / "index.npy", chunk)
    cfg = {"design": str(Path(design_json).resolve()) if design_json else None,
           "index": str(run_dir / "index.npy"),
           "out": str(run_dir / "outputs.hex"), "count": int(len(chunk)),
           "outputs_npy": str(run_dir / "outputs.npy"), "summary": str(run_dir / "summary.json"),
           "drive_clock": sim not in SELF_CLOCKED}
    (run_dir / "config.json").write_text(json.dumps(cfg))
    log = run_dir / "sim.log"
    with environ(env):
        try:
            runner = prepared_runner(sim, bdir, run_dir / "build.log", cached=True)
            xml = runner.test(test_module="axhw.sim.cocotb_pairs", hdl_toplevel="axhw_tb",
                              build_dir=bdir, test_dir=run_dir, timescale=("1ns", "1ps"),
                              plusargs=[f"+vectors={vec}", f"+out={run_dir / 'outputs.hex'}",
                                        f"+count={len(chunk)}"],
                              extra_env={"AXHW_SIM_CONFIG": str(run_dir / "config.json"),
                                         **LEAN_COCOTB_ENV},
                              log_file=log)
            get_results(Path(xml))
        except (SystemExit, Exception) as exc:  # noqa: BLE001
            if not (run_dir / "summary.json").exists():
                raise ToolError(sim, f"cocotb run failed: {first_line(exc)}", str(log)) from None
    if not (run_dir / "summary.json").exists():
        raise ToolError(sim, "the cocotb test ended without a result", str(log))
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["_outputs_npy"] = str(run_dir / "outputs.npy")
    return summary
