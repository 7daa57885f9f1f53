"""Energy model: MACs per approximable operation (counted in a calibration forward pass) times the
energy per multiplication of the design assigned to it, relative to the exact reference design."""

from __future__ import annotations

import torch
from torch import nn

from ..infra.errors import AxhwError
from ..torch import candidate_layers
from ..torch.modules import is_vit_attention
from .library import Library


def count_macs(model: nn.Module, calibration: list[torch.Tensor]) -> dict[str, int]:
    """{layer: multiplications per inference} for every candidate layer of `model` (conv:
    out_h*out_w*out_c*k_h*k_w*in_c/groups; linear: in*out per row; Q·Kᵀ and A·V: heads*N^2*head_dim)."""
    layers = candidate_layers(model)
    macs = dict.fromkeys(layers, 0)
    hooks = []

    def on(name: str, module: nn.Module):
        def hook(m, args, out):
            if isinstance(m, nn.Conv2d):
                macs[name] += out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            elif isinstance(m, nn.Linear):
                macs[name] += out.numel() * m.in_features
            elif isinstance(m, nn.MultiheadAttention):
                q, k = args[0], args[1]
                b = 1 if q.dim() == 2 else (q.shape[0] if m.batch_first else q.shape[1])
                lq, lk = q.numel() // (b * m.embed_dim), k.numel() // (b * k.shape[-1])
                e = m.embed_dim
                for part, n in (("q_proj", lq * e * e), ("k_proj", lk * e * k.shape[-1]),
                                ("v_proj", lk * e * args[2].shape[-1]), ("qk", lq * lk * e),
                                ("av", lq * lk * e)):
                    macs[f"{name}.{part}" if name else part] += b * n
            else:  # timm-style attention: x (B, N, C)
                x = args[0]
                n_tok, c = x.shape[1], x.shape[2]
                for part in ("qk", "av"):
                    macs[f"{name}.{part}" if name else part] += x.shape[0] * n_tok * n_tok * c
        hooks.append(module.register_forward_hook(hook))

    for name, m in model.named_modules():
        if name in layers or isinstance(m, nn.MultiheadAttention) or is_vit_attention(m):
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.MultiheadAttention)) or is_vit_attention(m):
                on(name, m)
    samples = 0
    try:
        with torch.no_grad():
            for x in calibration:
                model(x)
                samples += x.shape[0]
    finally:
        for h in hooks:
            h.remove()
    if samples == 0:
        raise AxhwError("no calibration sample to count MACs on")
    return {k: int(round(v / samples)) for k, v in macs.items()}


def unit_designs(value) -> list[str]:
    """Flat list of the designs of one layer's assignment value (layer / filter / kernel)."""
    if isinstance(value, str):
        return [value]
    if value and isinstance(value[0], (list, tuple)):
        return [d for row in value for d in row]
    return list(value)


def assignment_energy(layers: dict, macs: dict[str, int], library: Library) -> tuple[float, float]:
    """(energy_pj per inference, energy_rel): every unit of a layer does an equal share of its MACs;
    a layer not in `layers` runs on the reference (exact) design."""
    ref = library.reference_energy
    total_ref = sum(macs.values()) * ref
    pj = 0.0
    for name, m in macs.items():
        if name not in layers:
            pj += m * ref
            continue
        units = unit_designs(layers[name])
        pj += m * sum(library.energy(d) for d in units) / len(units)
    unknown = sorted(set(layers) - set(macs))
    if unknown:
        raise AxhwError(f"unknown layer {unknown[0]!r}: the model's layers are {', '.join(macs)}")
    return pj, (pj / total_ref if total_ref > 0 else 1.0)
