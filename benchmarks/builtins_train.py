"""Train the built-in tasks one at a time (one thread, cold cache) and check issue 17's accuracy
targets on their held-out images: CNNs >= 98 %, ViTs >= 95 %. Prints a markdown table row per
task: seconds to train, MACs per image, float accuracy with its Wilson 95 % interval.

  AXHW_CACHE_DIR=$(mktemp -d) python benchmarks/builtins_train.py [--tasks resnet8,resnet20,...]
"""

import argparse
import os
import time

import torch

from axhw.dse.builtins import BUILTINS, builtin_task
from axhw.dse.energy import count_macs
from axhw.dse.stats import accuracy_interval

TARGET = {"vit-s": 95.0, "mnist-vit": 95.0}  # others (CNNs, MoE CNNs): 98 %


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default=",".join(n for n in BUILTINS if not n.startswith("digits")))
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; torch {torch.__version__}")
    print("| task | train s | MACs/image | params | test images | float accuracy [95 % CI] | target | met |")
    print("|---|---|---|---|---|---|---|---|")
    for name in a.tasks.split(","):
        t0 = time.time()
        task = builtin_task(name)
        seconds = time.time() - t0
        acc, out = task.score(task.model)
        ok = task.outcomes(out)
        lo, hi = accuracy_interval(ok)
        macs = sum(count_macs(task.model, task.calibration[:1]).values())
        params = sum(p.numel() for p in task.model.parameters())
        target = TARGET.get(name, 98.0)
        print(f"| {name} | {seconds:.0f} | {macs:,} | {params:,} | {len(ok)} | {acc:.2f} [{lo:.2f}, {hi:.2f}] "
              f"| {target:.0f} | {'yes' if acc >= target else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
