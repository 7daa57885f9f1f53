"""`approximate`: put LUT-emulated layers at a model's multiplication sites and calibrate them;
`coverage`: every site, emulated or not;
`set_gradient` / `finetune`: approximation-aware retraining."""

from __future__ import annotations

import copy
import fnmatch
import warnings
from collections.abc import Iterable

import torch
from torch import nn

from ..infra.errors import AxhwError
from .gradients import GRADIENTS
from .modules import SITE_CHILD, ApproxCall, ApproxLayer, ApproxMatmul, replace_module
from .multipliers import expand
from .quant import QuantConfig
from .sites import (PRODUCT_KINDS, SWAPS, ExactSitesWarning, Router, Site, prepare, static_sites,
                    trace)

__all__ = ["approx_layers", "approximate", "candidate_layers", "coverage", "exact_fraction",
           "finetune", "set_gradient", "site_table"]

def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def candidate_layers(model: nn.Module, example=None) -> dict[str, str]:
    """Every name `assign` globs can match -> kind ('linear', 'conv2d', 'conv1d',
    'conv_transpose2d', 'matmul', 'attention', 'einsum').

    With an `example` input the names come from a forward pass (:func:`coverage`, emulated sites
    only), products made inside any module included. Without one, from the module types alone:
    nn.Linear / nn.Conv1d / nn.Conv2d / nn.ConvTranspose2d whose forward is torch's, and the parts
    of nn.MultiheadAttention (``.q_proj/.k_proj/.v_proj/.out_proj``, ``.qk``, ``.av``).
    """
    if example is not None:
        return {s.name: s.kind for s in site_table(model, [example]).values() if s.emulated}
    return {n: s.kind for n, s in static_sites(prepare(copy.deepcopy(model))).items()}


def site_table(model: nn.Module, batches) -> dict[str, Site]:
    """{name: Site} of a float model over `batches` (traced on a prepared copy: the model itself
    is not changed); MACs per sample."""
    return trace(prepare(copy.deepcopy(model)), batches)


def coverage(model: nn.Module, example):
    """One row per multiplication site of `model` on `example` (a batch, or a tuple of forward
    arguments): `name` (what `assign` globs match), `kind`, `macs` per sample, `emulated`,
    `reason` (why a site stays exact). A pandas DataFrame; ``.to_dict("records")`` for dicts."""
    import pandas as pd  # noqa: PLC0415 - only this table needs it

    rows = [s.row() for s in site_table(model, [example]).values()]
    return pd.DataFrame(rows, columns=["name", "kind", "macs", "emulated", "reason"])


def exact_fraction(sites: dict[str, Site]) -> float:
    """Share of the MACs at sites that cannot be emulated (0.0 when every product is)."""
    total = sum(s.macs for s in sites.values())
    return sum(s.macs for s in sites.values() if not s.emulated) / total if total > 0 else 0.0


