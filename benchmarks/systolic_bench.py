"""Systolic arrays: verification speed (cocotb on Icarus/Verilator) and PPA on the cell libraries.

    python benchmarks/systolic_bench.py [--no-verify] [--pdk P ...]

Prints two markdown tables. Verification: `axhw verify`'s default workload (6 tiles x 4 matrices
x 8 vectors with bubbles, back-pressure and a mid-stream reset) on a 4x4 and an 8x8 8-bit array,
cold (empty build cache) and warm. PPA: 4x4 8-bit unsigned arrays (exact, perforated, a
heterogeneous approximate mix) through `axhw characterize`'s array flow (no result cache).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from axhw.ppa.characterize import characterize
from axhw.design.record import load_design
from axhw.infra.errors import AxhwError
from axhw.ppa.pdk import load_library
from axhw.systolic.array import SystolicArray
from axhw.systolic.design import write_array
from axhw.verify.dispatch import verify_design

HET = "exact;perforated:start=2,count=3;bam:h=2,v=6;truncated:mode=column,cut=6"
PPA_DESIGNS = [
    ("exact", {"multiplier": "exact", "backpressure": "0"}),
    ("exact, backpressure=1", {"multiplier": "exact"}),
    ("perforated j2 k3", {"multiplier": "perforated:start=2,count=3", "backpressure": "0"}),
    ("heterogeneous", {"column_multipliers": HET, "backpressure": "0"}),
]
CLOCK_NS = {"osu018": 10.0, "nangate45": 2.0, "sky130hd": 5.0, "asap7": 1.0}


def make(outdir: Path, rows: int, cols: int, kv: dict, signed: bool = False) -> Path:
    arr = SystolicArray.from_strings(8, 8, signed, {"rows": str(rows), "cols": str(cols), **kv})
    return write_array(arr, outdir)


def verify_table(work: Path) -> None:
    print("| array | simulator | vectors | MACs | cycles | cold s | warm s |")
    print("|---|---|---|---|---|---|---|")
    cases = [("4x4 exact signed", 4, 4, {"multiplier": "exact"}, True),
             ("4x4 heterogeneous", 4, 4, {"column_multipliers": HET}, False),
             ("8x8 exact signed", 8, 8, {"multiplier": "exact"}, True)]
    for label, rows, cols, kv, signed in cases:
        design = load_design(make(work / label.replace(" ", "_"), rows, cols, kv, signed))
        for sim in ("icarus", "verilator"):
            times = []
            for _ in range(2):  # first run builds (cache is empty), second reuses the build
                t0 = time.perf_counter()
                (r,) = verify_design(design, sim=sim)
                times.append(time.perf_counter() - t0)
                assert r.ok, r.first_mismatches
            macs = r.detail.split(" MACs")[0].split(", ")[-1]
            cycles = r.detail.split(" cycles")[0].split(", ")[-1]
            print(f"| {label} | {sim} | {r.checked} | {macs} | {cycles} | {times[0]:.2f} | "
                  f"{times[1]:.2f} |")


def ppa_table(work: Path, pdks: list[str]) -> None:
    print("| PDK | clock ns | design | area um^2 | flops | min period ns | fmax MHz | power mW "
          "| energy pJ/MAC | ppa s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for pdk in pdks:
        try:
            lib = load_library(pdk)
        except AxhwError as exc:
            print(f"| {pdk} | skipped: {exc} |", file=sys.stderr)
            continue
        for label, kv in PPA_DESIGNS:
            design = load_design(make(work / f"ppa_{label.split(',')[0]}", 4, 4, kv))
            r = characterize(design, lib, clock_ns=CLOCK_NS[pdk], use_cache=False)
            print(f"| {pdk} | {r['clock_ns']:g} | {label} | {r['area_um2']:.2f} | {r['flops']} | "
                  f"{r['min_period_ns']:.3f} | {r['fmax_mhz']:.1f} | {r['power_mw']:.4g} | "
                  f"{r['energy_per_mac_pj']:.4g} | {r['ppa_seconds']:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pdk", action="append", help="PPA on this library (repeatable; default all)")
    ap.add_argument("--no-verify", action="store_true", help="skip the verification table")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AXHW_CACHE_DIR"] = str(Path(tmp) / "cache")  # cold builds
        work = Path(tmp)
        if not args.no_verify:
            verify_table(work)
            print()
        ppa_table(work, args.pdk or list(CLOCK_NS))


if __name__ == "__main__":
    main()
