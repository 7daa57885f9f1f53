"""TRAM on builtin:mnist-cnn (issue 13 §1): λ sweep -> per-layer pruned circuits, their measured
(characterized) multiplier energy and accuracy after phase 3, against every single library
multiplier used everywhere and retrained the same way (LUT gradient, same epochs and data).

    AXHW_PDK_ROOT=/work/shared/pdk python benchmarks/tram_mnist.py --library out/codesign_library \\
        [--lambdas 0.25 0.5 1 2] [--epochs 2] [--finetune-epochs 1] [--train 2000] [--columns 8]
        [--theta-lr 0.05] [--skip-baselines]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from axhw.dse.builtins import _mnist, builtin_task
from axhw.dse.evaluate import Evaluator, build_model
from axhw.dse.library import load_library
from axhw.dse.task import batches
from axhw.dse.tram import add_to_library, float_model_of, run_tram
from axhw.torch import finetune


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", required=True)
    ap.add_argument("--lambdas", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--finetune-epochs", type=int, default=1)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--columns", type=int, default=8, help="P")
    ap.add_argument("--theta-lr", type=float, default=5e-2)
    ap.add_argument("--skip-baselines", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.time()
    task = builtin_task("mnist-cnn")
    xtr, ytr, _, _ = _mnist()
    train = batches(xtr[:args.train], ytr[:args.train], 64)
    lib = load_library(args.library)
    ev = Evaluator(task, lib, progress=False)
    print(f"float {ev.accuracy_float:.2f}  exact-quantized {ev.accuracy_exact:.2f}  macs {ev.macs}", flush=True)
    rows = []
    for lam in args.lambdas:
        t = time.time()
        torch.manual_seed(0)
        r = run_tram(task.model, task.calibration, lam=lam, columns=args.columns, epochs=args.epochs,
                     finetune_epochs=args.finetune_epochs, train=train, bits=lib.bits,
                     theta_lr=args.theta_lr)
        layers = {n: add_to_library(spec, lib) for n, spec in r.designs.items()}
        retrained = float_model_of(r.model, task.model)
        acc, _ = task.score(build_model(retrained, layers, lib, task.calibration))
        _, rel = ev.energy(layers)
        rows.append({"method": "tram", "lambda": lam, "columns": args.columns, "accuracy": acc, "energy_rel": rel,
                     "power_model": r.power_model, "layers": layers,
                     "theta": {n: [round(float(v), 2) for v in th] for n, th in r.thetas.items()},
                     "mse_vs_rounding": {n: [round(m.mse, 1), round(m.rounded_mse, 1)] for n, m in r.mappings.items()},
                     "seconds": round(time.time() - t, 1)})
        print(json.dumps(rows[-1]), flush=True)
    for name in [] if args.skip_baselines else lib.names(lib.bits, False):
        if lib[name].family not in ("truncated", "perforated", "exact"):
            continue
        t = time.time()
        layers = {n: name for n in ev.macs}
        model = build_model(task.model, layers, lib, task.calibration)
        before, _ = task.score(model)
        torch.manual_seed(0)
        finetune(model, train, epochs=args.finetune_epochs, lr=5e-4, gradient="lut", half_window=4)
        after, _ = task.score(model)
        rows.append({"method": "uniform", "design": name, "accuracy_before": before, "accuracy": after,
                     "energy_rel": ev.energy(layers)[1], "seconds": round(time.time() - t, 1)})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"machine": f"{platform.machine()} {platform.node()}", "torch_threads": 2,
                      "accuracy_exact": ev.accuracy_exact, "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
