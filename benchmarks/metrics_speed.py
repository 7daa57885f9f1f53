"""Speed of `axhw lut` / `axhw metrics`: exhaustive 16x16 metrics (4.3e9 pairs), LUT cold/warm.

Run: .venv/bin/python benchmarks/metrics_speed.py [--quick]
Prints a markdown table (wall and CPU seconds; the load average shows how busy the machine was).
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numba

from axhw.design.record import load_design, write_design
from axhw.gen.families import make
from axhw.design.external import load_external
from axhw.measure.lut import design_lut
from axhw.measure.metrics import design_metrics


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main(quick: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="axhw-bench-"))
    rows = []

    def design(name, family, bits, signed=False, **params):
        return load_design(write_design(make(family, bits, signed=signed, **params), tmp / name))

    d8 = design("p8", "perforated", 8, start=2, count=3)
    _, w, c = timed(lambda: design_lut(d8, use_cache=False))
    rows.append(("LUT 8x8 perforated, cold (Yosys synth cached, netsim)", 65536, w, c))
    _, w, c = timed(lambda: design_lut(d8))
    rows.append(("LUT 8x8 perforated, warm (cache)", 65536, w, c))
    design_metrics(d8)  # numba compile / cache load
    _, w, c = timed(lambda: design_metrics(d8))
    rows.append(("metrics 8x8 from the LUT", 65536, w, c))

    ext = load_external(design("e10", "perforated", 10, start=1, count=2).verilog_path)
    design_metrics(ext, chunk=1 << 16)  # synthesize once
    _, w, c = timed(lambda: design_metrics(ext))
    rows.append(("metrics 10x10 external Verilog, streamed from netsim", 1 << 20, w, c))

    wide = [("metrics 16x16 perforated unsigned (golden, streamed)",
             design("p16", "perforated", 16, start=2, count=3)),
            ("metrics 16x16 Booth perforated signed (golden, streamed)",
             design("b16", "perforated", 16, True, start=0, count=2, encoding="booth"))]
    for label, d in wide[:1] if quick else wide:
        m, w, c = timed(lambda d=d: design_metrics(d))
        rows.append((label, m["pairs"], w, c))

    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba threads {numba.get_num_threads()}, python {sys.version.split()[0]}; "
          f"load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| case | pairs | wall s | CPU s | Mpairs/s (wall) |")
    print("|---|---:|---:|---:|---:|")
    for label, pairs, w, c in rows:
        print(f"| {label} | {pairs:,} | {w:.2f} | {c:.2f} | {pairs / w / 1e6:,.1f} |")


if __name__ == "__main__":
    main("--quick" in sys.argv)
