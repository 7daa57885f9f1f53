"""CPU emulator throughput (issue 18), every figure beside baselines measured in the same run.

1. The machine's look-up ceiling: ``acc[j] += row[idx[j]]`` over one L1-resident 256-entry row,
   with the kernels' vector gathers and as a plain (scalar) loop.
2. LUT kernels (non-bit-linear design, RoBA signed 8x8, LUT kernels forced) at ViT-S and ResNet
   shapes, 1 and 2 threads: this branch against the kernels of 523a76e (loaded from git) and torch
   fp32; MAC/s per wall second and per CPU second (= per busy core, what load cannot change).
3. Bit-linear/low-rank engines against the LUT kernels per shape, and the measured choice.
4. End to end (``--e2e``): resnet20 x64 and a torchvision-style ResNet-18 x8 through
   ``axhw.torch.approximate``: float (also with the site router an approximated model carries,
   to show its overhead), exact design (bit-linear), RoBA (low-rank form, measured
   choice) and RoBA with every layer forced onto the LUT kernels; one LUT-gradient training step.

Every timed emulator result is first compared bit for bit with the reference LUT path (the
523a76e kernels, or the LUT-kernel model), so a fast wrong path cannot produce a row.
Usage: .venv/bin/python benchmarks/emu_cpu.py [--reps 3] [--threads 1,2] [--e2e]
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import platform
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

import numba
import numpy as np
import torch

from axhw.emu import bitlinear_conv2d, bitlinear_matmul, cpu, lut_conv2d, lut_matmul, prepare_luts
from axhw.emu.bitlinear import exact_engines
from axhw.gen.families import make
from axhw.design.golden import golden_lut

BASE = "523a76e"
GEMMS = [("ViT-S qkv 197x384x1152", 197, 384, 1152), ("ViT-S fc2 197x1536x384", 197, 1536, 384)]
# (name, N, C, H, W, O, k, stride, padding)
CONVS = [("R50 conv2_x 3x3 64->64 56x56", 1, 64, 56, 56, 64, 3, 1, 1),
         ("R50 conv4_x 1x1 1024->256 14x14", 1, 1024, 14, 14, 256, 1, 1, 0),
         ("resnet20 3x3 16->16 32x32 x8", 8, 16, 32, 32, 16, 3, 1, 1)]


def clock(fn, reps: int):
    """(median wall s, median CPU s of this process) over reps after one warm-up call."""
    fn()
    walls, cpus = [], []
    for _ in range(reps):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return float(np.median(walls)), float(np.median(cpus))


def base_kernels():
    """axhw/emu/cpu.py of the baseline commit as a module (it imports only numba and numpy)."""
    try:
        src = subprocess.run(["git", "show", f"{BASE}:axhw/emu/cpu.py"], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).parent).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "base_cpu.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("base_cpu", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def row(table, shape, impl, wall, cpu_s, macs, ceiling=None):
    table.append({"shape": shape, "implementation": impl, "ms": wall * 1e3,
                  "GMAC/s (wall)": macs / wall / 1e9, "GMAC per CPU-s": macs / cpu_s / 1e9,
                  "of ceiling": "" if ceiling is None else f"{macs / cpu_s / 1e9 / ceiling:.0%}"})


def same(got, want, what):
    got = got.numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    want = want.numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    if not np.array_equal(got, want):
        raise SystemExit(f"{what}: result differs from the reference LUT path; not timing it")


def ceiling_rows(reps: int):
    table = np.ascontiguousarray(golden_lut(make("rounded", 8, signed=True)).reshape(-1),
                                 dtype=np.int32)
    offs = np.random.default_rng(0).integers(0, 256, 4096).astype(np.int32)
    acc = np.zeros(4096, np.int32)
    out, n = {}, 4096 * 2000
    for name, idx in (("vector", offs), ("scalar", offs.astype(np.int64))):
        _, cpu_s = clock(partial(cpu.gather_rate, table, idx, acc, 2000), reps)
        out[name] = n / cpu_s / 1e9
    return out


def kernel_rows(threads: int, reps: int, base, ceiling: float):
    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    lut = golden_lut(make("rounded", 8, signed=True))  # RoBA: LUT kernels (backend="cpu")
    luts = prepare_luts(lut)
    rng = np.random.default_rng(0)
    rows = []
    for label, M, K, N in GEMMS:
        a, b = rng.integers(0, 256, (M, K)), rng.integers(0, 256, (K, N))
        macs, shape = M * K * N, f"{label} ({threads} thr)"
        new = partial(lut_matmul, a, b, luts, backend="cpu")
        if base is not None:
            a32, b32 = a.astype(np.int32), b.astype(np.int32)
            out = np.zeros((M, N), np.int32)

            def old(a32=a32, b32=b32, out=out):
                out[:] = 0
                base.gemm(a32, b32, luts.table, np.int64(256), out)
                return out

            same(new(), old(), label)
            row(rows, shape, f"LUT GEMM, {BASE} kernel", *clock(old, reps), macs)
        row(rows, shape, "LUT GEMM, this branch", *clock(new, reps), macs, ceiling)
        af, bf = torch.from_numpy(a).float(), torch.from_numpy(b).float()
        row(rows, shape, "torch fp32 mm (float baseline)", *clock(partial(torch.mm, af, bf), reps),
            macs)
    for label, n, c, h, w, o, k, s, p in CONVS:
        x, wt = rng.integers(0, 256, (n, c, h, w)), rng.integers(0, 256, (o, c, k, k))
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        macs, shape = n * o * oh * ow * c * k * k, f"{label} ({threads} thr)"
        new = partial(lut_conv2d, x, wt, luts, s, p, backend="cpu")
        if base is not None:
            x32, w32 = x.astype(np.int32), wt.astype(np.int32)
            out = np.zeros((n, o, oh, ow), np.int32)

            def old(x32=x32, w32=w32, out=out, s=s, p=p):
                out[:] = 0
                base.conv2d(x32, w32, luts.table, np.int64(256), (s, s), (p, p), (1, 1), 1, 0, out)
                return out

            same(new(), old(), label)
            row(rows, shape, f"LUT conv, {BASE} kernel", *clock(old, reps), macs)
        row(rows, shape, "LUT conv, this branch", *clock(new, reps), macs, ceiling)
        xf, wf = torch.from_numpy(x).float(), torch.from_numpy(wt).float()
        row(rows, shape, "torch fp32 conv2d (float baseline)",
            *clock(partial(torch.nn.functional.conv2d, xf, wf, stride=s, padding=p), reps), macs)
    return rows


def engine_rows(threads: int, reps: int):
    """Dense engines of the bit-linear (exact) and low-rank (RoBA) forms against the LUT kernels."""
    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    rng = np.random.default_rng(1)
    rows = []
    for spec in (make("exact", 8, signed=True), make("rounded", 8, signed=True)):
        lut = golden_lut(spec)
        fast = prepare_luts(lut, fast_path=True)
        form = fast.forms[0]
        for label, M, K, N in GEMMS:
            a = torch.from_numpy(rng.integers(0, 256, (M, K)))
            b = torch.from_numpy(rng.integers(0, 256, (K, N)))
            macs, shape = M * K * N, f"{label} {spec.top} ({threads} thr)"
            ref = lut_matmul(a, b, lut, backend="cpu")
            cases = [(f"bit-linear {e}", partial(bitlinear_matmul, a, b, form, engine=e))
                     for e in exact_engines(form, False)]
            cases += [("LUT kernels", partial(lut_matmul, a, b, lut, backend="cpu")),
                      ("measured choice (lut_matmul)", partial(lut_matmul, a, b, fast))]
            for impl, fn in cases:
                same(fn(), ref, f"{shape} {impl}")
                row(rows, shape, impl, *clock(fn, reps), macs)
        for label, n, c, h, w, o, k, s, p in CONVS:
            x = torch.from_numpy(rng.integers(0, 256, (n, c, h, w)))
            wt = torch.from_numpy(rng.integers(0, 256, (o, c, k, k)))
            oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            macs, shape = n * o * oh * ow * c * k * k, f"{label} {spec.top} ({threads} thr)"
            ref = lut_conv2d(x, wt, lut, s, p, backend="cpu")
            cases = [(f"bit-linear {e}", partial(bitlinear_conv2d, x, wt, form, s, p, engine=e))
                     for e in exact_engines(form, False)]
            cases += [("LUT kernels", partial(lut_conv2d, x, wt, lut, s, p, backend="cpu")),
                      ("measured choice (lut_conv2d)", partial(lut_conv2d, x, wt, fast, s, p))]
            for impl, fn in cases:
                same(fn(), ref, f"{shape} {impl}")
                row(rows, shape, impl, *clock(fn, reps), macs)
    return rows


def _lut_kernels_only(model):
    """Every approximate layer on the LUT kernels (no dense form): the reference path."""
    from axhw.torch import approx_layers

    for layer in approx_layers(model).values():
        layer.op.emu = prepare_luts(layer.op.mults.tables)
    return model


def count_macs(model, x) -> int:
    """Multiply-accumulates of the model's Conv2d and Linear layers on input x."""
    total = []

    def hook(mod, inp, out):
        per_out = mod.weight[0].numel() if isinstance(mod, torch.nn.Conv2d) else mod.in_features
        total.append(out.numel() * per_out)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return int(sum(total))


