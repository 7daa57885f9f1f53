"""Logic synthesis onto a cell library with Yosys (flow: axhw/ppa/flows/synth.ys.tmpl).

``synthesize(verilog, top, library, clock_ns, workdir, map_flops=True) -> Synthesis``
    Flatten, map registers with ``dfflibmap`` (when ``map_flops`` and the library has flip-flops:
    clocked designs such as systolic arrays keep their registers), map the logic with
    ``abc -liberty`` aiming at a delay of ``clock_ns`` (ABC's ``-D``, in ps), report the area with
    ``stat -liberty`` and write the mapped netlist twice: ``netlist.json`` (bus ports, for
    :mod:`axhw.sim.netsim`) and ``netlist.v`` (single-bit ports, tie cells, buffers: what OpenSTA 2.0.17
    reads). Cell and net names agree between the two. Everything lands in ``workdir``; the Yosys
    log is ``workdir/synth.log``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ..infra.errors import AxhwError, ToolError
from ..infra.fileio import ensure_dir
from ..infra.names import check_name
from .pdk import CellLibrary
from ..infra.tools import stage, yosys

__all__ = ["FLOWS", "flow_template", "Synthesis", "synthesize", "liberty_names"]

FLOWS = Path(__file__).resolve().parent / "flows"  # package data (pyproject: package-data)


def flow_template(name: str) -> Template:
    try:
        return Template((FLOWS / name).read_text())
    except OSError as exc:
        raise AxhwError(f"flow template {FLOWS / name} is missing: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Synthesis:
    top: str
    workdir: Path
    netlist_v: Path
    netlist_json: Path
    area_um2: float
    sequential_area_um2: float
    cells: int
    cell_counts: dict[str, int]
    log: Path


def cell_glob(pattern: str) -> str:
    """A dont_use cell-name glob (PDK registry) as Yosys and ABC take it: name characters and
    * ? only."""
    if not re.fullmatch(r"[A-Za-z0-9_*?]+", pattern):
        raise AxhwError(f"dont_use pattern {pattern!r}: only letters, digits, _ * ? are allowed")
    return pattern


def liberty_names(library: CellLibrary, workdir: Path) -> list[Path]:
    """The library's files staged in `workdir` under their content hashes (:func:`stage`)."""
    return [stage(f, workdir, ".lib", facts["sha256"]) for f, facts in zip(library.files,
                                                                           library.facts)]


def synthesize(verilog: Path, top: str, library: CellLibrary, clock_ns: float, workdir: Path,
               map_flops: bool = True) -> Synthesis:
    top = check_name(top)
    workdir = ensure_dir(Path(workdir))
    q = yosys.quote
    # Tools see only names axhw chose in the run folder (ABC hands Liberty paths to a shell).
    libs = liberty_names(library, workdir)
    verilog = stage(verilog, workdir, ".v")
    buf_cell, buf_in, buf_out = library.buffer
    hi, lo = library.tie_hi, library.tie_lo
    # Without tie cells (osu018) constants stay literal 1'b0/1'b1 pins: OpenSTA reads those.
    dont_use = "".join(f' -dont_use "{cell_glob(p)}"' for p in library.dont_use)
    hilomap = (f"hilomap -hicell {hi[0]} {hi[1]} -locell {lo[0]} {lo[1]}" if hi and lo else "")
    script = flow_template("synth.ys.tmpl").substitute(
        read_liberty="\n".join(f"read_liberty -lib {q(f)}" for f in libs),
        verilog=q(verilog), top=top,
        dfflibmap=("dfflibmap " + " ".join(f"-liberty {q(f)}" for f in libs) + dont_use
                   if map_flops and library.has_flops else ""),
        delay_ps=f"{clock_ns * 1000:.0f}",
        abc_liberty=" ".join(f"-liberty {q(f)}" for f in libs) + dont_use,
        hilomap=hilomap,
        buffer=f"{buf_cell} {buf_in} {buf_out}",
        stat_json=q(workdir / "stat.json"),
        stat_liberty=" ".join(f"-liberty {q(f)}" for f in libs),
        netlist_json=q(workdir / "netlist.json"),
        netlist_v=q(workdir / "netlist.v"),
    )
    log = yosys.run_script(script, workdir / "synth.log")
    try:
        stat = json.loads((workdir / "stat.json").read_text())["design"]
    except (OSError, ValueError, KeyError) as exc:
        raise ToolError("yosys", f"no area report from `stat`: {exc}", str(log)) from None
    counts = {str(k): int(v) for k, v in stat.get("num_cells_by_type", {}).items()}
    unknown = sorted(c for c in counts if c not in library.cells)
    if unknown:  # generic cells left over: ABC could not map them to the library
        raise ToolError("yosys", f"cells not in the library after mapping: {', '.join(unknown)}",
                        str(log))
    return Synthesis(top=top, workdir=workdir, netlist_v=workdir / "netlist.v",
                     netlist_json=workdir / "netlist.json", area_um2=float(stat["area"]),
                     sequential_area_um2=float(stat.get("sequential_area", 0.0)),
                     cells=int(stat["num_cells"]), cell_counts=counts, log=log)
