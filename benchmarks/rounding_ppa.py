"""PPA and error of the rounding-based / ROUP families next to the exact baselines.

Each design is generated, synthesized with Yosys onto a cell library, timed and power-estimated
with OpenSTA (uniform random activity) through `axhw.ppa.characterize`, and its error metrics are
computed exhaustively. Run:

    .venv/bin/python benchmarks/rounding_ppa.py \
        [--bits 8|16] [--pdk nangate45]

Prints a markdown table (area um^2, critical delay ns, energy pJ/op at the 10 ns clock, MRED %,
NMED (2^2n-1) and the generation time of the Verilog), then the 16-bit generation time and golden
model throughput (1M random pairs) of the same configurations.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from axhw.ppa.characterize import characterize
from axhw.design.record import load_design, write_design
from axhw.gen.families import make
from axhw.ppa.pdk import load_library


def configs(n: int) -> list[tuple[str, str, bool, dict]]:
    half = n // 2
    rows = [
        ("exact AND (Dadda)", "exact", False, {}),
        ("U-RoBA", "rounded", False, dict(mode="roba")),
        (f"operand round r={n // 4}", "rounded", False, dict(mode="operand", round=n // 4)),
        ("exact AND signed (BW, Dadda)", "exact", True, {}),
        ("exact radix-4 Booth signed", "exact", True, dict(encoding="booth")),
        ("S-RoBA", "rounded", True, dict(mode="roba")),
        (f"RAD{2 ** (n - 2 if n <= 8 else 8)}", "rounded", True,
         dict(mode="rad", k=n - 2 if n <= 8 else 8)),
        ("PR|2,4", "roup", True, dict(perforate=2, q=(4,) * (half - 2))),
        ("ROUP P=1 R=6", "roup", True, dict(perforate=1, round=6)),
        ("ROUP P=2 R=8", "roup", True, dict(perforate=2, round=8)),
    ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--pdk", default="nangate45")
    args = ap.parse_args()
    library = load_library(args.pdk)
    tmp = Path(tempfile.mkdtemp(prefix="axhw-rounding-ppa-"))
    print(f"{args.bits}x{args.bits}, {args.pdk}, 10 ns clock, 4096 uniform vectors; "
          f"{platform.node()} {platform.machine()}, {date.today()}\n")
    print("| design | type | area um^2 | delay ns | energy pJ | MRED % | NMED | gen s |")
    print("|---|---|---|---|---|---|---|---|")
    for label, family, signed, params in configs(args.bits):
        t0 = time.perf_counter()
        spec = make(family, args.bits, signed=signed, **params)
        design = load_design(write_design(spec, tmp))
        gen_s = time.perf_counter() - t0
        r = characterize(design, library)
        print(f"| {label} | {spec.top} | {r['area_um2']:.1f} | {r['delay_ns']:.3f} | "
              f"{r['energy_pj']:.3f} | {100 * r['mred']:.4f} | {r['nmed']:.3e} | {gen_s:.3f} |",
              flush=True)
    speed_table()


def speed_table(n: int = 16, pairs: int = 1_000_000) -> None:
    rng = np.random.default_rng(1)
    print(f"\n{n}-bit: Verilog generation and golden model on {pairs:,} random pairs "
          f"(load average {os.getloadavg()[0]:.1f})\n")
    print("| design | type | gen ms | golden Mpairs/s |")
    print("|---|---|---|---|")
    for label, family, signed, params in configs(n):
        spec = make(family, n, signed=signed, **params)
        gen_ms = 1e3 * best_of_3(spec.verilog)
        lo, hi = (-(1 << (n - 1)), 1 << (n - 1)) if signed else (0, 1 << n)
        A, B = rng.integers(lo, hi, pairs), rng.integers(lo, hi, pairs)
        rate = pairs / best_of_3(lambda: spec.golden(A, B)) / 1e6
        print(f"| {label} | {spec.top} | {gen_ms:.1f} | {rate:.0f} |", flush=True)


def best_of_3(fn) -> float:
    """Shortest of three wall-clock runs in seconds (the machine may be shared)."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


if __name__ == "__main__":
    main()
