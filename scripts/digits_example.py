#!/usr/bin/env python3
"""End-to-end: a small CNN on scikit-learn's bundled digits set, run through approximate multipliers.

1. Train a float CNN on CPU (8x8 digits, 1797 images, no download).
2. Generate approximate multipliers with axhw (as `axhw gen` does) and one flat gate-level netlist
   written here and imported as external Verilog; take their product LUTs from RTL simulation
   (axhw.measure.lut.design_lut, checked against the golden model for axhw designs).
3. Quantize (8-bit by default) with axhw.torch.approximate and evaluate every multiplier.
4. Retrain each approximate model with the straight-through estimator and with the LUT-difference
   gradient (Meng et al. DATE'25) and print an accuracy table.

    .venv/bin/python scripts/digits_example.py [--epochs 30] [--retrain-epochs 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import family_names, make
from axhw.infra.fileio import write_text
from axhw.design.external import load_external
from axhw.measure.lut import design_lut
from axhw.torch import Lut, approximate, finetune

# (label, family, parameters, signed): the multipliers the table compares (8-bit operands)
DESIGNS = [
    ("exact (unsigned)", "exact", {}, False),
    ("exact (signed)", "exact", {}, True),
    ("perforated j=0 k=5", "perforated", {"start": 0, "count": 5}, False),
    ("perforated j=1 k=5", "perforated", {"start": 1, "count": 5}, False),
    ("truncated column t=10", "truncated", {"mode": "column", "cut": 10}, False),
    ("truncated operand t=4", "truncated", {"mode": "operand", "cut": 4}, False),
    ("roup P=2 R=8 (signed)", "roup", {"perforate": 2, "round": 8}, True),
]


def load_data(seed: int):
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target, dtype=torch.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    return xtr, ytr, xte, yte


def make_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 2 * 2, 10))


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())


def or_array_netlist(bits: int, approx_cols: int) -> str:
    """A flat gate-level unsigned array multiplier (EvoApprox-style `assign` netlist) whose
    product columns below `approx_cols` are reduced by OR gates instead of adders (no carries):
    a lower-part-OR approximation, not one of axhw's families, so it is imported as external
    Verilog and its LUT comes from simulating these gates."""
    lines = [f"module mul{bits}u_lor{approx_cols}(A, B, O);",
             f"  input [{bits - 1}:0] A, B;", f"  output [{2 * bits - 1}:0] O;"]
    cols: list[list[str]] = [[] for _ in range(2 * bits)]
    for i in range(bits):
        for j in range(bits):
            lines.append(f"  wire pp_{i}_{j} = A[{j}] & B[{i}];")
            cols[i + j].append(f"pp_{i}_{j}")
    n, zero = 0, "1'b0"
    for c in range(2 * bits):
        col = cols[c]
        if c < approx_cols:
            lines.append(f"  assign O[{c}] = {' | '.join(col)};")
            continue
        while len(col) > 1:  # ripple of full/half adders, carries into the next column
            x, y, *rest = col
            z = rest.pop(0) if rest else zero
            s, k = f"s{n}", f"k{n}"
            n += 1
            lines += [f"  wire {s} = {x} ^ {y} ^ {z};",
                      f"  wire {k} = ({x} & {y}) | ({x} & {z}) | ({y} & {z});"]
            col[:] = rest + [s]
            if c + 1 < 2 * bits:
                cols[c + 1].append(k)
        lines.append(f"  assign O[{c}] = {col[0] if col else zero};")
    return "\n".join(lines + ["endmodule", ""])


def multipliers(outdir: Path, bits: int) -> list[tuple[str, Lut]]:
    """Generate the designs (Verilog + JSON, as `axhw gen`), simulate their RTL into LUTs."""
    available = set(family_names())
    designs = []
    for label, family, params, signed in DESIGNS:
        if family not in available:
            print(f"skipping {label}: family {family} not available", file=sys.stderr)
            continue
        designs.append((label, load_design(write_design(make(family, bits, signed=signed, **params),
                                                        outdir))))
    netlist = write_text(outdir / f"mul{bits}u_lor{bits}.v", or_array_netlist(bits, bits))
    designs.append((f"lower-OR netlist (external, {bits} cols)", load_external(netlist)))
    return [(label, Lut(design_lut(d), d.signed, d.top)) for label, d in designs]


def lut_error(lut: Lut) -> float:
    """Mean relative error distance over all pairs (exact product 0 excluded), in %."""
    n = lut.bits
    v = np.arange(1 << n) - ((np.arange(1 << n) >> (n - 1)) & 1) * (1 << n) if lut.signed \
        else np.arange(1 << n)
    exact = np.outer(v, v)
    nz = exact != 0
    return float(np.mean(np.abs(lut.table[nz] - exact[nz]) / np.abs(exact[nz]))) * 100


def run(args) -> list[dict]:
    torch.manual_seed(args.seed)
    xtr, ytr, xte, yte = load_data(args.seed)
    train = DataLoader(TensorDataset(xtr, ytr), batch_size=64, shuffle=True)
    calib = DataLoader(TensorDataset(xtr, ytr), batch_size=256)
    t0 = time.time()
    model = make_cnn()
    finetune(model, train, args.epochs, lr=1e-2)
    print(f"float CNN trained in {time.time() - t0:.1f} s: test accuracy "
          f"{accuracy(model, xte, yte):.4f}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        luts = multipliers(Path(args.out) if args.out else Path(tmp), args.bits)
    rows = [{"multiplier": "float (no quantization)", "design": "-", "mred": 0.0,
             "quantized": accuracy(model, xte, yte), "ste": None, "lut": None}]
    for label, lut in luts:
        t = time.time()
        q = approximate(model, {"*": lut}, calib, bits=args.bits, num_batches=4)
        row = {"multiplier": label, "design": lut.name, "mred": lut_error(lut),
               "quantized": accuracy(q, xte, yte)}
        for grad in ("ste", "lut"):
            torch.manual_seed(args.seed)
            r = copy.deepcopy(q)
            finetune(r, train, args.retrain_epochs, lr=args.lr, gradient=grad,
                     half_window=args.half_window)
            row[grad] = accuracy(r, xte, yte)
        rows.append(row)
        print(f"{label}: {time.time() - t:.1f} s", file=sys.stderr)
    return rows


def table(rows: list[dict], args) -> str:
    head = (f"| multiplier | design | MRED % | {args.bits}-bit quantized | retrained STE "
            f"| retrained LUT grad (H={args.half_window}) |")
    lines = [head, "|---|---|---|---|---|---|"]
    fmt = lambda v: "-" if v is None else f"{100 * v:.2f}"  # noqa: E731
    for r in rows:
        lines.append(f"| {r['multiplier']} | {r['design']} | {r['mred']:.3f} | "
                     f"{fmt(r['quantized'])} | {fmt(r['ste'])} | {fmt(r['lut'])} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30, help="float training epochs")
    p.add_argument("--retrain-epochs", type=int, default=3, help="approximation-aware epochs")
    p.add_argument("--lr", type=float, default=1e-3, help="retraining learning rate (Adam)")
    p.add_argument("--half-window", type=int, default=4, help="LUT-gradient half window H")
    p.add_argument("--bits", type=int, default=8, help="operand / quantization bits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (one is fastest for this tiny CNN, and on a busy machine)")
    p.add_argument("--out", default=None, help="keep the generated designs in this directory")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        rows = run(args)
    except AxhwError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"digits: test accuracy (%) of a small CNN, {args.retrain_epochs} retraining epochs")
    print(table(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
