"""Approximate layers: swapped nn.Linear / nn.Conv2d, functional weight sites (the F.linear /
F.conv* calls a module makes), products of two activations; the nn.MultiheadAttention rebuild
that splits its packed in-projection into q/k/v Linears."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..infra.errors import AxhwError
from .functional import LutConv2d, LutMatmul, LutOp, needs_grad
from .multipliers import LayerMultipliers
from .quant import AbsObserver, QuantConfig, scale_from_amax

__all__ = ["ApproxCall", "ApproxConv2d", "ApproxLayer", "ApproxLinear", "ApproxMatmul",
           "MultiheadAttention", "SITE_CHILD", "replace_module"]


SITE_CHILD = "axhw"  # a functional weight site's layer: child `axhw` of the module that owns it


def replace_module(model: nn.Module, name: str, module: nn.Module) -> None:
    """Put `module` at the qualified `name` of `model` (the one module-replacement helper)."""
    if not name:
        raise AxhwError("the model itself is a single layer: wrap it in nn.Sequential")
    model.set_submodule(name, module)


class ApproxLayer(nn.Module):
    """Shared state: the layer's multipliers, activation calibration and the calibrate/approx mode.

    While ``calibrating`` the layer computes in float and records its activation inputs; afterwards
    the activation clip values sit in the ``act_amax`` buffer (saved with the state dict). A layer
    runs with torch-function interception off: its own products are the emulated ones.
    """

    def __init__(self, mults: LayerMultipliers, config: QuantConfig, n_inputs: int):
        super().__init__()
        self.op = LutOp(mults)
        self.config = config
        self.calibrating = False
        self.observers = [AbsObserver(config) for _ in range(n_inputs)]
        self.register_buffer("act_amax", torch.zeros(n_inputs))

    def __call__(self, *args, **kwargs):
        with torch._C.DisableTorchFunction():
            return super().__call__(*args, **kwargs)

    def start_calibration(self) -> None:
        self.calibrating = True
        self.observers = [AbsObserver(self.config) for _ in self.observers]

    @property
    def calls_seen(self) -> int:
        return min(o.calls for o in self.observers)

    def finish_calibration(self, name: str) -> None:
        """Clip values from what the layer saw; a non-finite input is an error."""
        if any(o.nonfinite for o in self.observers):
            raise AxhwError(f"layer {name} got NaN or infinite inputs during calibration: the float "
                            "model does not compute finite values on the calibration data")
        self.act_amax.copy_(torch.tensor([o.amax() for o in self.observers]))
        self.calibrating = False

    def observe(self, *xs: torch.Tensor) -> None:
        for obs, x in zip(self.observers, xs):
            obs.observe(x)

    def act_scale(self, i: int = 0) -> torch.Tensor:
        return scale_from_amax(self.act_amax[i], self.op.bits, self.op.signed)

    def weight_scale(self, w: torch.Tensor) -> torch.Tensor:
        """Per-output-channel symmetric scale from the current weights (max |w| per filter),
        cached while the weight keeps its values (LutOp.for_weight)."""
        return self.op.for_weight("scale", (w,), lambda: scale_from_amax(
            w.detach().abs().flatten(1).amax(1), self.op.bits, self.op.signed))

    def extra_repr(self) -> str:
        m = self.op.mults
        where = "" if m.index is None else f", per {'kernel' if m.index.ndim == 2 else 'filter'}"
        return (f"multipliers={m.names}{where}, bits={m.bits}, "
                f"{'signed' if m.signed else 'sign-magnitude'}, gradient={self.op.gradient}")

    # -- the emulated products, shared by the swapped modules and the functional sites --
    def linear(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        if self.calibrating:
            self.observe(x)
            return F.linear(x, w, b)
        y = LutMatmul.apply(x.reshape(-1, w.shape[1]), w.T, self.act_scale(), self.weight_scale(w),
                            self.op, needs_grad(x, w))
        y = y.reshape(x.shape[:-1] + (w.shape[0],))
        return y if b is None else y + b

    def conv2d(self, x, w, b, stride=1, padding=0, dilation=1, groups=1) -> torch.Tensor:
        stride, dilation = _pair(stride), _pair(dilation)
        if self.calibrating:
            self.observe(x)
            return F.conv2d(x, w, b, stride, padding, dilation, groups)
        if isinstance(padding, str):  # 'same' / 'valid': zero padding, extra on the bottom/right
            x = F.pad(x, _string_padding(padding, w.shape[2:], dilation))
            padding = 0
        geometry = (stride, _pair(padding), dilation, groups)
        y = LutConv2d.apply(x, w, self.act_scale(), self.weight_scale(w), self.op, geometry,
                            needs_grad(x, w))
        return y if b is None else y + b.view(1, -1, 1, 1)

    def conv1d(self, x, w, b, stride=1, padding=0, dilation=1, groups=1) -> torch.Tensor:
        """As a convolution of height 1."""
        if self.calibrating:
            self.observe(x)
            return F.conv1d(x, w, b, stride, padding, dilation, groups)
        pad = padding if isinstance(padding, str) else (0, _single(padding))
        y = self.conv2d(x.unsqueeze(2), w.unsqueeze(2), b, (1, _single(stride)), pad,
                        (1, _single(dilation)), groups)
        return y.squeeze(2)

    def conv_transpose2d(self, x, w, b, stride=1, padding=0, output_padding=0, groups=1,
                         dilation=1) -> torch.Tensor:
        """As the convolution a conv engine runs: the input with stride-1 zeros between its pixels,
        padded by dilation*(k-1)-padding (+output_padding), and the flipped, transposed kernel.
        Inserted zeros read code 0, like padding."""
        if self.calibrating:
            self.observe(x)
            return F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)
        (sh, sw), (ph, pw), (oh, ow), (dh, dw) = map(_pair, (stride, padding, output_padding, dilation))
        B, C, H, W = x.shape
        kh, kw = w.shape[2:]
        xz = x.new_zeros(B, C, (H - 1) * sh + 1, (W - 1) * sw + 1)
        xz[:, :, ::sh, ::sw] = x
        lo_h, lo_w = dh * (kh - 1) - ph, dw * (kw - 1) - pw
        xz = F.pad(xz, (lo_w, lo_w + ow, lo_h, lo_h + oh))  # negative: crops
        cin_g, cout_g = C // groups, w.shape[1]
        w2 = (w.reshape(groups, cin_g, cout_g, kh, kw).transpose(1, 2)
              .reshape(groups * cout_g, cin_g, kh, kw).flip(-2, -1))
        return self.conv2d(xz, w2, b, 1, 0, (dh, dw), groups)


def _pair(v) -> tuple[int, int]:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _single(v) -> int:
    return v[0] if isinstance(v, (tuple, list)) else v


def _string_padding(padding: str, kernel, dilation) -> tuple[int, int, int, int]:
    """F.pad widths (left, right, top, bottom) of padding='same' / 'valid' (torch puts an odd
    total's extra zero on the right / bottom)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding != "same":
        raise AxhwError(f"padding={padding!r} is not valid: 'same', 'valid' or integers")
    (th, tw) = (d * (k - 1) for d, k in zip(dilation, kernel))
    return (tw // 2, tw - tw // 2, th // 2, th - th // 2)


class ApproxLinear(ApproxLayer):
    def __init__(self, linear: nn.Linear, mults: LayerMultipliers, config: QuantConfig):
        super().__init__(mults, config, 1)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight, self.bias = linear.weight, linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x, self.weight, self.bias)


class ApproxConv2d(ApproxLayer):
    """A plain nn.Conv2d with zero padding (other padding modes run as functional sites)."""

    def __init__(self, conv: nn.Conv2d, mults: LayerMultipliers, config: QuantConfig):
        super().__init__(mults, config, 1)
        self.weight, self.bias = conv.weight, conv.bias
        padding = conv.padding if isinstance(conv.padding, str) else tuple(conv.padding)
        self.geometry = (tuple(conv.stride), padding, tuple(conv.dilation), conv.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(x, self.weight, self.bias, *self.geometry)


class ApproxCall(ApproxLayer):
    """A functional weight site: the F.linear / F.conv1d / F.conv2d / F.conv_transpose2d call a
    module makes itself (a subclass with its own forward, weights used functionally), emulated
    with the call's own arguments. Lives as child ``axhw`` of that module."""

    def __init__(self, kind: str, mults: LayerMultipliers, config: QuantConfig):
        super().__init__(mults, config, 1)
        self.kind = kind

    def forward(self, *args, **kwargs) -> torch.Tensor:
        return getattr(self, self.kind)(*args, **kwargs)


class ApproxMatmul(ApproxLayer):
    """``a @ b`` of two activations (per-tensor scales each), batched over leading dimensions."""

    def __init__(self, mults: LayerMultipliers, config: QuantConfig):
        super().__init__(mults, config, 2)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.observe(a, b)
            return a @ b
        va, vb = a.dim() == 1, b.dim() == 1  # torch.matmul's vector rules
        a, b = (a.unsqueeze(0) if va else a), (b.unsqueeze(-1) if vb else b)
        lead = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a3 = a.expand(lead + a.shape[-2:]).reshape((-1,) + a.shape[-2:])
        b3 = b.expand(lead + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
        sa, sb = self.act_scale(0), self.act_scale(1)
        if self.op.index is not None or a3.shape[0] == 1:
            out = torch.stack([LutMatmul.apply(x, y, sa, sb, self.op, needs_grad(x, y))
                               for x, y in zip(a3, b3)])
        else:
            out = _batched_lut_matmul(a3, b3, sa, sb, self.op)
        out = out.reshape(lead + (a.shape[-2], b.shape[-1]))
        out = out.squeeze(-1) if vb else out
        return out.squeeze(-1 if vb else -2) if va else out


def _batched_lut_matmul(a3, b3, sa, sb, op: LutOp) -> torch.Tensor:
    """(B, M, K) @ (B, K, N) in one LUT call: a 1x1 convolution with B groups, image m holding
    the B rows a3[:, m] as channels and filter g*N + n the column b3[g, :, n]. Same products and
    sums as B LutMatmuls (one per image and head of an attention layer was 1,225 calls per ViT-S
    forward, 97 % of its time on an H200)."""
    B, M, K = a3.shape
    N = b3.shape[-1]
    x = a3.permute(1, 0, 2).reshape(M, B * K, 1, 1)
    w = b3.transpose(1, 2).reshape(B * N, K, 1, 1)
    y = LutConv2d.apply(x, w, sa, sb, op, ((1, 1), (0, 0), (1, 1), B), needs_grad(x, w))
    return y.reshape(M, B, N).permute(1, 0, 2)


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                    device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    return lin


class MultiheadAttention(nn.Module):
    """``nn.MultiheadAttention`` with q/k/v/out projections as Linears and Q·Kᵀ, attention·V as
    ``@`` products (sites `qk`, `av`), so each can be approximated. Same call signature and
    results (up to float rounding); bias_k/bias_v and add_zero_attn are not supported."""

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
        attn = q @ k.transpose(-2, -1)
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
        out = (attn @ v).transpose(1, 2).reshape(B, L, E)
        out = self.out_proj(out)
        if unbatched:
            out, weights = out.squeeze(0), weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        return out, weights.mean(dim=-3) if average_attn_weights else weights
