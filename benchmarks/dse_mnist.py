"""DSE fronts on builtin:mnist-cnn and builtin:mnist-vit (issue 12): prints a markdown table per task.

Needs the library of benchmarks/dse_digits.py (OUT/library). Run:
  AXHW_PDK_ROOT=/work/shared/pdk python benchmarks/dse_mnist.py [OUT] [--evals 48] [--budget 0.3]
"""

import argparse
import time
from pathlib import Path

import numpy as np

from axhw.dse import load_library, load_task
from axhw.dse.evaluate import Evaluator
from axhw.dse.report import hypervolume, pareto_table
from axhw.dse.search import Search, run_method


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="out/dse_bench")
    ap.add_argument("--evals", type=int, default=48)
    ap.add_argument("--budget", type=float, default=0.3)
    ap.add_argument("--tasks", default="mnist-cnn,mnist-vit")
    a = ap.parse_args()
    lib = load_library(Path(a.out) / "library" / "results.parquet", "nangate45", 8).restrict([8])
    for name in a.tasks.split(","):
        t0 = time.time()
        ev = Evaluator(load_task(f"builtin:{name}"), lib, progress=False)
        s = Search(ev, "layer", budget=a.budget, evals=a.evals, seed=0)
        print(f"\n#### {name}: float {ev.accuracy_float:.2f} %, exact 8-bit {ev.accuracy_exact:.2f} %, "
              f"MACs {ev.macs}")
        for method in ("ilp", "uniform", "random", "nsga2"):
            t1 = time.time()
            run_method(method, s)
            recs = [r for r in s.records if r["method"] == method]
            ok = [r for r in recs if r["energy_rel"] <= a.budget + 1e-9]
            best = max(ok, key=lambda r: r["accuracy"]) if ok else None
            acc = [r["accuracy"] for r in ok]
            print(f"| {method} | {len(recs)} evals | best ≤ {a.budget}: "
                  + (f"{best['accuracy']:.2f} % at {best['energy_rel']:.4f}" if best else "none")
                  + (f" | median {np.median(acc):.2f}" if len(acc) > 1 else " |")
                  + f" | hv {hypervolume([r['energy_rel'] for r in recs], [r['accuracy'] for r in recs]):.3f}"
                  f" | {time.time() - t1:.0f} s |")
        df = pareto_table(s.records)
        front = df[df["on_front"]].sort_values("energy_rel")
        print("front (energy_rel, accuracy, method): " + ", ".join(
            f"({r.energy_rel:.3f}, {r.accuracy:.2f}, {r.method})" for r in front.itertuples()))
        print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
