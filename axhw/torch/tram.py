"""TRAM's training-time layers (DAC 2026, spec dse.md §4): the multiplier's low columns as weights.

A TRAM layer holds θ ∈ [0,1]^P over the P least-significant accumulation columns of its unsigned
array multiplier and computes, on the integer operands of axhw's quantization scheme,

    C = Σ_k qx_k·qw_k − Σ_{c<P} 2^c · θ_c · S_c,    S_c = Σ_k Σ_{i+j=c} x̂_j(k)·ŵ_i(k)

where x̂_j = sign(qx)·bit_j(|qx|) (sign-magnitude operands, as an unsigned LUT multiplier serves
them) — Σ_k S_c is a sum of bit-plane GEMMs / convolutions. θ_c = 1 removes column c entirely, so
with θ ∈ {0,1} the layer equals ``approximate`` with ``masked:drop_columns=...`` bit for bit
(same quantizer, same float64 dequantization). θ is clamped to [0,1] in the forward and passed
straight through in the backward; operands are fake-quantized with straight-through rounding.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..infra.errors import AxhwError
from ..gen.families.pruned import check_columns
from .api import approx_layers, approximate, candidate_layers, finetune
from .modules import ApproxConv2d, ApproxLinear, replace_module
from .quant import qmax, quantize

__all__ = ["TramLayer", "bit_planes", "float_model", "power_loss", "train_tram", "tram_layers",
           "tram_model"]


class _QuantSTE(torch.autograd.Function):
    """Integer operand values clamp(round(x / s)); gradient 1/s inside the clip range, 0 outside."""

    @staticmethod
    def forward(ctx, x, scale, bits: int):
        ctx.save_for_backward(x, scale)
        ctx.bits = bits
        return quantize(x, scale, bits, False)

    @staticmethod
    def backward(ctx, g):
        x, scale = ctx.saved_tensors
        inside = (x.abs() <= scale * qmax(ctx.bits, False)).to(g.dtype)
        return g / scale * inside, None, None


class _ClampSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, theta):
        return theta.clamp(0.0, 1.0)

    @staticmethod
    def backward(ctx, g):
        return g


def bit_planes(q: torch.Tensor, count: int) -> torch.Tensor:
    """(count, *q.shape): plane j = sign(q)·bit_j(|q|), float32 (exact small integers)."""
    mag = q.detach().abs().to(torch.int64)
    sign = torch.sign(q.detach()).to(torch.float32)
    return torch.stack([((mag >> j) & 1).to(torch.float32) * sign for j in range(count)])


class TramLayer(nn.Module):
    """Wraps a calibrated ApproxLinear / ApproxConv2d (exact unsigned multiplier): its weights,
    bias, activation clip and geometry, plus the column parameters ``theta`` (P,)."""

    def __init__(self, layer: ApproxLinear | ApproxConv2d, columns: int, name: str):
        super().__init__()
        if layer.op.signed:
            raise AxhwError(f"{name}: TRAM needs an unsigned (sign-magnitude) multiplier")
        self.layer, self.name = layer, name
        self.bits = layer.op.bits
        self.columns = columns
        self.theta = nn.Parameter(torch.zeros(columns))
        self.macs = 0  # multiplications per sample of the last forward

    def clamped_theta(self) -> torch.Tensor:
        return _ClampSTE.apply(self.theta)

    def _op(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if isinstance(self.layer, ApproxLinear):
            return F.linear(x, w)
        stride, padding, dilation, groups = self.layer.geometry
        return F.conv2d(x, w, None, stride, padding, dilation, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lin = isinstance(self.layer, ApproxLinear)
        w = self.layer.weight
        sx, sw = self.layer.act_scale(), self.layer.weight_scale(w)
        qx = _QuantSTE.apply(x, sx, self.bits)
        qw = _QuantSTE.apply(w, sw.view((-1,) + (1,) * (w.dim() - 1)), self.bits)
        c = self._op(qx.to(torch.float64), qw.to(torch.float64))  # exact integers
        P = self.columns
        if P:
            xp, wp = bit_planes(qx, P), bit_planes(qw, P)
            sums = []
            with torch.no_grad():
                for i in range(P):  # weight plane i meets activation planes j < P - i
                    xs = xp[:P - i].reshape((-1,) + tuple(x.shape[1:]))
                    out = self._op(xs, wp[i]).reshape((P - i,) + tuple(c.shape))
                    sums.append(out)
                s = torch.stack([sum(sums[i][col - i] for i in range(col + 1)) for col in range(P)])
            weights = self.clamped_theta().to(torch.float64) * (2.0 ** torch.arange(P, dtype=torch.float64))
            c = c - torch.tensordot(weights, s.to(torch.float64), dims=1)
        self.macs = c[0].numel() * w[0].numel()
        scale = sx * (sw if lin else sw.view(1, -1, 1, 1))
        y = (c * scale.to(torch.float64)).to(x.dtype)
        if self.layer.bias is None:
            return y
        return y + (self.layer.bias if lin else self.layer.bias.view(1, -1, 1, 1))

    def relative_power(self, column_power: torch.Tensor) -> torch.Tensor:
        """f(θ) = (P_acc − Σ_c θ_c·Power_c) / P_acc with `column_power` over all columns."""
        total = column_power.sum()
        return (total - (self.clamped_theta() * column_power[:self.columns]).sum()) / total


def tram_model(model: nn.Module, calibration_data, columns: int, *, bits: int = 8,
               **approx_kwargs) -> nn.Module:
    """A copy of float `model` whose Linear and Conv2d layers are TRAM layers over `columns` low
    columns (calibrated like ``approximate`` with the exact multiplier; attention matmuls stay
    float)."""
    check_columns(columns, bits)
    names = [n for n, kind in candidate_layers(model).items() if kind in ("linear", "conv2d")]
    if not names:
        raise AxhwError("TRAM: the model has no Linear or Conv2d layer")
    q = approximate(model, dict.fromkeys(names, f"exact:bits={bits}"), calibration_data, bits=bits,
                    **approx_kwargs)
    for name, layer in approx_layers(q).items():
        replace_module(q, name, TramLayer(layer, columns, name))
    return q


def float_model(model: nn.Module) -> nn.Module:
    """A copy of a TRAM model with every TRAM layer back as a float nn.Linear / nn.Conv2d holding
    the trained weights (the starting point of phase 3)."""
    out = copy.deepcopy(model)
    for name, tl in tram_layers(out).items():
        layer, w = tl.layer, tl.layer.weight
        if isinstance(layer, ApproxLinear):
            plain = nn.Linear(w.shape[1], w.shape[0], bias=layer.bias is not None)
        else:
            stride, padding, dilation, groups = layer.geometry
            plain = nn.Conv2d(w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]), stride, padding,
                              dilation, groups, bias=layer.bias is not None)
        plain.weight = layer.weight
        plain.bias = layer.bias
        replace_module(out, name, plain)
    return out


def tram_layers(model: nn.Module) -> dict[str, TramLayer]:
    return {m.name: m for m in model.modules() if isinstance(m, TramLayer)}


def power_loss(model: nn.Module, column_power: torch.Tensor) -> torch.Tensor:
    """L_power = Σ_l f(θ_l)·MACs_l / Σ_l MACs_l (MACs of the last forward pass)."""
    layers = list(tram_layers(model).values())
    total = sum(layer.macs for layer in layers)
    if not layers or total == 0:
        raise AxhwError("power_loss: run a forward pass of a TRAM model first")
    return sum(layer.relative_power(column_power) * layer.macs for layer in layers) / total


def train_tram(model: nn.Module, loader, column_power, *, lam: float, epochs: int = 1,
               lr: float = 5e-4, theta_lr: float = 5e-2, loss_fn=None) -> list[float]:
    """Phase 1: minimise task loss + λ·L_power over weights (Adam, lr) and θ (Adam, theta_lr)."""
    if lam < 0:
        raise AxhwError(f"lambda={lam} must be >= 0")
    column_power = torch.as_tensor(column_power, dtype=torch.float32)
    thetas = [layer.theta for layer in tram_layers(model).values()]
    ids = {id(t) for t in thetas}
    others = [p for p in model.parameters() if id(p) not in ids]
    opt = torch.optim.Adam([{"params": others, "lr": lr}, {"params": thetas, "lr": theta_lr}])
    task_loss = loss_fn or nn.CrossEntropyLoss()
    return finetune(model, loader, epochs, optimizer=opt,
                    loss_fn=lambda out, y: task_loss(out, y) + lam * power_loss(model, column_power))
