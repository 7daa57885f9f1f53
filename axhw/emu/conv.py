"""LUT conv2d by implicit GEMM: the GEMM's A operand is read straight out of the input window
(no im2col buffer), K runs over (input channel of the group, ky, kx), N over output channels."""

from __future__ import annotations

import numpy as np

from ..infra.errors import AxhwError
from . import arrays, cpu
from .backends import choose_backend, cuda_module
from .bitlinear import stack_conv2d
from .geometry import conv_geometry, expand_conv_index
from .luts import LutStack, check_codes, check_index, flat_offsets, prepare_luts
from .tuning import fastest

__all__ = ["expand_conv_index", "lut_conv2d"]

TAPS_MIN_FILTERS = 8  # fewer filters per group (depthwise): conv2d_rows gathers along rows


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
    where = choose_backend(backend, x, w, lut_index)

    def lut_kernels():
        if where == "cuda":
            out = cuda_module().lut_conv2d(x, w, luts, lut_index, geometry)
            return arrays.wrap_device(out, kind, like)
        xh, wh = arrays.to_host(x), arrays.to_host(w)
        check_codes("x", xh, luts.bits_a)
        check_codes("w", wh, luts.bits_b)
        index = None
        if lut_index is not None:
            index = expand_conv_index(arrays.to_host(lut_index), wshape)
            check_index("lut_index", index, luts.count)
        out = conv_host(np.ascontiguousarray(xh, dtype=np.int32), flat_offsets(wh, index, luts),
                        luts, s, p, d, int(groups), int(pad_code), (OH, OW))
        return arrays.from_host(out, kind, like)

    if luts.forms is not None and backend is None and kind != "device" and (
            lut_index is None or (groups == 1 and arrays.shape_of(lut_index) == wshape[:1])):
        # bit-linear LUTs: dense GEMMs, same result; on the CPU only where measured faster
        dense = {"bit-linear": lambda: stack_conv2d(x, w, luts, lut_index, s, p, d, int(groups),
                                                    int(pad_code))}
        if where == "cpu":
            dense["lut"] = lut_kernels
        key = ("lut_conv2d", xshape, wshape, geometry, lut_index is None, luts.form_key())
        return fastest(key, dense, xshape[0] * wshape[0] * OH * OW * K)
    return lut_kernels()


def conv_host(x: np.ndarray, woff: np.ndarray, luts: LutStack, stride, padding, dilation,
              groups: int, pad_code: int, out_hw) -> np.ndarray:
    """CPU backend: x int32 codes (N, C, H, W), woff B-side offsets (O, C/g, kh, kw)."""
    O, Cg, KH, KW = woff.shape
    shape = (x.shape[0], O, *out_hw)
    acc = luts.acc_dtype(Cg * KH * KW)
    if O // groups >= TAPS_MIN_FILTERS:
        # (g, K, O/g): a tap's filters contiguous, the gathered run of conv2d_taps
        woff_t = np.ascontiguousarray(woff.reshape(groups, O // groups, -1).transpose(0, 2, 1))
        out = np.empty(shape, dtype=acc)
        cpu.conv2d_taps(x, woff_t, (KH, KW), luts.table, np.int64(luts.size_b), luts.zero_rows(),
                        stride, padding, dilation, pad_code, out)
        return out
    out = np.zeros(shape, dtype=acc)
    cpu.conv2d_rows(x, woff, luts.table, np.int64(luts.size_b), stride, padding, dilation, groups,
                    pad_code, out)
    return out
