"""Table logic of benchmarks/emu_gpu.py and the model builders (ViT-S, ResNets) that it and
benchmarks/emu_cpu.py share (not a script).

Every row times one operation on random raw codes (warm-up call first: numba compiles there),
reports the median of `reps` runs and TMAC/s = M*K*N (or conv MACs) / time. Before timing, each
emulator result is compared with the LUT result of the same inputs (bit-for-bit), so a fast wrong
path cannot produce a row.
"""

from __future__ import annotations

import statistics
import time
from functools import partial

import numpy as np
import torch

from axhw.emu import (bitlinear_conv2d, bitlinear_matmul, fit_bit_linear, lut_conv2d, lut_matmul,
                      prepare_luts)
from axhw.gen.families import make
from axhw.design.golden import golden_lut

# (name, M, K, N); M includes the batch.
VIT_GEMMS = [("ViT-S qkv  197x384x1152 x64", 197 * 64, 384, 1152),
             ("ViT-S fc2  197x1536x384 x64", 197 * 64, 1536, 384)]
# (name, N, C, H, W, O, k, stride, padding)
RESNET_CONVS = [("R50 conv2_x 3x3 64->64 56x56", 32, 64, 56, 56, 64, 3, 1, 1),
                ("R50 conv4_x 1x1 1024->256 14x14", 32, 1024, 14, 14, 256, 1, 1, 0),
                ("R50 conv5_x 3x3 512->512 7x7", 32, 512, 7, 7, 512, 3, 1, 1)]


def timed(fn, sync, reps: int) -> float:
    fn()
    sync()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def designs():
    """(name, LUT stack, bit-linear form) for an exact and a perforated signed 8-bit design."""
    out = []
    for spec in (make("exact", 8, signed=True),
                 make("perforated", 8, signed=True, start=0, count=2)):
        lut = golden_lut(spec)
        out.append((spec.top, prepare_luts(lut), fit_bit_linear(lut)))
    return out


def _same(x, y, what: str) -> None:
    x = x.cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    y = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if not np.array_equal(x, y):
        raise SystemExit(f"{what}: result differs from the LUT path; not timing a wrong path")


def gemm_rows(shapes, device: str, reps: int):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    gen = torch.Generator(device="cpu").manual_seed(0)
    (name, luts, form), (pname, pluts, pform) = designs()
    rows = []
    for label, M, K, N in shapes:
        a = torch.randint(0, 256, (M, K), dtype=torch.uint8, generator=gen).to(device)
        b = torch.randint(0, 256, (K, N), dtype=torch.uint8, generator=gen).to(device)
        mac = M * K * N
        ref = lut_matmul(a, b, luts)
        _same(bitlinear_matmul(a, b, form), ref, "bit-linear GEMM")
        _same(bitlinear_matmul(a, b, pform), lut_matmul(a, b, pluts), "bit-linear GEMM")
        a8, b8 = (a.to(torch.int16) - 128).to(torch.int8), (b.to(torch.int16) - 128).to(torch.int8)
        fdt = torch.float16 if device == "cuda" else torch.float32
        cases = [(f"LUT GEMM ({name})", partial(lut_matmul, a, b, luts)),
                 (f"bit-linear GEMM ({name})", partial(bitlinear_matmul, a, b, form)),
                 (f"bit-linear GEMM ({pname})", partial(bitlinear_matmul, a, b, pform)),
                 ("torch._int_mm int8 (exact baseline)", partial(torch._int_mm, a8, b8)),
                 (f"torch matmul {str(fdt).removeprefix('torch.')}",
                  partial(torch.mm, a.to(fdt), b.to(fdt)))]
        for impl, fn in cases:
            t = timed(fn, sync, reps)
            rows.append((label, impl, t * 1e3, mac / t / 1e12))
    return rows


