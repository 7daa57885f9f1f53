"""DSE must-show figures on builtin:digits-mlp (issue 12): prints a markdown report.

Library: benchmarks/dse_library.yaml swept on nangate45 (reused when OUT/library exists).
Run: AXHW_PDK_ROOT=/work/shared/pdk python benchmarks/dse_digits.py [OUT] [--nsga-evals 360]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from axhw.dse import LibraryDesign, load_library, load_task
from axhw.dse.evaluate import Evaluator
from axhw.dse.report import hypervolume
from axhw.dse.search import Search, run_method
from axhw.dse.sensitivity import sensitivity
from axhw.torch import Lut

ROOT = Path(__file__).resolve().parents[1]
AXHW = str(Path(sys.executable).parent / "axhw")


def cli(*args):
    t0 = time.time()
    p = subprocess.run([AXHW, *map(str, args)], capture_output=True, text=True)
    if p.returncode:
        sys.exit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1]), time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="out/dse_bench")
    ap.add_argument("--nsga-evals", type=int, default=360)
    ap.add_argument("--task", default="builtin:digits-mlp")
    ap.add_argument("--skip-nsga", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    table = out / "library" / "results.parquet"
    if not table.exists():
        t0 = time.time()
        subprocess.run([AXHW, "sweep", str(ROOT / "benchmarks/dse_library.yaml"), "-o", str(out / "library")],
                       check=True, capture_output=True)
        print(f"library sweep: {time.time() - t0:.1f} s")
    lib8 = load_library(table, "nangate45", 8).restrict([8])
    print(f"library: {len(load_library(table, 'nangate45', 8).designs)} designs, {len(lib8.designs)} of 8 bits")
    task = load_task(a.task)
    ev = Evaluator(task, lib8, progress=False)
    print(f"accuracy float {ev.accuracy_float:.2f}, exact 8-bit {ev.accuracy_exact:.2f}; MACs {ev.macs}")

    s = Search(ev, budget=0.30, evals=30, seed=0)
    sens = sensitivity(s)
    pairs = [(l, d) for l in s.layers for d in lib8.names()]
    rho = spearmanr([sens.estimate(*p) for p in pairs], [sens.measured(*p) for p in pairs]).statistic
    print(f"\n| check | value |\n|---|---|\n| Spearman(Taylor estimate, measured single-layer ΔL), {len(pairs)} pairs | {rho:.3f} |")

    print("\n| budget | ilp: accuracy (energy_rel) | best uniform within budget | random feasible, n=100: median (best) | ilp − uniform | ilp − median random |\n|---|---|---|---|---|---|")
    for b in (0.05, 0.06, 0.07, 0.08, 0.10, 0.12, 0.16, 0.20, 0.25, 0.30):
        sb = Search(ev, budget=b, evals=100, seed=0)
        r = run_method("ilp", sb)
        run_method("uniform", sb)
        run_method("random", sb)
        u = [x for x in sb.records if x["method"] == "uniform" and x["energy_rel"] <= b + 1e-9]
        bu = max(u, key=lambda x: x["accuracy"]) if u else None
        rr = [x["accuracy"] for x in sb.records if x["method"] == "random"]
        med = float(np.median(rr)) if rr else float("nan")
        uacc = bu["accuracy"] if bu else float("nan")
        print(f"| {b} | {r['accuracy']:.2f} ({r['energy_rel']:.3f}) | {uacc:.2f} "
              f"({bu['layers']['1'] if bu else '-'}) | {med:.2f} ({max(rr) if rr else float('nan'):.2f}) | "
              f"{r['accuracy'] - uacc:+.2f} | {r['accuracy'] - med:+.2f} |")

    for off, b in ((4000, 0.08), (3000, 0.15)):
        libb = load_library(table, "nangate45", 8).restrict([8])
        ref = libb.lut(libb.reference)
        libb.add(LibraryDesign("broken", 8, False, 0.01, "broken", lut_path=table), Lut(ref.table + off, False, "broken"))
        sb = Search(Evaluator(task, libb, progress=False), budget=b)
        r = run_method("ilp", sb)
        rounds = [(round(x["accuracy"], 2), [e["layer"] + ":" + e["design"] for e in x["excluded"]])
                  for x in sb.notes["ilp_rounds"]]
        print(f"| broken LUT (exact +{off}, 0.01 pJ) @ {b}: rounds (accuracy, excluded) {rounds}; "
              f"result {r['accuracy']:.2f} % at {r['energy_rel']:.4f}, broken used: {'broken' in r['layers'].values()} |")

    mixed = Evaluator(task, load_library(table, "nangate45", 8), progress=False)
    cheapest8 = min(lib8.energy(n) for n in lib8.names()) / lib8.reference_energy
    for b in (0.04, 0.08, 0.12, 0.20, 0.30):
        m = run_method("ilp", Search(mixed, budget=b))
        if b < cheapest8:
            print(f"| mixed 4/6/8-bit ilp @ {b} (8-bit-only infeasible) | {m['accuracy']:.2f} ({m['energy_rel']:.3f}) |")
            continue
        e = run_method("ilp", Search(ev, budget=b))
        print(f"| mixed 4/6/8-bit vs 8-bit-only ilp @ {b} | {m['accuracy']:.2f} ({m['energy_rel']:.3f}) vs "
              f"{e['accuracy']:.2f} ({e['energy_rel']:.3f}) |")

    summ, secs = cli("dse", "search", "--task", a.task, "--library", table, "--method", "ilp",
                     "--budget", "0.3", "--widths", "8", "--seed", "1", "-o", out / "ilp_cli")
    print(f"| whole `axhw dse search --method ilp` CLI run (warm evaluation cache: {summ['evaluations']} new evals) | {secs:.1f} s |")

    if not a.skip_nsga:
        for g in ("layer", "filter"):
            t0 = time.time()
            sn = Search(Evaluator(task, lib8, progress=False), g, budget=0.30, evals=a.nsga_evals, seed=0)
            run_method("nsga2", sn)
            recs = [r for r in sn.records if r["method"] == "nsga2"]
            hv = hypervolume([r["energy_rel"] for r in recs], [r["accuracy"] for r in recs])
            best = sn.best()
            print(f"| nsga2 {g}: {len(recs)} evals, hypervolume {hv:.3f}, best ≤0.30 {best['accuracy']:.2f} % "
                  f"at {best['energy_rel']:.4f}, {time.time() - t0:.0f} s |")
    print("\n| --tune (ALWANN) assignment | output error plain → raw tuned | accuracy plain → raw tuned | kept |\n|---|---|---|---|")
    for c in (("mul8u_perf_j1_k3", "mul8u_bam_h0_v9", "mul8u_trunc_column_t10_z16"),
              ("mul8u_trunc_column_t10_z16",) * 3, ("mul8u_bam_h0_v9",) * 3, ("mul8u_perf_j2_k3",) * 3,
              ("mul8u_perf_j1_k3",) * 3, ("mul8s_roup_p2_r6",) * 3):
        config = dict(zip(("1", "3", "5"), c))
        p = ev.measure(config)
        acc, out = ev.task.score(ev.model(config, tune=True))
        err = float((out - ev.out_exact).abs().mean() / ev.out_exact.abs().mean())
        t = ev.measure(config, tune=True)
        print(f"| {'/'.join(c)} | {p['output_error']:.4f} → {err:.4f} | {p['accuracy']:.2f} → {acc:.2f} | "
              f"{'tuned' if t['tuned'] else 'plain'} ({t['accuracy']:.2f}) |")


if __name__ == "__main__":
    main()
