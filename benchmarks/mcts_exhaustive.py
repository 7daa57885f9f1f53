"""TransAxx MCTS against exhaustive ground truth (issue 13 §2): the 4-layer digits MLP x 6
multipliers of tests/test_mcts.py (1,296 configurations, all evaluated on the 128-sample predictor
set), hypervolume of the archive after 200 evaluations / the exhaustive front's, per seed, for the
hardware-guided policy, uniform rollouts and 200 uniform random samples.

    python benchmarks/mcts_exhaustive.py [--seeds 10] [--evals 200] [--c 0.3] [--lambdas 0.5 1.5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import time
from pathlib import Path

import numpy as np

from axhw.dse.mcts import mcts_search
from axhw.tables.pareto import hypervolume_2d


def _test_module():
    path = Path(__file__).resolve().parents[1] / "tests" / "test_mcts.py"
    spec = importlib.util.spec_from_file_location("test_mcts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--c", type=float, default=0.3)
    ap.add_argument("--lambdas", type=float, nargs="+", default=[0.5, 1.5])
    args = ap.parse_args()
    t0 = time.time()
    acc, layer_energy = _test_module().exhaustive_task()
    t_exhaustive = time.time() - t0
    configs = list(acc)
    energy = {c: float(sum(layer_energy[i, j] for i, j in enumerate(c))) for c in configs}
    ref = (max(energy.values()) * 1.0001, min(acc.values()))

    def hv(cs):
        return hypervolume_2d([energy[c] for c in cs], [acc[c] for c in cs], *ref)

    full = hv(configs)
    rows = []
    for seed in range(args.seeds):
        row = {"seed": seed}
        for policy in ("hardware", "uniform"):
            t = time.time()
            res = mcts_search(acc.__getitem__, layer_energy, base=0, lambdas=args.lambdas, c=args.c,
                              evals=args.evals, seed=seed, policy=policy)
            row[policy] = round(hv(res.archive) / full, 4)
            row[f"{policy}_s"] = round(time.time() - t, 2)
        pick = np.random.default_rng(seed).choice(len(configs), args.evals, replace=False)
        row["random"] = round(hv([configs[k] for k in pick]) / full, 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in ("hardware", "uniform", "random")}
    print(json.dumps({"mean": summary, "min_hardware": min(r["hardware"] for r in rows),
                      "configs": len(configs), "exhaustive_seconds": round(t_exhaustive, 1),
                      "machine": f"{platform.machine()} {platform.node()}"}))


if __name__ == "__main__":
    main()
