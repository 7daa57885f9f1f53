"""Autograd functions: quantize -> LUT GEMM / conv on raw codes (axhw.emu) -> dequantize.

Forward is exact: every product is a table entry and the sum is an integer (axhw.emu kernels);
the result is dequantized once, ``C * (s_a * s_b)`` rounded once to the input dtype (float32 does
it in float32 where |C| < 2^24, which gives the same bits as the float64 product).
Eval-time overheads are kept out of the hot path: a weight's scale and codes are cached per layer
while its values stay the same, and the straight-through masks are only built when a gradient is
needed.
Backward treats rounding as identity inside the clip range (straight-through quantization) and
differentiates the product either as exact (``ste``) or with the LUT-difference tables (``lut``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.grad import conv2d_input, conv2d_weight

from ..emu import lut_conv2d, lut_matmul
from ..emu.conv import expand_conv_index
from ..emu.luts import prepare_luts
from .gradients import operand_gradient_tables
from .kernels import lut_backward, quantize_codes
from .multipliers import LayerMultipliers
from .quant import codes, qmax, quantize

__all__ = ["LutConv2d", "LutMatmul", "LutOp", "needs_grad"]

class LutOp:
    """One layer's multipliers prepared for the kernels, plus its backward setting."""

    def __init__(self, mults: LayerMultipliers):
        self.mults = mults
        self.bits, self.signed = mults.bits, mults.signed
        self.side = mults.tables.shape[1]
        # bit-linear tables (exact, perforated, truncated, BAM, masked) run as dense GEMMs
        self.emu = prepare_luts(mults.tables, fast_path=True)
        self.index = None if mults.index is None else torch.from_numpy(mults.index)
        self._cache: dict = {}  # slot -> (copies of the tensors, value): see for_weight
        self.set_gradient("ste")

    def set_gradient(self, mode: str, half_window: int = 8, code_quirk: bool = False) -> None:
        tables = [operand_gradient_tables(lut.table, lut.signed, mode, half_window, code_quirk)
                  for lut in self.mults.luts]  # validates mode / half_window first
        self.gradient = mode
        # (dP/da, dP/db) of each product side by side, the layout lut_backward reads
        self.grad_ab = np.ascontiguousarray(np.stack([np.stack(t, -1) for t in tables]).reshape(-1))

    def quant(self, x: torch.Tensor, scale: torch.Tensor, grad: bool):
        """(integer values, raw codes, straight-through mask) of x; without `grad` only the codes
        are needed (values and mask are None) and a float32 tensor on the CPU with one scale
        takes a single fused pass."""
        if not grad and x.dtype == torch.float32 and x.device.type == "cpu" and scale.numel() == 1:
            c = torch.empty(x.shape, dtype=torch.int32)
            quantize_codes(x.detach().contiguous().numpy().reshape(-1), np.float32(scale.item()),
                           self.bits, self.signed, c.numpy().reshape(-1))
            return None, c, None
        q = quantize(x, scale, self.bits, self.signed)
        mask = (x.abs() <= scale * qmax(self.bits, self.signed)).to(x.dtype) if grad else None
        return q, codes(q, self.bits, self.signed), mask

    def quant_weight(self, w: torch.Tensor, scale: torch.Tensor, grad: bool):
        """quant() of a weight, reused while the weight and its scale keep their values: at eval
        time the weights are not requantized every call."""
        return self.for_weight(("codes", grad), (w, scale), lambda: self.quant(w, scale, grad))

    def for_weight(self, slot, tensors: tuple, compute):
        """compute(), cached per slot while `tensors` hold the values they had: only where the
        first is a parameter (or a view of one), and checked by value with a copy kept, since an
        in-place write through ``.data`` does not move a tensor's version counter."""
        w = tensors[0]
        if not (isinstance(w, nn.Parameter) or isinstance(w._base, nn.Parameter)):
            return compute()
        hit = self._cache.get(slot)
        if hit is not None and all(a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
                                   and torch.equal(a, b) for a, b in zip(hit[0], tensors)):
            return hit[1]
        value = compute()
        self._cache[slot] = (tuple(t.detach().clone() for t in tensors), value)
        return value

    def b_offsets(self, cb: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        """Flat gradient-table offsets of the b side: lut * S^2 + b_code * 1 (a adds a_code * S)."""
        off = cb.to(torch.int64)
        return off if index is None else off + index.to(torch.int64) * (self.side * self.side)

    def gather_backward(self, ca: torch.Tensor, boff: torch.Tensor, gp: torch.Tensor):
        """dL/dqa[m,k] = Σ_n gp[m,n] Ga[a,b], dL/dqb[k,n] = Σ_m gp[m,n] Gb[a,b] (a: M x K codes).

        Runs on the host (numba); tensors on another device are copied there and back."""
        M, K = ca.shape
        N = boff.shape[1]
        grad_a, grad_b = np.empty((M, K)), np.zeros((K, N))
        lut_backward(np.ascontiguousarray(ca.cpu().numpy()), np.ascontiguousarray(boff.cpu().numpy()),
                     self.grad_ab, np.int64(self.side),
                     np.ascontiguousarray(gp.detach().cpu().numpy(), dtype=np.float64), grad_a, grad_b)
        like = dict(dtype=gp.dtype, device=gp.device)
        return torch.from_numpy(grad_a).to(**like), torch.from_numpy(grad_b).to(**like)


FP32_EXACT = 2**24  # integers below this are exact in float32


def _dequant(c: torch.Tensor, scale: torch.Tensor, dtype, bound: int) -> torch.Tensor:
    """C * scale rounded once to dtype. bound: a bound on |C|. In float32 the product of C and
    a float32 scale is correctly rounded, and so is the (exact, < 2^48) float64 product cast to
    float32: the same bits, without two float64 passes."""
    if dtype == torch.float32 and scale.dtype == torch.float32 and bound < FP32_EXACT:
        return torch.mul(c, scale)  # int -> float32 inside the multiply: one pass
    return (c.to(torch.float64) * scale.to(torch.float64)).to(dtype)


def _nones(ctx) -> tuple:
    """No gradient for the inputs after the two operands (grad is optional)."""
    return (None,) * (len(ctx.needs_input_grad) - 2)


def needs_grad(*xs: torch.Tensor) -> bool:
    """Whether the call builds a graph, the Functions' `grad` argument (decided outside them:
    inside forward grad mode is always off, and needs_input_grad is set under torch.no_grad
    too, which is what they fall back on without it)."""
    return torch.is_grad_enabled() and any(x.requires_grad for x in xs)


class LutMatmul(torch.autograd.Function):
    """y = dequant(Σ_k LUT[code(a[m,k]), code(b[k,n])]); a (M, K), b (K, N); sb scalar or (N,)."""

    @staticmethod
    def forward(ctx, a, b, sa, sb, op: LutOp, grad: bool | None = None):
        grad = any(ctx.needs_input_grad[:2]) if grad is None else grad
        qa, ca, ma = op.quant(a, sa, grad)
        qb, cb, mb = op.quant_weight(b, sb, grad)
        c = lut_matmul(ca, cb, op.emu, op.index)
        if grad:
            ctx.save_for_backward(qa, qb, ca, cb, ma, mb, sa, sb)
        ctx.op = op
        return _dequant(c, sa * sb, a.dtype, a.shape[1] * op.emu.maxabs)

    @staticmethod
    def backward(ctx, g):
        qa, qb, ca, cb, ma, mb, sa, sb = ctx.saved_tensors
        op = ctx.op
        gp = g * (sa * sb)  # dL/dC
        if op.gradient == "ste":
            grad_qa, grad_qb = gp @ qb.T, qa.T @ gp
        else:
            grad_qa, grad_qb = op.gather_backward(ca, op.b_offsets(cb, op.index), gp)
        return (grad_qa / sa * ma, grad_qb / sb * mb) + _nones(ctx)


class LutConv2d(torch.autograd.Function):
    """Convolution whose every product is a LUT entry; x per-tensor scale sx, w per-filter sw."""

    @staticmethod
    def forward(ctx, x, w, sx, sw, op: LutOp, geometry, grad: bool | None = None):
        grad = any(ctx.needs_input_grad[:2]) if grad is None else grad
        stride, padding, dilation, groups = geometry
        qx, cx, mx = op.quant(x, sx, grad)
        qw, cw, mw = op.quant_weight(w, sw.view(-1, 1, 1, 1), grad)
        c = lut_conv2d(cx, cw, op.emu, stride, padding, dilation, groups, lut_index=op.index)
        if grad:
            ctx.save_for_backward(qx, qw, cx, cw, mx, mw, sx, sw)
        ctx.op, ctx.geometry = op, geometry
        return _dequant(c, sx * sw.view(1, -1, 1, 1), x.dtype, w[0].numel() * op.emu.maxabs)

    @staticmethod
    def backward(ctx, g):
        qx, qw, cx, cw, mx, mw, sx, sw = ctx.saved_tensors
        op = ctx.op
        stride, padding, dilation, groups = ctx.geometry
        gp = g * (sx * sw.view(1, -1, 1, 1))  # dL/dC
        if op.gradient == "ste":
            grad_qx = conv2d_input(qx.shape, qw, gp, stride, padding, dilation, groups)
            grad_qw = conv2d_weight(qx, qw.shape, gp, stride, padding, dilation, groups)
        else:
            grad_qx, grad_qw = _conv_gather_backward(op, cx, cw, gp, ctx.geometry)
        return (grad_qx / sx * mx, grad_qw / sw.view(-1, 1, 1, 1) * mw) + _nones(ctx)


def _im2col_codes(cx: torch.Tensor, kernel, stride, padding, dilation) -> torch.Tensor:
    """(B, C*KH*KW, L) windows of integer codes as strided views (zero padding = code 0)."""
    (KH, KW), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    x = F.pad(cx, (pw, pw, ph, ph))
    win = x.unfold(2, dh * (KH - 1) + 1, sh).unfold(3, dw * (KW - 1) + 1, sw)[..., ::dh, ::dw]
    B, C, OH, OW = win.shape[:4]
    return win.permute(0, 1, 4, 5, 2, 3).reshape(B, C * KH * KW, OH * OW)


def _conv_gather_backward(op: LutOp, cx, cw, gp, geometry):
    """LUT-difference backward of a convolution: im2col of the codes, gather per group, col2im."""
    stride, padding, dilation, groups = geometry
    O, Cg, KH, KW = cw.shape
    B, C, H, W = cx.shape
    Og, Kg = O // groups, Cg * KH * KW
    cols = _im2col_codes(cx, (KH, KW), stride, padding, dilation)
    L = cols.shape[-1]
    index = None
    if op.index is not None:
        index = torch.from_numpy(np.ascontiguousarray(expand_conv_index(op.index.numpy(), cw.shape)))
    grad_cols = gp.new_empty(B, C * KH * KW, L)
    grad_w = gp.new_empty(cw.shape)
    for gi in range(groups):
        osl, ksl = slice(gi * Og, (gi + 1) * Og), slice(gi * Kg, (gi + 1) * Kg)
        a = cols[:, ksl, :].transpose(1, 2).reshape(B * L, Kg)
        bcodes = cw[osl].reshape(Og, Kg).T
        bidx = None if index is None else index[osl].reshape(Og, Kg).T
        g2 = gp[:, osl].reshape(B, Og, L).transpose(1, 2).reshape(B * L, Og)
        ga, gb = op.gather_backward(a, op.b_offsets(bcodes, bidx), g2)
        grad_cols[:, ksl, :] = ga.reshape(B, L, Kg).transpose(1, 2)
        grad_w[osl] = gb.T.reshape(Og, Cg, KH, KW)
    grad_x = F.fold(grad_cols, (H, W), (KH, KW), dilation, padding, stride)
    return grad_x, grad_w
