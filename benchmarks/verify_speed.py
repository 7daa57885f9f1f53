"""Exhaustive 8x8 verification time through cocotb, cold (empty build cache) and warm, per simulator.

Usage: .venv/bin/python benchmarks/verify_speed.py [--designs N]
Prints a Markdown table. Cold = fresh AXHW_CACHE_DIR (compile + run); warm = same design again.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="warm repetitions (median reported)")
    args = ap.parse_args()
    os.environ["AXHW_CACHE_DIR"] = tempfile.mkdtemp(prefix="axhw-bench-cache-")
    from axhw.design import load_design, write_design
    from axhw.families import make
    from axhw.verify import verify_design

    designs = [make("perforated", 8, start=2, count=3),
               make("perforated", 8, signed=True, encoding="booth", start=1, count=2),
               make("exact", 8, tree="dadda")]
    out = Path(tempfile.mkdtemp(prefix="axhw-bench-"))
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    print("| design | simulator | pairs | cold s | warm s (median) |")
    print("|---|---|---|---|---|")
    for spec in designs:
        d = load_design(write_design(spec, out))
        for sim in ("icarus", "verilator"):
            t0 = time.perf_counter()
            (r,) = verify_design(d, sim=sim)
            cold = time.perf_counter() - t0
            assert r.ok
            warm = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                (r,) = verify_design(d, sim=sim)
                warm.append(time.perf_counter() - t0)
                assert r.ok
            print(f"| {spec.top} | {sim} | {r.checked} | {cold:.2f} | {statistics.median(warm):.2f} |")


if __name__ == "__main__":
    main()