def conv_rows(shapes, device: str, reps: int):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    gen = torch.Generator(device="cpu").manual_seed(1)
    (name, luts, form), _ = designs()
    rows = []
    for label, N, C, H, W, O, k, s, p in shapes:
        x = torch.randint(0, 256, (N, C, H, W), dtype=torch.uint8, generator=gen).to(device)
        w = torch.randint(0, 256, (O, C, k, k), dtype=torch.uint8, generator=gen).to(device)
        OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        mac = N * O * OH * OW * C * k * k
        ref = lut_conv2d(x, w, luts, s, p)
        _same(bitlinear_conv2d(x, w, form, s, p), ref, "bit-linear conv")
        fdt = torch.float16 if device == "cuda" else torch.float32
        cases = [(f"LUT conv ({name})", partial(lut_conv2d, x, w, luts, s, p)),
                 (f"bit-linear conv ({name})", partial(bitlinear_conv2d, x, w, form, s, p)),
                 (f"torch conv2d {str(fdt).removeprefix('torch.')}",
                  partial(torch.nn.functional.conv2d, x.to(fdt), w.to(fdt), stride=s, padding=p))]
        for impl, fn in cases:
            t = timed(fn, sync, reps)
            rows.append((label, impl, t * 1e3, mac / t / 1e12))
    return rows


def vit_small(depth: int = 12, dim: int = 384, heads: int = 6, mlp: int = 1536,
              classes: int = 1000):
    """A ViT-S/16 (224x224) built from torch.nn (no torchvision/timm needed)."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.norm2(x))

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, dim, 16, 16)
            self.cls = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos = nn.Parameter(torch.randn(1, 197, dim) * 0.02)
            self.blocks = nn.Sequential(*[Block() for _ in range(depth)])
            self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

        def forward(self, img):
            x = self.patch(img).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls.expand(len(x), -1, -1), x], 1) + self.pos
            return self.head(self.norm(self.blocks(x))[:, 0])

    return ViT()


def resnet(depths, widths, stem: str, classes: int):
    """A torchvision-style ResNet of BasicBlocks (no torchvision needed): stem "imagenet" (7x7/2
    conv + max pool) or "cifar" (3x3 conv); a 1x1/2 conv + BN projects where the shape changes."""
    nn = torch.nn

    class Block(nn.Module):
        """relu(main(x) + shortcut(x)), main = conv3x3-BN-ReLU-conv3x3-BN."""

        def __init__(self, cin, cout, stride):
            super().__init__()
            self.main = nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            return torch.relu(self.main(x) + self.shortcut(x))

    layers = ([nn.Conv2d(3, widths[0], 7, 2, 3, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(),
               nn.MaxPool2d(3, 2, 1)] if stem == "imagenet" else
              [nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()])
    cin = widths[0]
    for i, (depth, width) in enumerate(zip(depths, widths)):
        for j in range(depth):
            layers.append(Block(cin, width, 2 if j == 0 and i > 0 else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def resnet20():
    return resnet((3, 3, 3), (16, 32, 64), "cifar", 10)


def resnet18():
    return resnet((2, 2, 2, 2), (64, 128, 256, 512), "imagenet", 1000)


def vit_forward_row(batch: int, device: str, reps: int):
    """End-to-end ViT-S forward with every Linear/conv/attention matmul through axhw.torch."""
    try:
        from axhw.torch import approximate
    except ImportError as exc:
        return [("ViT-S forward", f"skipped: axhw.torch not importable ({exc})", float("nan"),
                 float("nan"))]
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.manual_seed(0)
    model = vit_small().eval()
    img = torch.randn(batch, 3, 224, 224)
    approx = approximate(model, {"*": make("exact", 8, signed=True)}, img[:2]).to(device)
    img = img.to(device)
    macs = batch * (197 * 12 * (4 * 384 * 384 + 2 * 384 * 1536 + 2 * 197 * 384) + 196 * 768 * 384
                    + 384 * 1000)
    rows = []
    with torch.no_grad():
        for label, m in (("float model", model.to(device)), ("axhw.torch approximate", approx)):
            t = timed(lambda m=m: m(img), sync, reps)
            rows.append((f"ViT-S forward x{batch}", label, t * 1e3, macs / t / 1e12))
    return rows


def print_table(title: str, rows) -> None:
    print(f"\n{title}\n")
    print("| shape | implementation | ms (median) | TMAC/s |")
    print("|---|---|---|---|")
    for label, impl, ms, tmacs in rows:
        print(f"| {label} | {impl} | {ms:.2f} | {tmacs:.4f} |")
