"""`approximate`: swap a model's multiplying layers for LUT-emulated ones and calibrate them;
`set_gradient` / `finetune`: approximation-aware retraining."""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterable

import torch
from torch import nn

from ..infra.errors import AxhwError
from .gradients import GRADIENTS
from .modules import (ApproxConv2d, ApproxLayer, ApproxLinear, ApproxMatmul, MultiheadAttention,
                      ViTAttention, is_vit_attention)
from .multipliers import expand
from .quant import QuantConfig

MHA_PARTS = {"q_proj": "linear", "k_proj": "linear", "v_proj": "linear", "out_proj": "linear",
             "qk": "matmul", "av": "matmul"}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def candidate_layers(model: nn.Module) -> dict[str, str]:
    """Every name `assign` globs can match -> 'linear' | 'conv2d' | 'matmul'.

    Attention matmuls are ``<attention>.qk`` (Q·Kᵀ) and ``<attention>.av`` (attention·V);
    nn.MultiheadAttention also exposes ``.q_proj/.k_proj/.v_proj/.out_proj``.
    """
    return {name: kind for name, (kind, _) in _candidates(model).items()}


def _candidates(model: nn.Module) -> dict[str, tuple[str, str | None]]:
    """name -> (kind, attention module to restructure before this layer can be swapped, or None)."""
    out: dict[str, tuple[str, str | None]] = {}
    mha: list[str] = []
    for name, m in model.named_modules():
        if any(name.startswith(p + ".") for p in mha):
            continue
        if isinstance(m, (nn.MultiheadAttention, MultiheadAttention)):
            mha.append(name)
            out.update({_join(name, part): (kind, name) for part, kind in MHA_PARTS.items()})
        elif is_vit_attention(m) or isinstance(m, ViTAttention):
            out.update({_join(name, "qk"): ("matmul", name), _join(name, "av"): ("matmul", name)})
        elif isinstance(m, ApproxLayer):
            raise AxhwError(f"layer {name} is already approximate: pass the float model")
        elif isinstance(m, nn.Linear):
            out[name] = ("linear", None)
        elif isinstance(m, nn.Conv2d):
            out[name] = ("conv2d", None)
    return out


