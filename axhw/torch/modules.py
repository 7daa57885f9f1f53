"""Approximate layers (Linear, Conv2d, attention matmul) and attention wrappers that expose
Q·Kᵀ and attention·V as replaceable `qk` / `av` submodules."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..infra.errors import AxhwError
from .functional import LutConv2d, LutMatmul, LutOp
from .multipliers import LayerMultipliers
from .quant import AbsObserver, QuantConfig, scale_from_amax


class ApproxLayer(nn.Module):
    """Shared state: the layer's multipliers, activation calibration and the calibrate/approx mode.

    While ``calibrating`` the layer computes in float and records its activation inputs; afterwards
    the activation clip values sit in the ``act_amax`` buffer (saved with the state dict).
    """

    def __init__(self, mults: LayerMultipliers, config: QuantConfig, n_inputs: int):
        super().__init__()
        self.op = LutOp(mults)
        self.config = config
        self.calibrating = False
        self.observers = [AbsObserver(config) for _ in range(n_inputs)]
        self.register_buffer("act_amax", torch.zeros(n_inputs))

    def start_calibration(self) -> None:
        self.calibrating = True
        self.observers = [AbsObserver(self.config) for _ in self.observers]

    def finish_calibration(self, name: str) -> None:
        if any(o.hist is None and o.max == 0.0 for o in self.observers):
            raise AxhwError(f"layer {name} saw no non-zero input during calibration")
        self.act_amax.copy_(torch.tensor([o.amax() for o in self.observers]))
        self.calibrating = False

    def observe(self, *xs: torch.Tensor) -> None:
        for obs, x in zip(self.observers, xs):
            obs.observe(x)

    def act_scale(self, i: int = 0) -> torch.Tensor:
        return scale_from_amax(self.act_amax[i], self.op.bits, self.op.signed)

    def weight_scale(self, w: torch.Tensor) -> torch.Tensor:
        """Per-output-channel symmetric scale from the current weights (max |w| per filter)."""
        return scale_from_amax(w.detach().abs().flatten(1).amax(1), self.op.bits, self.op.signed)

    def extra_repr(self) -> str:
        m = self.op.mults
        where = "" if m.index is None else f", per {'kernel' if m.index.ndim == 2 else 'filter'}"
        return (f"multipliers={m.names}{where}, bits={m.bits}, "
                f"{'signed' if m.signed else 'sign-magnitude'}, gradient={self.op.gradient}")


class ApproxLinear(ApproxLayer):
    def __init__(self, linear: nn.Linear, mults: LayerMultipliers, config: QuantConfig):
        super().__init__(mults, config, 1)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight, self.bias = linear.weight, linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.observe(x)
            return F.linear(x, self.weight, self.bias)
        y = LutMatmul.apply(x.reshape(-1, self.in_features), self.weight.T, self.act_scale(),
                            self.weight_scale(self.weight), self.op)
        y = y.reshape(x.shape[:-1] + (self.out_features,))
        return y if self.bias is None else y + self.bias


def _conv_padding(conv: nn.Conv2d, name: str) -> tuple[int, int]:
    if conv.padding_mode != "zeros":
        raise AxhwError(f"{name}: padding_mode={conv.padding_mode!r} is not supported (zeros only)")
    if conv.padding == "valid":
        return (0, 0)
    if conv.padding == "same":
        total = [d * (k - 1) for d, k in zip(conv.dilation, conv.kernel_size)]
        if any(t % 2 for t in total):
            raise AxhwError(f"{name}: padding='same' needs asymmetric padding here; give it as ints")
        return (total[0] // 2, total[1] // 2)
    return tuple(conv.padding)


class ApproxConv2d(ApproxLayer):
    def __init__(self, conv: nn.Conv2d, mults: LayerMultipliers, config: QuantConfig, name: str):
        super().__init__(mults, config, 1)
        self.weight, self.bias = conv.weight, conv.bias
        self.geometry = (tuple(conv.stride), _conv_padding(conv, name), tuple(conv.dilation),
                         conv.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stride, padding, dilation, groups = self.geometry
        if self.calibrating:
            self.observe(x)
            return F.conv2d(x, self.weight, self.bias, stride, padding, dilation, groups)
        y = LutConv2d.apply(x, self.weight, self.act_scale(), self.weight_scale(self.weight),
                            self.op, self.geometry)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


class ApproxMatmul(ApproxLayer):
    """``a @ b`` of two activations (per-tensor scales each), batched over leading dimensions."""

    def __init__(self, mults: LayerMultipliers, config: QuantConfig):
        super().__init__(mults, config, 2)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.observe(a, b)
            return a @ b
        lead = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a3 = a.expand(lead + a.shape[-2:]).reshape((-1,) + a.shape[-2:])
        b3 = b.expand(lead + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
        sa, sb = self.act_scale(0), self.act_scale(1)
        if self.op.index is not None or a3.shape[0] == 1:
            out = torch.stack([LutMatmul.apply(x, y, sa, sb, self.op) for x, y in zip(a3, b3)])
        else:
            out = _batched_lut_matmul(a3, b3, sa, sb, self.op)
        return out.reshape(lead + (a.shape[-2], b.shape[-1]))


def _batched_lut_matmul(a3, b3, sa, sb, op: LutOp) -> torch.Tensor:
    """(B, M, K) @ (B, K, N) in one LUT call: a 1x1 convolution with B groups, image m holding
    the B rows a3[:, m] as channels and filter g*N + n the column b3[g, :, n]. Same products and
    sums as B LutMatmuls (one per image and head of an attention layer was 1,225 calls per ViT-S
    forward, 97 % of its time on an H200)."""
    B, M, K = a3.shape
    N = b3.shape[-1]
    x = a3.permute(1, 0, 2).reshape(M, B * K, 1, 1)
    w = b3.transpose(1, 2).reshape(B * N, K, 1, 1)
    y = LutConv2d.apply(x, w, sa, sb, op, ((1, 1), (0, 0), (1, 1), B))
    return y.reshape(M, B, N).permute(1, 0, 2)


def _matmul(layer: nn.Module | None, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a @ b if layer is None else layer(a, b)


def is_vit_attention(m: nn.Module) -> bool:
    """timm-style ViT attention: a `qkv` Linear, `num_heads`, `scale` and a `proj` Linear."""
    return (isinstance(getattr(m, "qkv", None), nn.Linear) and isinstance(getattr(m, "proj", None), nn.Linear)
            and isinstance(getattr(m, "num_heads", None), int) and hasattr(m, "scale"))


class ViTAttention(nn.Module):
    """timm ``Attention`` forward with the two matmuls as submodules `qk` and `av` (None = float)."""

    def __init__(self, src: nn.Module):
        super().__init__()
        self.qkv, self.proj, self.num_heads, self.scale = src.qkv, src.proj, src.num_heads, src.scale
        self.head_dim = getattr(src, "head_dim", src.qkv.in_features // src.num_heads)
        for name in ("q_norm", "k_norm", "attn_drop", "norm", "proj_drop"):
            setattr(self, name, getattr(src, name, None) or nn.Identity())
        self.qk: nn.Module | None = None
        self.av: nn.Module | None = None

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        B, N, _ = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        attn = _matmul(self.qk, q * self.scale, k.transpose(-2, -1))
        if attn_mask is not None:
            attn = attn.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool \
                else attn + attn_mask
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = _matmul(self.av, attn, v).transpose(1, 2).reshape(B, N, self.num_heads * self.head_dim)
        return self.proj_drop(self.proj(self.norm(x)))


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                    device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    return lin


class MultiheadAttention(nn.Module):
    """``nn.MultiheadAttention`` with q/k/v/out projections as Linears and `qk` / `av` matmuls as
    submodules, so each can be approximated. Same call signature and results (up to float
    rounding); bias_k/bias_v and add_zero_attn are not supported."""

    def __init__(self, src: nn.MultiheadAttention, name: str):
        super().__init__()
        if src.bias_k is not None or src.add_zero_attn:
            raise AxhwError(f"{name}: MultiheadAttention with add_bias_kv/add_zero_attn is not supported")
        E = src.embed_dim
        self.num_heads, self.head_dim, self.dropout = src.num_heads, src.head_dim, src.dropout
        self.batch_first = src.batch_first
        b = src.in_proj_bias
        bias = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if src._qkv_same_embed_dim:
            w = src.in_proj_weight
            weights = (w[:E], w[E:2 * E], w[2 * E:])
        else:
            weights = (src.q_proj_weight, src.k_proj_weight, src.v_proj_weight)
        self.q_proj, self.k_proj, self.v_proj = (_linear(w.detach(), None if c is None else c.detach())
                                                 for w, c in zip(weights, bias))
        self.out_proj = src.out_proj
        self.qk: nn.Module | None = None
        self.av: nn.Module | None = None

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, L, _ = x.shape
        return x.reshape(B, L, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        B, L, E = query.shape
        S = key.shape[1]
        q = self._heads(self.q_proj(query)) * (1.0 / math.sqrt(self.head_dim))
        k, v = self._heads(self.k_proj(key)), self._heads(self.v_proj(value))
        attn = _matmul(self.qk, q, k.transpose(-2, -1))
        if attn_mask is None and is_causal:
            attn_mask = torch.ones(L, S, dtype=torch.bool, device=q.device).triu(1)
        if attn_mask is not None:  # torch's convention: True / -inf = not allowed
            attn_mask = attn_mask.reshape(-1, self.num_heads, L, S) if attn_mask.dim() == 3 else attn_mask
            attn = attn.masked_fill(attn_mask, float("-inf")) if attn_mask.dtype == torch.bool \
                else attn + attn_mask
        if key_padding_mask is not None:
            kpm = key_padding_mask.reshape(B, 1, 1, S)
            attn = attn.masked_fill(kpm, float("-inf")) if kpm.dtype == torch.bool else attn + kpm
        attn = attn.softmax(dim=-1)
        weights = attn
        if self.training and self.dropout > 0:
            attn = F.dropout(attn, self.dropout)
        out = _matmul(self.av, attn, v).transpose(1, 2).reshape(B, L, E)
        out = self.out_proj(out)
        if unbatched:
            out, weights = out.squeeze(0), weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        return out, weights.mean(dim=-3) if average_attn_weights else weights
