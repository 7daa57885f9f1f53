"""Exhaustive 8x8 verification time through cocotb against a plain Icarus testbench, same run.

Usage: python benchmarks/verify_speed.py [--repeat N]
Prints Markdown tables:
1. per design and simulator: cold (empty build cache: compile + run) and warm `verify_design`
   (median of N, in-process);
2. the user's view, warm, median of N, wall and CPU time (user + system of the processes):
   `axhw verify X.json --sim icarus` (whole command, a fresh process) and `--sim both`, against a plain Icarus run of the same 65,536 pairs: the same
   testbench compiled once with iverilog, then vector file + `vvp` (no cocotb, no VPI) + the
   outputs read back and compared with the golden model in numpy.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_time(fn, repeat: int) -> float:
    return median_times(fn, repeat)[0]


def median_times(fn, repeat: int) -> tuple[float, float]:
    """(wall s, CPU s of the child processes: user + system), medians. On a busy machine the CPU
    time is the steadier measure of work done."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def plain_icarus(design, work: Path):
    """Compile the pair-sweep testbench (self-clocked) once; return a function that runs every
    pair through plain vvp and checks the outputs against the golden model."""
    import numpy as np

    from axhw.design.golden import all_pairs, to_raw
    from axhw.sim.cocotb_run import testbench

    n = 1 << (design.bits_a + design.bits_b)
    work.mkdir(parents=True, exist_ok=True)
    (work / "tb.v").write_text(testbench(design.top, design.ports, design.bits_a, design.bits_b,
                                         design.out_bits, n, self_clocked=True)
                               + "\nmodule stop; initial begin wait (axhw_tb.done); $finish; end "
                                 "endmodule\n")
    subprocess.run(["iverilog", "-g2012", "-o", str(work / "tb.vvp"), "-s", "axhw_tb", "-s",
                    "stop", str(work / "tb.v"), str(design.verilog_path)], check=True)
    A, B = all_pairs(design.bits_a, design.bits_b, design.signed)

    def run() -> None:
        vec = work / "vectors.hex"
        vec.write_text("\n".join(f"{k:x}" for k in range(n)) + "\n")
        subprocess.run(["vvp", "-n", str(work / "tb.vvp"), f"+vectors={vec}",
                        f"+out={work / 'out.hex'}", f"+count={n}"], check=True,
                       stdout=subprocess.DEVNULL)
        got = np.array([int(s, 16) for s in (work / "out.hex").read_text().split()])
        assert np.array_equal(got, to_raw(design.golden(A, B), design.out_bits).ravel())

    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="warm repetitions (median reported)")
    args = ap.parse_args()
    os.environ["AXHW_CACHE_DIR"] = tempfile.mkdtemp(prefix="axhw-bench-cache-")
    from axhw.design.record import load_design, write_design
    from axhw.gen.families import make
    from axhw.verify.dispatch import verify_design

    designs = [make("perforated", 8, start=2, count=3),
               make("perforated", 8, signed=True, encoding="booth", start=1, count=2),
               make("exact", 8, tree="dadda")]
    out = Path(tempfile.mkdtemp(prefix="axhw-bench-"))
    load = os.getloadavg()[0]
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load average {load:.1f} at start; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print()
    print("| design | simulator | pairs | cold s | warm s (median) |")
    print("|---|---|---|---|---|")
    loaded = []
    for spec in designs:
        d = load_design(write_design(spec, out))
        loaded.append(d)
        for sim in ("icarus", "verilator"):
            t0 = time.perf_counter()
            (r,) = verify_design(d, sim=sim)
            cold = time.perf_counter() - t0
            assert r.ok
            warm = median_time(lambda: verify_design(d, sim=sim), args.repeat)
            print(f"| {spec.top} | {sim} | {r.checked} | {cold:.2f} | {warm:.2f} |")

    axhw = [str(Path(sys.executable).parent / "axhw")]  # the console script a user runs
    print()
    print("| design | plain Icarus: wall s / CPU s | `axhw verify --sim icarus`: wall s / CPU s | "
          "ratio wall / CPU | `--sim both`: wall s / CPU s |")
    print("|---|---|---|---|---|")
    for d in loaded:
        plain = median_times(plain_icarus(d, out / f"plain-{d.top}"), args.repeat)

        def cli(sim: str) -> None:
            subprocess.run([*axhw, "verify", str(d.json_path), "--sim", sim], check=True,
                           stdout=subprocess.DEVNULL)

        icarus = median_times(lambda: cli("icarus"), args.repeat)
        both = median_times(lambda: cli("both"), args.repeat)
        print(f"| {d.top} | {plain[0]:.2f} / {plain[1]:.2f} | {icarus[0]:.2f} / {icarus[1]:.2f} | "
              f"{icarus[0] / plain[0]:.1f}× / {icarus[1] / plain[1]:.1f}× | "
              f"{both[0]:.2f} / {both[1]:.2f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(os.environ["AXHW_CACHE_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