def _match(assign: dict, layers: dict[str, str], exact: dict[str, Site]) -> dict[str, object]:
    """Layer name -> assigned multiplier value; the first glob (in dict order) that matches wins."""
    if not isinstance(assign, dict) or not assign:
        raise AxhwError("assign must be a non-empty dict {layer glob: multiplier}")
    chosen: dict[str, object] = {}
    for pattern, value in assign.items():
        hits = [n for n in layers if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            stuck = [n for n in exact if fnmatch.fnmatchcase(n, pattern)]
            if stuck and value is not None:
                raise AxhwError(f"layer glob {pattern!r} matches only sites that cannot be emulated "
                                f"({stuck[0]}: {exact[stuck[0]].reason})")
            if stuck:
                continue
            raise AxhwError(f"layer glob {pattern!r} matches no layer; " + (
                f"layers: {', '.join(layers)}" if layers else
                "the model has no multiplication site to approximate"))
        for n in hits:
            chosen.setdefault(n, value)
    return {n: v for n, v in chosen.items() if v is not None}


def _widths(bits, names) -> dict[str, int]:
    """{site: quantization bits}: one int for all, or {glob: bits} (first match wins)."""
    if not isinstance(bits, dict):
        return dict.fromkeys(names, bits)
    out = {}
    for n in names:
        hit = next((b for pattern, b in bits.items() if fnmatch.fnmatchcase(n, pattern)), None)
        if hit is None:
            raise AxhwError(f"bits: no width given for layer {n}")
        out[n] = hit
    return out


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
    """{site name: ApproxLayer} of an approximated model."""
    out = {}
    for n, m in model.named_modules():
        if isinstance(m, ApproxLayer):
            owner, _, child = n.rpartition(".")
            if child == SITE_CHILD:
                n = owner
            elif child.startswith(SITE_CHILD + "_"):
                n = _join(owner, child[len(SITE_CHILD) + 1:])
            out[n] = m
    return out


def _build(site: Site, model: nn.Module, value, config: QuantConfig, swapped: dict) -> ApproxLayer:
    """The ApproxLayer of one site, put in place: a swapped module (the float one kept in
    `swapped`), or a child of the module that makes the call."""
    if site.swap is not None:
        src = model.get_submodule(site.name)
        kind = SWAPS[site.swap]
        layer = kind.layer(src, expand(value, config.bits, site.name, *kind.channels(src)), config)
        replace_module(model, site.name, layer)
        swapped[site.name] = src
        return layer
    owner = model.get_submodule(site.owner) if site.owner else model
    if site.kind in PRODUCT_KINDS:
        layer = ApproxMatmul(expand(value, config.bits, site.name, None, None), config)
    else:
        layer = ApproxCall(site.kind, expand(value, config.bits, site.name, *site.channels), config)
    if site.child in owner._modules or not hasattr(owner, site.child):
        owner.add_module(site.child, layer)
    else:
        raise AxhwError(f"{site.name}: module {site.owner or 'model'} already has an attribute "
                        f"{site.child!r}")
    return layer


def approximate(model: nn.Module, assign: dict, calibration_data, *, bits: int | dict = 8,
                calibration: str = "percentile", percentile: float = 99.9,
                num_batches: int | None = None, gradient: str = "ste", half_window: int = 8,
                inplace: bool = False) -> nn.Module:
    """Return `model` with the assigned multiplication sites computing through multiplier LUTs.

    assign: {site glob: multiplier | list (per filter) | nested list (per kernel) | None (keep
    float)}; globs are fnmatch patterns over the site names (:func:`coverage`, found on the
    calibration batches), first match wins, and every glob must match some site. calibration_data:
    a tensor or iterable of batches ((inputs, targets) pairs allowed); the first `num_batches` are
    run through the float model to fix per-tensor activation clip values (`calibration` "minmax"
    or "percentile"). `bits`: one width, or {site glob: width} for mixed precision. Warns once
    with the share of MACs at sites that cannot be emulated (they stay exact float).
    """
    configs = {b: QuantConfig(bits=b, calibration=calibration, percentile=percentile,
                              num_batches=num_batches)
               for b in (bits.values() if isinstance(bits, dict) else [bits])}
    if gradient not in GRADIENTS:
        raise AxhwError(f"gradient={gradient!r} is not valid: choose one of {', '.join(GRADIENTS)}")
    batches = list(_batches(calibration_data, num_batches))
    if not batches:
        raise AxhwError("calibration_data yielded no batch")
    model = prepare(model if inplace else copy.deepcopy(model))
    device = next(model.parameters(), torch.empty(0)).device  # a model may hold no parameter
    sites = trace(model, [b.to(device) for b in batches])  # every path calibration takes
    emulated = {n: s.kind for n, s in sites.items() if s.emulated}
    exact = {n: s for n, s in sites.items() if not s.emulated}
    chosen = _match(assign, emulated, exact)
    widths = _widths(bits, chosen)
    new: list[tuple[str, ApproxLayer]] = []
    swapped: dict[str, nn.Module] = {}
    for name, value in chosen.items():
        layer = _build(sites[name], model, value, configs[widths[name]], swapped)
        layer.op.set_gradient(gradient, half_window)
        new.append((name, layer))
    Router(model, known=set(sites)).install()  # kept alive by its hooks (deep copies too)
    _calibrate(model, new, batches, sites, swapped)
    share = exact_fraction(sites)
    if share > 0:
        names = ", ".join(exact)
        warnings.warn(f"axhw: {100 * share:.2f} % of the MACs are at sites that cannot be emulated "
                      f"and stay exact float ({names}); see axhw.torch.coverage", ExactSitesWarning,
                      stacklevel=2)
    return model


def _siblings(a: str, b: str) -> bool:
    """Names that differ in exactly one numeric part (experts.0.fc1 / experts.3.fc1)."""
    pa, pb = a.split("."), b.split(".")
    diff = [(x, y) for x, y in zip(pa, pb) if x != y]
    return len(pa) == len(pb) and len(diff) == 1 and diff[0][0].isdigit() and diff[0][1].isdigit()


@torch.no_grad()
def _calibrate(model: nn.Module, layers, batches, sites: dict[str, Site], swapped: dict) -> None:
    """Run the float model over the batches with every new layer observing its inputs. A layer
    that gets no input (an expert no calibration token reaches) takes the clip values of its
    sibling sites, or stays float with a warning when it has none."""
    was_training = model.training
    model.eval()
    for _, layer in layers:
        layer.start_calibration()
    try:
        device = next(model.parameters()).device
        for batch in batches:
            model(batch.to(device))
    finally:
        model.train(was_training)
    idle = [(n, layer) for n, layer in layers if layer.calls_seen == 0]
    for name, layer in layers:
        if layer.calls_seen:
            layer.finish_calibration(name)
            if not bool((layer.act_amax > 0).all()):
                warnings.warn(f"axhw: layer {name} saw only zeros during calibration: its clip value "
                              "is 0 (scale 1), so small inputs later quantize to 0", stacklevel=3)
    done = {n: layer for n, layer in layers if layer.calls_seen}
    for name, layer in idle:
        peers = [p for n, p in done.items() if _siblings(n, name)]
        if peers:
            layer.act_amax.copy_(torch.stack([p.act_amax for p in peers]).amax(0))
            layer.calibrating = False
            warnings.warn(f"axhw: layer {name} got no input during calibration; its clip values are "
                          f"the largest of its {len(peers)} sibling layers'", stacklevel=3)
            continue
        warnings.warn(f"axhw: layer {name} got no input during calibration and has no sibling "
                      "layer to take clip values from: it stays float", stacklevel=3)
        if name in swapped:
            replace_module(model, name, swapped[name])
        else:
            site = sites[name]
            delattr(model.get_submodule(site.owner) if site.owner else model, site.child)


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
