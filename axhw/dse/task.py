"""What a search optimizes: a float model, calibration batches, evaluation batches and a metric.

``--task builtin:NAME`` (see :mod:`axhw.dse.builtins`) or ``--task FILE.py:FUNC`` where ``FUNC()``
returns a :class:`Task`. Loaders for users' own data: :func:`image_folder` and :func:`cifar`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import pickle
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..infra.errors import AxhwError

__all__ = ["Task", "top1_accuracy", "top1_correct", "metric_value", "user_code", "load_task",
           "batches", "image_folder", "cifar"]


def top1_correct(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample outcome of the default metric: is the top-1 class the target?"""
    return outputs.argmax(dim=-1) == targets


def top1_accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Default metric: top-1 accuracy in percent."""
    return 100.0 * float(top1_correct(outputs, targets).to(torch.float64).mean())


@dataclass
class Task:
    """model: float nn.Module; calibration: iterable of input batches (or (x, y) pairs);
    evaluation: iterable of (x, y) batches; metric(outputs, targets) -> float, higher is better
    (default top-1 accuracy in %); per_sample(outputs, targets) -> bool tensor, one outcome per
    evaluation sample, which the 95 % intervals and paired tests need (default: top-1 correct when
    the metric is the default; a custom metric without it gets no interval or test).
    Batches are materialized once so every pass sees the same data."""

    model: nn.Module
    calibration: Iterable
    evaluation: Iterable
    metric: Callable[[torch.Tensor, torch.Tensor], float] | None = None
    name: str = "task"
    per_sample: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def __post_init__(self):
        if not isinstance(self.model, nn.Module):
            raise AxhwError(f"task {self.name}: model is a {type(self.model).__name__}, not an nn.Module")
        self.model.eval()
        self.calibration = [b[0] if isinstance(b, (tuple, list)) else b for b in self.calibration]
        if not self.calibration or not all(isinstance(b, torch.Tensor) for b in self.calibration):
            raise AxhwError(f"task {self.name}: calibration must be a non-empty iterable of tensors")
        self.evaluation = list(self.evaluation)
        if not self.evaluation or not all(isinstance(b, (tuple, list)) and len(b) == 2
                                          for b in self.evaluation):
            raise AxhwError(f"task {self.name}: evaluation must be a non-empty iterable of (x, y) batches")
        if self.metric is None:
            self.metric = top1_accuracy
        elif not callable(self.metric):
            raise AxhwError(f"task {self.name}: metric must be callable")
        for name, t in self.model.state_dict().items():
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise AxhwError(f"task {self.name}: model weight {name} holds non-finite values "
                                "(inf or NaN)")
        if self.per_sample is None and self.metric is top1_accuracy:
            self.per_sample = top1_correct
        elif self.per_sample is not None and not callable(self.per_sample):
            raise AxhwError(f"task {self.name}: per_sample must be callable")

    def score(self, model: nn.Module, limit: int | None = None) -> tuple[float, torch.Tensor]:
        """(metric, concatenated outputs) of `model` on the evaluation batches (first `limit`)."""
        outs, ys = [], []
        with user_code(f"task {self.name}: the model"), torch.no_grad():
            for x, y in self.evaluation[:limit]:
                outs.append(model(x))
                ys.append(y)
            out = torch.cat(outs)
            target = torch.cat(ys)
        with user_code(f"task {self.name}: the metric"):
            value = self.metric(out, target)
        return metric_value(value, self.name), out

    def outcomes(self, outputs: torch.Tensor) -> np.ndarray | None:
        """Per-sample outcomes (bool) of `outputs` (all evaluation batches); None without per_sample."""
        if self.per_sample is None:
            return None
        targets = torch.cat([y for _, y in self.evaluation])[:len(outputs)]
        with user_code(f"task {self.name}: per_sample"):
            ok = np.asarray(self.per_sample(outputs, targets), dtype=bool).reshape(-1)
        if len(ok) != len(outputs):
            raise AxhwError(f"task {self.name}: per_sample gave {len(ok)} outcomes for {len(outputs)} samples")
        return ok


def metric_value(value, task_name: str) -> float:
    """A metric's result as a finite float, or a one-line error (NaN would reach the JSON)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AxhwError(f"task {task_name}: the metric returned {type(value).__name__} "
                        f"{str(value)[:60]!r}, not a number")
    if not math.isfinite(value):
        raise AxhwError(f"task {task_name}: the metric returned {value}; it must be a finite number")
    return float(value)


