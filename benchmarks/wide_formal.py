"""What formal verification proves at 32×32, and in what time.

1. ``axhw verify --method formal`` (miter against the behavioural ``sa * sb`` reference, Yosys
   SAT) on 32-bit designs, bounded by --timeout: multipliers are the classic hard case for SAT,
   so this reports whether it finished.
2. Structural route: the design with a structural final adder is proved equivalent to the same
   design with ``final_adder=synth`` (Yosys ``miter -equiv`` + ``opt`` + ``sat``): the identical
   reduction trees merge, leaving the adders, which SAT handles at 64 output bits.
   Together with the gate-level random checks this is what is proved at 32 bits.

    AXHW_PDK_ROOT=../shared/pdk .venv/bin/python benchmarks/wide_formal.py [--timeout 120]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from axhw.design import load_design, write_design
from axhw.errors import AxhwError
from axhw.families import make
from axhw.formal import prove
from axhw.tools import yosys

DESIGNS = [("exact", True, {}), ("truncated", False, {"cut": 30, "correction": "constant"}),
           ("bam", True, {"h": 3, "v": 20}), ("perforated", False, {"start": 4, "count": 3}),
           ("masked", False, {"drop_columns": (0, 1, 2, 40)})]


def equivalent_to_synth(spec, work: Path) -> float:
    base = dataclasses.replace(spec, final_adder="synth")
    (work / "a.v").write_text(spec.verilog())
    (work / "b.v").write_text(base.verilog())
    t0 = time.perf_counter()
    yosys.run_script([f"read_verilog {yosys.quote(work / 'a.v')}",
                      f"read_verilog {yosys.quote(work / 'b.v')}", "proc", "flatten",
                      f"miter -equiv -flatten -make_outputs {spec.top} {base.top} m",
                      "hierarchy -top m", "flatten", "opt -fast",
                      "sat -verify -prove trigger 0 m"], work / "yosys.log", timeout=600)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--adder", default="kogge_stone")
    ap.add_argument("--families", nargs="+", default=[f for f, _, _ in DESIGNS])
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="axhw-wide-formal-"))
    print(f"{platform.node()}, {date.today()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}\n")
    print(f"| design (32x32) | verify --method formal (timeout {args.timeout:.0f} s) | "
          f"== same design with synth adder (s) |")
    print("|---|---|---|")
    for family, signed, params in (d for d in DESIGNS if d[0] in args.families):
        spec = make(family, 32, signed=signed, final_adder=args.adder, **params)
        design = load_design(write_design(spec, work))
        try:
            verdict = f"proved in {prove(design, args.timeout):.1f} s"
        except AxhwError as exc:
            verdict = "did not finish" if "did not finish" in str(exc) else f"error: {exc}"
        print(f"| {spec.top} | {verdict} | {equivalent_to_synth(spec, work):.1f} |", flush=True)


if __name__ == "__main__":
    main()