def e2e_rows(reps: int):
    from emu_bench import resnet18, resnet20

    from axhw.torch import approximate, set_gradient
    from axhw.torch.sites import Router

    torch.set_num_threads(1)
    numba.set_num_threads(1)
    rows = []
    exact, roba = make("exact", 8, signed=True), make("rounded", 8, signed=True)
    for label, build, batch, size in (("resnet20", resnet20, 64, 32),
                                      ("ResNet-18", resnet18, 8, 224)):
        torch.manual_seed(0)
        model = build().eval()
        x = torch.randn(batch, 3, size, size)
        macs, shape = count_macs(model, x), f"{label} forward x{batch} (1 thr)"
        routed = copy.deepcopy(model)
        Router(routed).install()  # what every approximated model carries: hooks + function mode
        models = {"float model": model, "float model + axhw site router (overhead)": routed,
                  "exact design (bit-linear form)": approximate(model, {"*": exact}, x[:4]),
                  "RoBA (low-rank form, measured choice)": approximate(model, {"*": roba}, x[:4])}
        models["RoBA, LUT kernels only"] = _lut_kernels_only(
            approximate(model, {"*": roba}, x[:4]))
        models["exact design, LUT kernels only"] = _lut_kernels_only(
            approximate(model, {"*": exact}, x[:4]))
        with torch.no_grad():
            same(models["RoBA (low-rank form, measured choice)"](x),
                 models["RoBA, LUT kernels only"](x), f"{label} RoBA")
            same(models["exact design (bit-linear form)"](x),
                 models["exact design, LUT kernels only"](x), f"{label} exact")
            for impl, m in models.items():
                row(rows, shape, impl, *clock(partial(m, x), reps), macs)
        if label == "resnet20":
            m = models["RoBA, LUT kernels only"]
            set_gradient(m, "lut")
            m.train()
            target = torch.randint(0, 10, (batch,))

            def step(m=m):
                m.zero_grad()
                torch.nn.functional.cross_entropy(m(x), target).backward()

            row(rows, f"{label} x{batch} (1 thr)", "RoBA LUT kernels: training step, LUT gradient",
                *clock(step, reps), macs)
    return rows


def print_table(title: str, rows) -> None:
    print(f"\n{title} (load {os.getloadavg()[0]:.1f})\n")
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v)
                                for v in r.values()) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--e2e", action="store_true", help="also the end-to-end and training rows")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus ({platform.processor()}), "
          f"torch {torch.__version__}, numba {numba.__version__}, load {os.getloadavg()}")
    ceil = ceiling_rows(args.reps)
    print(f"\nlook-up ceiling, 1 thread (load {os.getloadavg()[0]:.1f}): vector gathers "
          f"{ceil['vector']:.2f}, scalar loop {ceil['scalar']:.2f} G look-ups per CPU-s")
    base = base_kernels()
    for t in threads:
        print_table(f"LUT kernels, RoBA signed 8x8, {t} thread(s)",
                    kernel_rows(t, args.reps, base, ceil["vector"]))
    print_table("dense engines vs LUT kernels, 1 thread", engine_rows(1, args.reps))
    if args.e2e:
        print_table("end to end, warm, 1 thread", e2e_rows(max(1, args.reps - 1)))


if __name__ == "__main__":
    main()