@contextlib.contextmanager
def user_code(what: str):
    """Run a user's task code: anything it raises (SystemExit and other BaseExceptions too, but not
    Ctrl-C) becomes one AxhwError line naming `what`."""
    try:
        yield
    except (AxhwError, KeyboardInterrupt):
        raise
    except SystemExit as exc:
        raise AxhwError(f"{what} called sys.exit({exc.code!r})") from None
    except BaseException as exc:  # noqa: BLE001 - user code: any error becomes one line
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise AxhwError(f"{what} raised {type(exc).__name__}: {first}") from None


def load_task(spec: str) -> Task:
    """``builtin:NAME`` or ``FILE.py:FUNC`` -> Task (any failure is one AxhwError line)."""
    if not isinstance(spec, str) or ":" not in spec:
        raise AxhwError(f"--task {spec!r}: give builtin:NAME or FILE.py:FUNC")
    if spec.startswith("builtin:"):
        from .builtins import builtin_task  # noqa: PLC0415

        return builtin_task(spec.split(":", 1)[1])
    path, _, func = spec.rpartition(":")
    if not path.endswith(".py") or not Path(path).is_file():
        raise AxhwError(f"--task {spec!r}: {path} is not a Python file")
    with user_code(f"--task {spec!r}"):
        mod_name = f"axhw_dse_task_{abs(hash(str(Path(path).resolve())))}"
        loader_spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = module  # so process-pool workers can unpickle its objects
        loader_spec.loader.exec_module(module)
        fn = getattr(module, func, None)
        if not callable(fn):
            raise AxhwError(f"--task {spec!r}: {path} has no function {func}")
        task = fn()
    if not isinstance(task, Task):
        raise AxhwError(f"--task {spec!r}: {func}() returned {type(task).__name__}, not axhw.dse.Task")
    task.name = spec
    return task


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size)]


def image_folder(root: str | Path, size: int | None = None, grayscale: bool = False,
                 batch_size: int = 64) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], list[str]]:
    """An ImageFolder tree ``root/CLASS/*.{png,jpg,...}`` -> ((x, y) batches in [0, 1], class names).
    Classes are the sorted subdirectory names; images optionally resized to size x size."""
    from PIL import Image  # noqa: PLC0415

    root = Path(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not classes:
        raise AxhwError(f"{root}: no class subdirectories (expected ROOT/CLASS/IMAGE)")
    xs, ys = [], []
    for label, cls in enumerate(classes):
        for f in sorted((root / cls).iterdir()):
            if f.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".webp"):
                continue
            try:
                img = Image.open(f).convert("L" if grayscale else "RGB")
            except OSError as exc:
                raise AxhwError(f"cannot read image {f}: {exc}") from None
            if size is not None:
                img = img.resize((size, size))
            a = np.asarray(img, dtype=np.float32) / 255.0
            xs.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
            ys.append(label)
    if not xs:
        raise AxhwError(f"{root}: no images found")
    if len({x.shape for x in xs}) > 1:
        raise AxhwError(f"{root}: images differ in size; pass size=N")
    return batches(torch.from_numpy(np.stack(xs)), torch.tensor(ys), batch_size), classes


def cifar(path: str | Path, batch_size: int = 64) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One CIFAR-10/100 python pickle (``data_batch_1``, ``test_batch``, ``train``, ``test``) ->
    (x, y) batches, x float in [0, 1] with shape (N, 3, 32, 32); CIFAR-100 uses the fine labels."""
    try:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        raise AxhwError(f"cannot read CIFAR pickle {path}: {exc}") from None
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    labels = d.get("labels", d.get("fine_labels"))
    if "data" not in d or labels is None:
        raise AxhwError(f"{path}: not a CIFAR-10/100 pickle (needs data and labels/fine_labels)")
    x = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return batches(torch.from_numpy(x), torch.tensor(np.asarray(labels), dtype=torch.int64), batch_size)
