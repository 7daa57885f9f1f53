"""Verification past 8 bits: exhaustive Verilator-harness sweep time and formal proof time.

    .venv/bin/python benchmarks/verify_wide.py                      # 16x16 exhaustive + formal 4..8
    .venv/bin/python benchmarks/verify_wide.py --exhaustive 12 --formal 4 6 8 10 --timeout 900

Prints markdown tables (machine, load and date first) for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import datetime, timezone

import numpy as np

from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.verify.formal import prove
from axhw.sim.netsim import CHUNK, generic_netlist, simulate_pairs, sweep_pairs
from axhw.verify.harness import build_harness, sweep, workers


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.node()}: {workers()} cores, {platform.processor() or platform.machine()}, "
            f"load average {load:.1f} at start, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")


def bench_exhaustive(bits_list, tmp):
    print("| design | pairs | harness build s | sweep s | M pairs/s | mismatches |")
    print("|---|---:|---:|---:|---:|---:|")
    for bits in bits_list:
        for spec in (make("exact", bits), make("perforated", bits, signed=True, start=1, count=2,
                                                   encoding="booth")):
            d = load_design(write_design(spec, tmp))
            t0 = time.perf_counter()
            exe = build_harness(d)
            t1 = time.perf_counter()
            r = sweep(d, exe)
            t2 = time.perf_counter()
            print(f"| {d.top} | {r['checked']:,} | {t1 - t0:.1f} | {t2 - t1:.1f} | "
                  f"{r['checked'] / (t2 - t1) / 1e6:.1f} | {r['mismatches']} |", flush=True)


def bench_netsim(tmp):
    """The numpy gate evaluator (one core): all pairs of 8x8, and a 2^24-pair slice of 16x16."""
    print("| design | gates | pairs | seconds (warm) | M pairs/s |")
    print("|---|---:|---:|---:|---:|")
    for bits, pairs in ((8, 1 << 16), (16, 1 << 24)):
        d = load_design(write_design(make("exact", bits), tmp))
        nl = generic_netlist(d.verilog_path, d.top)

        def run():
            if bits == 8:  # the run_pairs-compatible entry point, Yosys netlist from the cache
                return len(simulate_pairs(d.verilog_path, d.top, d.ports, bits, bits,
                                          d.out_bits, np.arange(pairs)))
            return sum(len(o) for _, o in sweep_pairs(nl, d.ports, bits, bits, d.out_bits,
                                                      0, pairs, CHUNK))

        run()  # warm: netlist cached, numba compiled
        t0 = time.perf_counter()
        run()
        dt = time.perf_counter() - t0
        print(f"| {d.top} | {nl.cell_count} | {pairs:,} | {dt:.3f} | {pairs / dt / 1e6:.1f} |",
              flush=True)


def bench_formal(bits_list, timeout, tmp):
    print("| design | pairs | proof |")
    print("|---|---:|---|")
    for bits in bits_list:
        for spec in (make("exact", bits), make("exact", bits, signed=True),
                     make("perforated", bits, start=1, count=2),
                     make("perforated", bits, signed=True, start=1, count=1, encoding="booth")):
            d = load_design(write_design(spec, tmp))
            try:
                verdict = f"proved in {prove(d, timeout):.1f} s"
            except AxhwError as exc:
                verdict = ("not finished within " f"{timeout:.0f} s" if "did not finish" in str(exc)
                           else f"error: {exc}")
            print(f"| {d.top} | {1 << (2 * bits):,} | {verdict} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exhaustive", type=int, nargs="*", default=[16], help="widths (n x n)")
    ap.add_argument("--formal", type=int, nargs="*", default=[4, 6, 8], help="widths (n x n)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per formal proof")
    ap.add_argument("--no-netsim", action="store_true", help="skip the gate-evaluator table")
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_netsim:
            print("\nnetsim (bit-parallel numpy gate evaluator, one core)\n")
            bench_netsim(tmp)
        if args.exhaustive:
            print("\nexhaustive (bit-sliced Verilator harness, one harness + golden checker per core)\n")
            bench_exhaustive(args.exhaustive, tmp)
        if args.formal:
            print(f"\nformal (Yosys miter + SAT, timeout {args.timeout:.0f} s)\n")
            bench_formal(args.formal, args.timeout, tmp)


if __name__ == "__main__":
    main()
