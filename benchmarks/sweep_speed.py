"""Sweep throughput: 100 distinct 8-bit designs × 1 PDK, cold (empty caches) and warm (all cached).

Usage: .venv/bin/python benchmarks/sweep_speed.py [--pdk nangate45] [--verify off|random] [-j N]
Uses the bundled libraries (osu018 from apt). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time


def spec_dict(pdk: str, verify: str) -> dict:
    return {
        "name": "bench100", "bits": 8, "pdks": [pdk], "verify": verify, "verify_samples": 1000,
        "designs": [
            {"type": "exact", "grid": {"encoding": ["and", "booth"],
                                       "tree": ["array", "wallace", "dadda"]}},
            {"type": "perforated", "grid": {"start": "0..7", "count": "1..3"}},
            {"type": "perforated", "grid": {"start": "0..3", "count": "1..4"},
             "fixed": {"encoding": "booth"}},
            {"type": "truncated", "grid": {"cut": "1..14", "correction": ["none", "constant"]},
             "fixed": {"mode": "column"}},
            {"type": "truncated", "grid": {"cut": "1..7"}, "fixed": {"mode": "operand"}},
            {"type": "bam", "grid": {"h": "0..3", "v": [4, 6, 8, 10, 12]}},
            {"type": "rounded", "grid": {"mode": ["operand"], "round": "1..7"}},
            {"type": "rounded", "fixed": {"mode": "roba"}},
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pdk", default="nangate45")
    ap.add_argument("--verify", default="off", choices=["off", "random", "exhaustive"])
    ap.add_argument("-j", "--jobs", type=int, default=None)
    args = ap.parse_args()
    os.environ["AXHW_CACHE_DIR"] = tempfile.mkdtemp(prefix="axhw-bench-sweep-cache-")
    from axhw.sweep.points import expand
    from axhw.sweep.run import run_sweep
    from axhw.sweep.spec import spec_from_dict

    spec = spec_from_dict(spec_dict(args.pdk, args.verify))
    valid = [p for p in expand(spec) if p.invalid is None]
    out = tempfile.mkdtemp(prefix="axhw-bench-sweep-")
    t0 = time.perf_counter()
    df = run_sweep(spec, out, jobs=args.jobs, progress=False)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    df2 = run_sweep(spec, out, jobs=args.jobs, progress=False)
    warm = time.perf_counter() - t0
    ok = int((df.status == "ok").sum())
    assert df.drop(columns=[]).equals(df2), "warm run changed the table"
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores; "
          f"{time.strftime('%Y-%m-%d')}; pdk {args.pdk}; verify {args.verify}")
    print("| designs | rows ok | cold s | cold s/design | warm s |")
    print("|---|---|---|---|---|")
    print(f"| {len(valid)} | {ok} | {cold:.1f} | {cold / max(len(valid), 1):.2f} | {warm:.2f} |")


if __name__ == "__main__":
    main()
