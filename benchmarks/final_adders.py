"""PPA of the exact Dadda multiplier with each final carry-propagate adder (axhw.gen.hdl.adders).

Each design is generated, synthesized with Yosys onto the cell library, timed and power-estimated
with OpenSTA (uniform random activity) through `axhw.ppa.characterize`; `synth` (the behavioural '+'
left to Yosys) is the baseline of the same run. Run:

    AXHW_PDK_ROOT=../shared/pdk .venv/bin/python benchmarks/final_adders.py \
        [--bits 8 16] [--pdk nangate45 asap7] [--clock-ns 10]

Prints one markdown table per (width, PDK): area um^2, critical delay ns, power mW at the clock,
cells, and area / delay relative to synth.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from axhw.ppa.characterize import characterize
from axhw.design.record import load_design, write_design
from axhw.gen.families import make
from axhw.gen.hdl.adders import ADDERS
from axhw.ppa.pdk import load_library


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bits", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--pdk", nargs="+", default=["nangate45", "asap7"])
    ap.add_argument("--clock-ns", type=float, default=10.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="axhw-final-adders-"))
    print(f"{platform.node()} {platform.machine()}, {date.today()}, {os.cpu_count()} cores, "
          f"clock {args.clock_ns} ns, exact unsigned Dadda multiplier\n")
    for bits in args.bits:
        for pdk in args.pdk:
            library = load_library(pdk)
            print(f"\n{bits}x{bits}, {pdk}\n")
            print("| final adder | area um^2 | delay ns | power mW | cells | area/synth | "
                  "delay/synth | s |")
            print("|---|---|---|---|---|---|---|---|")
            base = None
            for adder in ADDERS:
                t0 = time.perf_counter()
                design = load_design(write_design(make("exact", bits, final_adder=adder), tmp))
                r = characterize(design, library, clock_ns=args.clock_ns, use_cache=False,
                                 error_metrics=False)  # all exact: nothing to measure
                base = base or r
                print(f"| {adder} | {r['area_um2']:.1f} | {r['delay_ns']:.3f} | "
                      f"{r['power_mw']:.4f} | {r['cells']} | "
                      f"{r['area_um2'] / base['area_um2']:.2f} | "
                      f"{r['delay_ns'] / base['delay_ns']:.2f} | {time.perf_counter() - t0:.0f} |",
                      flush=True)


if __name__ == "__main__":
    main()
