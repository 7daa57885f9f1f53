"""Convolution geometry shared by the LUT and bit-linear convolutions: validated stride,
padding, dilation and output size, and the per-filter/kernel/weight LUT index expansion."""

from __future__ import annotations

import numpy as np

from ..infra.errors import AxhwError

__all__ = ["conv_geometry", "expand_conv_index"]


def _pair(name: str, v, lo: int) -> tuple[int, int]:
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or any(not isinstance(e, (int, np.integer)) or e < lo for e in t):
        raise AxhwError(f"lut_conv2d: {name} must be an int or a pair of ints >= {lo}, got {v!r}")
    return int(t[0]), int(t[1])


def conv_geometry(xshape, wshape, stride, padding, dilation, groups):
    """Validated (stride, padding, dilation, output H, W) for NCHW input and OIHW weights."""
    if len(xshape) != 4 or len(wshape) != 4:
        raise AxhwError(f"lut_conv2d: x must be N x C x H x W and w O x C/g x kh x kw, "
                        f"got {xshape} and {wshape}")
    s, p = _pair("stride", stride, 1), _pair("padding", padding, 0)
    d = _pair("dilation", dilation, 1)
    N, C, H, W = xshape
    O, Cg, KH, KW = wshape
    if not isinstance(groups, (int, np.integer)) or groups < 1 or C % groups or O % groups:
        raise AxhwError(f"lut_conv2d: groups={groups} must divide in-channels {C} and "
                        f"out-channels {O}")
    if Cg != C // groups:
        raise AxhwError(f"lut_conv2d: weights have {Cg} input channels per group, "
                        f"expected {C // groups} (C={C}, groups={groups})")
    OH = (H + 2 * p[0] - d[0] * (KH - 1) - 1) // s[0] + 1
    OW = (W + 2 * p[1] - d[1] * (KW - 1) - 1) // s[1] + 1
    if OH < 1 or OW < 1:
        raise AxhwError(f"lut_conv2d: kernel {KH}x{KW} (dilation {d}) does not fit the padded "
                        f"{H}x{W} input")
    return s, p, d, OH, OW


def expand_conv_index(index: np.ndarray, wshape) -> np.ndarray:
    """Per-filter (O,), per-kernel (O, C/g) or per-weight (O, C/g, kh, kw) -> (O, C/g, kh, kw)."""
    O, Cg, KH, KW = wshape
    if index.shape == (O,):
        index = index[:, None, None, None]
    elif index.shape == (O, Cg):
        index = index[:, :, None, None]
    elif index.shape != (O, Cg, KH, KW):
        raise AxhwError(f"lut_conv2d: lut_index shape {index.shape} must be ({O},) per filter, "
                        f"({O}, {Cg}) per kernel or {tuple(wshape)} per weight")
    return np.broadcast_to(index, wshape)
