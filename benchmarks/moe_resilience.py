"""AxMoE's table shape on axhw (issue 13 §3): dense / hard-MoE / soft-MoE MNIST models x library
multipliers (one everywhere): accuracy before and after approximation-aware retraining (LUT
gradient), energy_rel with MACs from the calibration pass's routing; then, on the hard MoE, a
per-expert `ilp` assignment at each uniform point's energy against that uniform point.

    AXHW_PDK_ROOT=/work/shared/pdk python benchmarks/moe_resilience.py --library out/codesign_library \\
        [--designs NAME ...] [--retrain-epochs 1] [--train 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import torch

from axhw.dse import search
from axhw.dse.builtins import _mnist, builtin_task
from axhw.dse.evaluate import Evaluator
from axhw.dse.library import load_library
from axhw.dse.task import batches
from axhw.torch import finetune

MODELS = {"dense": "mnist-cnn", "hard MoE": "mnist-moe", "soft MoE": "mnist-moe-soft"}
DEFAULT_DESIGNS = ["mul8u_trunc_column_t7_z16", "mul8u_trunc_column_t8_z16", "mul8u_trunc_column_t9_z16",
                   "mul8u_perf_j1_k3", "mul8u_perf_j2_k3"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", required=True)
    ap.add_argument("--designs", nargs="+", default=DEFAULT_DESIGNS)
    ap.add_argument("--retrain-epochs", type=int, default=1)
    ap.add_argument("--train", type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.time()
    lib = load_library(args.library)
    designs = [d for d in args.designs if d in lib.designs] or lib.names(lib.bits, False)[:5]
    xtr, ytr, _, _ = _mnist()
    train = batches(xtr[:args.train], ytr[:args.train], 64)
    uniform_hard = {}
    for label, name in MODELS.items():
        task = builtin_task(name)
        ev = Evaluator(task, lib, progress=False)
        print(json.dumps({"model": label, "task": name, "accuracy_float": ev.accuracy_float,
                          "accuracy_exact": ev.accuracy_exact, "macs": ev.macs}), flush=True)
        for d in designs:
            layers = {n: d for n in ev.macs}
            rec = ev.measure(layers)
            model = ev.model(layers)
            torch.manual_seed(0)
            finetune(model, train, epochs=args.retrain_epochs, lr=5e-4, gradient="lut", half_window=4)
            after, _ = task.score(model)
            row = {"model": label, "design": d, "energy_rel": rec["energy_rel"],
                   "accuracy_before": rec["accuracy"], "accuracy_after": after}
            print(json.dumps(row), flush=True)
            if name == "mnist-moe":
                uniform_hard[d] = row
    task = builtin_task("mnist-moe")
    for d, row in uniform_hard.items():
        with tempfile.TemporaryDirectory() as tmp:
            s = search(task, lib, f"{tmp}/out", method="ilp", granularity="expert",
                       budget=row["energy_rel"] + 1e-9, verify_hardware=False)
        print(json.dumps({"ilp_expert_at_energy_of": d, "uniform_accuracy": row["accuracy_before"],
                          "uniform_energy_rel": row["energy_rel"], "ilp_accuracy": s["accuracy"],
                          "ilp_energy_rel": s["energy_rel"], "seconds": s["seconds"]}), flush=True)
    print(json.dumps({"machine": f"{platform.machine()} {platform.node()}",
                      "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
