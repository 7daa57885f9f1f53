"""AND-array families: Verilog generation time and golden-model throughput.

Usage: .venv/bin/python benchmarks/families_and_speed.py [--pairs N]
Prints a Markdown table: time of ``spec.verilog()`` (structure + tree), of the golden model on all
65,536 pairs of an 8x8 design, and on N random pairs of the 16x16 version (median of 3 each).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from axhw.gen.families import make
from axhw.design.golden import all_pairs, pair_values

CONFIGS = [
    ("truncated", dict(cut=8)),
    ("truncated", dict(cut=8, correction="constant", tree="wallace")),
    ("truncated", dict(mode="operand", cut=2, tree="array")),
    ("truncated", dict(mode="cct", guard=4)),
    ("truncated", dict(mode="vct", guard=2)),
    ("bam", dict(h=2, v=6)),
    ("masked", dict(drop_columns=(0, 1, 2, 3), compensation="constant")),
]


def _median_s(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _spec(family: str, bits: int, params: dict):
    p = dict(params)
    if p.get("mode") in ("cct", "vct"):
        p["out_bits"] = bits
    return make(family, bits, **p)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=1_000_000, help="random 16x16 pairs")
    args = ap.parse_args()
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    print(f"| design (8x8) | verilog() 8x8 ms | verilog() 16x16 ms | golden 8x8 all pairs ms "
          f"| golden 16x16 {args.pairs:,} pairs ms |")
    print("|---|---|---|---|---|")
    A8, B8 = all_pairs(8, 8, False)
    rng = np.random.default_rng(1)
    A16, B16 = pair_values(rng.integers(0, 1 << 32, size=args.pairs, dtype=np.int64), 16, 16, False)
    for family, params in CONFIGS:
        s8, s16 = _spec(family, 8, params), _spec(family, 16, params)
        print(f"| {s8.top} | {1e3 * _median_s(s8.verilog):.2f} | {1e3 * _median_s(s16.verilog):.2f} "
              f"| {1e3 * _median_s(lambda: s8.golden(A8, B8)):.1f} "
              f"| {1e3 * _median_s(lambda: s16.golden(A16, B16)):.0f} |")


if __name__ == "__main__":
    main()