def _match(assign: dict, layers: dict[str, str]) -> dict[str, object]:
    """Layer name -> assigned multiplier value; the first glob (in dict order) that matches wins."""
    if not isinstance(assign, dict) or not assign:
        raise AxhwError("assign must be a non-empty dict {layer glob: multiplier}")
    chosen: dict[str, object] = {}
    for pattern, value in assign.items():
        hits = [n for n in layers if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            raise AxhwError(f"layer glob {pattern!r} matches no layer; layers: {', '.join(layers)}")
        for n in hits:
            chosen.setdefault(n, value)
    return {n: v for n, v in chosen.items() if v is not None}


def _get(model: nn.Module, name: str) -> nn.Module:
    return model.get_submodule(name) if name else model


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    if not name:
        raise AxhwError("the model itself is a single layer: wrap it in nn.Sequential")
    parent, _, child = name.rpartition(".")
    setattr(_get(model, parent), child, module)


def _batches(data, limit: int | None):
    if isinstance(data, torch.Tensor):
        data = [data]
    if not isinstance(data, Iterable):
        raise AxhwError("calibration_data must be a tensor or an iterable of batches")
    for i, batch in enumerate(data):
        if limit is not None and i >= limit:
            return
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        if not isinstance(batch, torch.Tensor):
            raise AxhwError(f"calibration batch {i} is a {type(batch).__name__}, not a tensor "
                            "(or a (inputs, targets) pair)")
        yield batch


def approx_layers(model: nn.Module) -> dict[str, ApproxLayer]:
    return {n: m for n, m in model.named_modules() if isinstance(m, ApproxLayer)}


def approximate(model: nn.Module, assign: dict, calibration_data, *, bits: int = 8,
                calibration: str = "percentile", percentile: float = 99.9,
                num_batches: int | None = None, gradient: str = "ste", half_window: int = 8,
                inplace: bool = False) -> nn.Module:
    """Return `model` with the assigned layers computing through multiplier LUTs.

    assign: {layer glob: multiplier | list (per filter) | nested list (per kernel) | None (keep
    float)}; globs are fnmatch patterns over :func:`candidate_layers` names, first match wins,
    and every glob must match some layer. calibration_data: a tensor or iterable of batches
    ((inputs, targets) pairs allowed); the first `num_batches` are run through the float model to
    fix per-tensor activation clip values (`calibration` "minmax" or "percentile").
    """
    config = QuantConfig(bits=bits, calibration=calibration, percentile=percentile,
                         num_batches=num_batches)
    if gradient not in GRADIENTS:
        raise AxhwError(f"gradient={gradient!r} is not valid: choose one of {', '.join(GRADIENTS)}")
    model = model if inplace else copy.deepcopy(model)
    candidates = _candidates(model)
    layers = {name: kind for name, (kind, _) in candidates.items()}
    chosen = _match(assign, layers)
    for owner in dict.fromkeys(candidates[n][1] for n in chosen if candidates[n][1] is not None):
        src = _get(model, owner)
        if isinstance(src, nn.MultiheadAttention):
            _set(model, owner, MultiheadAttention(src, owner))
        elif not isinstance(src, ViTAttention):
            _set(model, owner, ViTAttention(src))
    new: list[tuple[str, ApproxLayer]] = []
    for name, value in chosen.items():
        kind = layers[name]
        if kind == "matmul":
            layer: ApproxLayer = ApproxMatmul(expand(value, bits, name, None, None), config)
        else:
            src = _get(model, name)
            if kind == "linear":
                layer = ApproxLinear(src, expand(value, bits, name, src.out_features, None), config)
            else:
                mults = expand(value, bits, name, src.out_channels, src.in_channels // src.groups)
                layer = ApproxConv2d(src, mults, config, name)
        layer.op.set_gradient(gradient, half_window)
        _set(model, name, layer)
        new.append((name, layer))
    _calibrate(model, new, calibration_data, config.num_batches)
    return model


@torch.no_grad()
def _calibrate(model: nn.Module, layers, data, num_batches: int | None) -> None:
    was_training = model.training
    model.eval()
    for _, layer in layers:
        layer.start_calibration()
    seen = 0
    try:
        device = next(model.parameters()).device
        for batch in _batches(data, num_batches):
            model(batch.to(device))
            seen += 1
    finally:
        model.train(was_training)
    if seen == 0:
        raise AxhwError("calibration_data yielded no batch")
    for name, layer in layers:
        layer.finish_calibration(name)


def set_gradient(model: nn.Module, gradient: str, half_window: int = 8,
                 code_quirk: bool = False) -> None:
    """Backward rule of every approximate layer: 'ste' (exact product) or 'lut' (Meng et al.
    DATE'25 LUT difference with half window `half_window`; `code_quirk` = their edge-rule code)."""
    for layer in approx_layers(model).values():
        layer.op.set_gradient(gradient, half_window, code_quirk)


def finetune(model: nn.Module, loader, epochs: int = 1, *, lr: float = 1e-3,
             gradient: str | None = None, half_window: int = 8, optimizer=None,
             loss_fn=None) -> list[float]:
    """Approximation-aware retraining (Adam by default, cross-entropy by default); returns the mean
    training loss of each epoch. `gradient` ('ste' / 'lut') switches the backward rule first."""
    if not isinstance(epochs, int) or epochs < 1:
        raise AxhwError(f"epochs={epochs!r} must be a positive integer")
    if gradient is not None:
        set_gradient(model, gradient, half_window)
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = next(model.parameters()).device
    history = []
    model.train()
    for _ in range(epochs):
        total, count = 0.0, 0
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x.to(device)), y.to(device))
            loss.backward()
            opt.step()
            total += loss.item() * len(x)
            count += len(x)
        if count == 0:
            raise AxhwError("finetune: the loader yielded no batch")
        history.append(total / count)
    model.eval()
    return history
