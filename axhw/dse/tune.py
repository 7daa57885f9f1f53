"""ALWANN weight tuning (Mrazek et al., ICCAD 2019), no retraining: every weight code w of a
layer becomes w' = argmin_{w'} Σ_x p(x) |x·w − LUT[x, w']|, p the layer's activation-code histogram
on the calibration set, per design (so per filter / kernel under finer assignments). The codes
±qmax that set a filter's scale are kept, so the weight scale does not move."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ..torch import approx_layers
from ..torch.modules import ApproxMatmul
from ..torch.quant import code_values, codes, qmax, quantize

__all__ = ["tuned_model", "weight_map"]


def weight_map(table: np.ndarray, signed: bool, p: np.ndarray) -> np.ndarray:
    """{weight value -> tuned value} as an array indexed by value + qmax (values -qmax..qmax).
    `p`: activation histogram over the operand values (code order of `code_values`)."""
    bits = int(table.shape[0]).bit_length() - 1
    m = qmax(bits, signed)
    if signed:
        xv = code_values(bits, True)  # value of every code
        ws = np.arange(-m, m + 1)
        lut_cols = table[:, ws & ((1 << bits) - 1)]  # [x code, w' index]
        target = xv[:, None] * ws[None, :]  # [x code, w]
        cost = np.einsum("x,xwv->wv", p, np.abs(target[:, :, None] - lut_cols[:, None, :]))
        cost += 1e-9 * np.abs(ws[:, None] - ws[None, :])  # ties: stay close to w
        return ws[np.argmin(cost, axis=1)]
    mags = np.arange(m + 1)
    pm = p[: m + 1] + np.concatenate([[0], p[m + 2:]]) if len(p) > m + 1 else p  # |x| histogram
    target = mags[:, None] * mags[None, :]
    cost = np.einsum("x,xwv->wv", pm, np.abs(target[:, :, None] - table[:, None, :].astype(np.float64)))
    cost += 1e-9 * np.abs(mags[:, None] - mags[None, :])
    best = mags[np.argmin(cost, axis=1)]
    return np.concatenate([-best[:0:-1], best])  # values -m..m: sign applied outside


def tuned_model(model: nn.Module, approx: nn.Module, calibration) -> nn.Module:
    """A copy of the float `model` whose weights are remapped for the designs of `approx`."""
    tuned = copy.deepcopy(model)
    layers = {n: l for n, l in approx_layers(approx).items() if not isinstance(l, ApproxMatmul)}
    seen: dict[str, list] = {n: [] for n in layers}
    hooks = [tuned.get_submodule(n).register_forward_pre_hook(
        lambda m, a, n=n: seen[n].append(a[0].detach())) for n in layers]
    with torch.no_grad():
        for x in calibration:
            tuned(x)
    for h in hooks:
        h.remove()
    for name, layer in layers.items():
        if not seen[name]:  # a site its module's own call never reaches (weights used functionally)
            continue
        op = layer.op
        bits, signed = op.bits, op.signed
        m = qmax(bits, signed)
        xq = torch.cat([quantize(x, layer.act_scale(), bits, signed).flatten() for x in seen[name]])
        c = codes(xq, bits, signed).numpy()
        p = np.bincount(c, minlength=op.mults.tables.shape[1]).astype(np.float64)
        p /= p.sum()
        if signed:
            p = p[: 1 << bits]
        maps = [weight_map(lut.table, signed, p) for lut in op.mults.luts]
        w = tuned.get_submodule(name).weight
        sw = layer.weight_scale(w).view(-1, *([1] * (w.dim() - 1)))
        qw = quantize(w.detach(), sw, bits, signed).to(torch.int64)
        idx = op.mults.index
        if idx is None:
            sel = np.zeros(qw.shape[:1], dtype=np.int64)
        else:
            sel = idx
        sel = np.broadcast_to(sel.reshape(sel.shape + (1,) * (qw.dim() - sel.ndim)), qw.shape)
        table = torch.from_numpy(np.stack(maps))  # [design, value + m]
        new = table[torch.from_numpy(np.ascontiguousarray(sel)), qw + m]
        new = torch.where(qw.abs() == m, qw, new)  # the scale-setting codes stay
        with torch.no_grad():
            w.copy_((new.to(w.dtype) * sw))
    return tuned
