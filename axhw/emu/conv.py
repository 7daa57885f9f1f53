"""LUT conv2d by implicit GEMM: the GEMM's A operand is read straight out of the input window
(no im2col buffer), K runs over (input channel of the group, ky, kx), N over output channels."""

from __future__ import annotations

import numpy as np

from ..infra.errors import AxhwError
from . import arrays
from .gemm import choose_backend, cuda_module
from .luts import check_codes, check_index, flat_offsets, prepare_luts


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


def lut_conv2d(x, w, lut, stride=1, padding=0, dilation=1, groups: int = 1, *, lut_index=None,
               pad_code: int = 0, backend: str | None = None):
    """2-D convolution (cross-correlation, like torch) where every product is ``lut[x, w]``.

    x: N x C x H x W raw codes (LUT rows), w: O x C/groups x kh x kw raw codes (LUT columns).
    Padded positions read the code ``pad_code`` (default 0): the raw code of the value zero,
    which is 0 for plain signed/unsigned codes; quantized inputs with a zero point must pass
    that zero point's code. Note the padded product is ``lut[pad_code, w]``, which need not be
    0 for an approximate design, exactly as in hardware fed with zeros.
    lut_index: None, (O,) per filter, (O, C/g) per kernel or (O, C/g, kh, kw) per weight.
    Output N x O x OH x OW, dtype as :func:`lut_matmul` (K = C/g * kh * kw).
    """
    luts = prepare_luts(lut)
    xshape, wshape = arrays.shape_of(x), arrays.shape_of(w)
    s, p, d, OH, OW = conv_geometry(xshape, wshape, stride, padding, dilation, groups)
    if not isinstance(pad_code, (int, np.integer)) or not 0 <= pad_code < luts.size_a:
        raise AxhwError(f"lut_conv2d: pad_code={pad_code!r} is not a {luts.bits_a}-bit raw code")
    if lut_index is None and luts.count != 1:
        raise AxhwError(f"lut_conv2d: a stack of {luts.count} LUTs needs lut_index")
    arrays.require_int("x", x)
    arrays.require_int("w", w)
    if lut_index is not None:
        arrays.require_int("lut_index", lut_index)
    kind = arrays.kind_of(x, w)
    like = x if arrays.is_torch(x) else w
    K = wshape[1] * wshape[2] * wshape[3]
    geometry = (s, p, d, int(groups), int(pad_code), OH, OW)
    if luts.forms is not None and backend is None and kind != "device" and (
            lut_index is None or (groups == 1 and arrays.shape_of(lut_index) == wshape[:1])):
        from .bitlinear import stack_conv2d

        return stack_conv2d(x, w, luts, lut_index, s, p, d, int(groups), int(pad_code))
    if choose_backend(backend, x, w, lut_index) == "cuda":
        out = cuda_module().lut_conv2d(x, w, luts, lut_index, geometry)
        return arrays.wrap_device(out, kind, like)
    from . import cpu

    xh, wh = arrays.to_host(x), arrays.to_host(w)
    check_codes("x", xh, luts.bits_a)
    check_codes("w", wh, luts.bits_b)
    index = None
    if lut_index is not None:
        index = expand_conv_index(arrays.to_host(lut_index), wshape)
        check_index("lut_index", index, luts.count)
    woff = flat_offsets(wh, index, luts)
    out = np.zeros((xshape[0], wshape[0], OH, OW), dtype=luts.acc_dtype(K))
    cpu.conv2d(np.ascontiguousarray(xh, dtype=np.int32), woff, luts.table, np.int64(luts.size_b),
               s, p, d, int(groups), int(pad_code), out)
    return arrays.from_host(out, kind, like)
