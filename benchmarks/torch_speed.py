#!/usr/bin/env python3
"""axhw.torch speed: ms per batch of the digits CNN (scripts/digits_example.py) in float, through
an 8-bit LUT (forward), and one training step with the STE and the LUT-difference backward.

    .venv/bin/python benchmarks/torch_speed.py [--batch 64] [--repeat 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

import torch

from axhw.gen.families import make
from axhw.torch import approximate, set_gradient

ROOT = Path(__file__).resolve().parents[1]


def digits_module():
    spec = importlib.util.spec_from_file_location("digits_example", ROOT / "scripts" / "digits_example.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def median_ms(fn, repeat: int) -> float:
    fn()  # warm-up (numba compile / cache load, torch lazy init)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def step(model, x, y):
    def run():
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
    return run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    d = digits_module()
    xtr, ytr, _, _ = d.load_data(0)
    x, y = xtr[:args.batch], ytr[:args.batch]
    model = d.make_cnn()
    rows = [("float", "forward", median_ms(lambda: model(x), args.repeat)),
            ("float", "train step", median_ms(step(model, x, y), args.repeat))]
    for name, spec in (("mul8u_exact", make("exact", 8)),
                       ("mul8u_perf_j1_k5", make("perforated", 8, start=1, count=5))):
        q = approximate(model, {"*": spec}, xtr[:256])
        with torch.no_grad():
            rows.append((name, "forward", median_ms(lambda: q(x), args.repeat)))
        for grad in ("ste", "lut"):
            set_gradient(q, grad, 4)
            rows.append((name, f"train step ({grad})", median_ms(step(q, x, y), args.repeat)))
    print(f"digits CNN, batch {args.batch}, torch threads {args.threads}, median of {args.repeat}")
    print("| model | pass | ms / batch | images / s |")
    print("|---|---|---|---|")
    for name, what, ms in rows:
        print(f"| {name} | {what} | {ms:.1f} | {1e3 * args.batch / ms:.0f} |")


if __name__ == "__main__":
    main()
