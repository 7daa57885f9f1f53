"""numba-cuda kernels: one tiled implicit-GEMM kernel serves lut_matmul and lut_conv2d.

Each block computes a TM x TN output tile; per K step it stages TK table-row offsets of the A
operand (``code * 2^bits_b``) and TK table-column offsets of B (``lut * 2^(ba+bb) + code``) in
shared memory (coalesced loads), then every thread adds RM x RN table entries into int32
registers (int64 where K * max|lut| could overflow int32). The LUT (or stack) is copied into
dynamic shared memory in the narrowest integer type that holds it (8x8-bit products: 16 bits,
128 KiB) when it fits the device's opt-in shared memory; a per-filter stack that does not fit
runs one launch per LUT over its own filters (``cols``); anything else reads the table from
global memory (L1/L2 cached). A matmul is the 1x1 convolution
``x = a[M, K, 1, 1]``, ``w = b.T`` (a strided view, no copy).

Out-of-range codes or LUT indices set a flag that the host turns into an AxhwError; they never
index outside the table.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import config, cuda, int16, int32, int64, uint16, uint32

from ..infra.errors import AxhwError
from . import arrays
from .luts import LutStack

__all__ = ["RM", "RN", "STATIC_SMEM", "THREADS", "TK", "TM", "TMP", "TN", "TNP", "TX", "TY",
           "lut_conv2d", "lut_matmul"]

TM, TN, TK = 128, 64, 16  # output tile and K step
TX, TY = 16, 32  # threads per block: x along N, y along M
RM, RN = TM // TY, TN // TX  # outputs per thread (4 x 4)
THREADS = TX * TY
TMP, TNP = TM + 1, TN + 1  # padded tile rows: transposed stores hit distinct banks
STATIC_SMEM = 4 * TK * (TMP + TNP)  # the two offset tiles (int32)


@functools.cache
def _kernels(acc_type):
    """(tile device function, global-table kernel) accumulating in acc_type (int32 where the
    K * max|lut| bound allows: half the register traffic of int64)."""

    @cuda.jit(device=True)
    def _igemm_tile(tab, x, w, idx, cols, geo, out, flag):
        """One output tile of ``out[n, g*Og + o, oy, ox] = Σ_k tab[A(m, k) + B(k, o)]``.

        cols: empty (all filters) or the filters this launch computes (groups == 1 only).

        geo = (size_a, size_b, lut_stride, n_luts, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
        KH, KW, pad_code), a tuple of int64.
        """
        As = cuda.shared.array((TK, TMP), int32)
        Bs = cuda.shared.array((TK, TNP), int32)
        size_a, size_b, lut_stride, n_luts = geo[0], geo[1], geo[2], geo[3]
        sh, sw, ph, pw, dh, dw, KH, KW, pad_code = (geo[4], geo[5], geo[6], geo[7], geo[8], geo[9],
                                                    geo[10], geo[11], geo[12])
        Nb, C, H, W = x.shape
        O = w.shape[0]
        K = w.shape[1]
        OH, OW = out.shape[2], out.shape[3]
        g = cuda.blockIdx.z
        Og = O // cuda.gridDim.z
        ncols = cols.shape[0]
        Ob = ncols if ncols > 0 else Og  # filters of this launch (per group)
        Cg = C // cuda.gridDim.z
        M = Nb * OH * OW
        KHW = KH * KW
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        tid = ty * TX + tx
        m0 = cuda.blockIdx.x * TM
        n0 = cuda.blockIdx.y * TN
        acc = cuda.local.array((RM, RN), acc_type)
        for i in range(RM):
            for j in range(RN):
                acc[i, j] = 0
        ao = cuda.local.array(RM, int32)
        bo = cuda.local.array(RN, int32)
        for k0 in range(0, K, TK):
            for e in range(tid, TM * TK, THREADS):  # A tile: m fast within a K row
                mm = e % TM
                kk = e // TM
                m = m0 + mm
                k = k0 + kk
                v = 0
                if m < M and k < K:
                    nb = m // (OH * OW)
                    r = m % (OH * OW)
                    c = k // KHW
                    q = k % KHW
                    iy = (r // OW) * sh - ph + (q // KW) * dh
                    ix = (r % OW) * sw - pw + (q % KW) * dw
                    code = pad_code
                    if 0 <= iy < H and 0 <= ix < W:
                        code = x[nb, g * Cg + c, iy, ix]
                    if code < 0 or code >= size_a:
                        flag[0] = 1
                        code = 0
                    v = code * size_b
                As[kk, mm] = v
            for e in range(tid, TN * TK, THREADS):  # B tile: k fast (weights are O x K rows)
                kk = e % TK
                nn = e // TK
                k = k0 + kk
                o = n0 + nn
                v = 0
                if k < K and o < Ob:
                    of = cols[o] if ncols > 0 else g * Og + o  # global filter index
                    code = w[of, k]
                    if code < 0 or code >= size_b:
                        flag[0] = 1
                        code = 0
                    d1 = idx.shape[1]  # 1: per filter/column, K: per weight, C/g: per kernel
                    sel = idx[of if idx.shape[0] > 1 else 0,
                              0 if d1 == 1 else (k if d1 == K else k // KHW)]
                    if sel < 0 or sel >= n_luts:
                        flag[0] = 1
                        sel = 0
                    v = sel * lut_stride + code
                Bs[kk, nn] = v
            cuda.syncthreads()
            kmax = min(TK, K - k0)  # rows past K must add nothing (lut[0, 0] need not be 0)
            for kk in range(kmax):
                for i in range(RM):
                    ao[i] = As[kk, ty + TY * i]
                for j in range(RN):
                    bo[j] = Bs[kk, tx + TX * j]
                for i in range(RM):
                    for j in range(RN):
                        # unsigned index: no negative-index wraparound code in the hot loop
                        acc[i, j] += tab[uint32(ao[i] + bo[j])]
            cuda.syncthreads()
        for i in range(RM):
            m = m0 + ty + TY * i
            if m < M:
                nb = m // (OH * OW)
                r = m % (OH * OW)
                for j in range(RN):
                    o = n0 + tx + TX * j
                    if o < Ob:
                        of = cols[o] if ncols > 0 else g * Og + o
                        out[nb, of, r // OW, r % OW] = acc[i, j]

    @cuda.jit
    def global_kernel(table, x, w, idx, cols, geo, out, flag):
        _igemm_tile(table, x, w, idx, cols, geo, out, flag)

    return _igemm_tile, global_kernel


@functools.cache
def _shared_kernel(smem_type, acc_type):
    """Kernel variant that first copies the table into dynamic shared memory of smem_type."""
    tile = _kernels(acc_type)[0]

    @cuda.jit
    def kernel(table, x, w, idx, cols, geo, out, flag):
        tab = cuda.shared.array(0, smem_type)
        tid = cuda.threadIdx.y * TX + cuda.threadIdx.x
        for e in range(tid, table.shape[0], THREADS):
            tab[e] = table[e]
        cuda.syncthreads()
        tile(tab, x, w, idx, cols, geo, out, flag)

    return kernel


def _smem_type(table: np.ndarray):
    lo, hi = int(table.min()), int(table.max())
    if -(2**15) <= lo and hi < 2**15:
        return int16, 2
    if lo >= 0 and hi < 2**16:
        return uint16, 2
    if table.dtype == np.int32:
        return int32, 4
    return None, 8


def _smem_budget() -> int:
    if config.ENABLE_CUDASIM:
        return 227 * 1024 - STATIC_SMEM
    dev = cuda.get_current_device()
    try:
        limit = int(dev.MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)
    except Exception:  # attribute missing in this driver binding: stay within the default
        limit = 48 * 1024
    return limit - STATIC_SMEM


def _opt_in_smem(kernel, args, nbytes: int) -> bool:
    """Allow > 48 KiB dynamic shared memory for this specialization (CUDA needs an opt-in)."""
    if config.ENABLE_CUDASIM or nbytes + STATIC_SMEM <= 48 * 1024:
        return True
    try:
        from cuda.bindings import driver as binding
        from numba.cuda.cudadrv.driver import driver

        cufunc = kernel._compile_for_args(*args)._codelibrary.get_cufunc()
        attr = binding.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
        driver.cuKernelSetAttribute(attr, nbytes, cufunc.handle, cufunc.device.id)
        return True
    except Exception:  # older numba-cuda internals: fall back to the global-memory table
        return False


def _device(x):
    """A numba device array view of a GPU array (zero copy), or an upload of a host array."""
    if arrays.is_torch(x) and x.device.type == "cuda":
        return cuda.as_cuda_array(x.detach())
    if arrays.on_gpu(x):
        return cuda.as_cuda_array(x)
    return cuda.to_device(np.ascontiguousarray(arrays.to_host(x)))


class _TransposedView:
    """The transpose of a 2-D GPU array as a zero-copy ``__cuda_array_interface__`` view
    (numba's ``DeviceNDArray.T`` compiles and launches a copy kernel on every call: 75 ms of an
    80 ms 12608x384x1152 LUT GEMM on an H200)."""

    def __init__(self, x):
        iface = dict(x.__cuda_array_interface__)
        rows, cols = iface["shape"]
        item = np.dtype(iface["typestr"]).itemsize
        s0, s1 = iface.get("strides") or (cols * item, item)
        iface.update(shape=(cols, rows), strides=(s1, s0))
        self.__cuda_array_interface__ = iface
        self.base = x  # keeps the memory alive


def _device_t(x):
    """A numba device array of x.T (2-D): a view for GPU arrays, one upload for host arrays."""
    if arrays.is_torch(x) and x.device.type == "cuda":
        return cuda.as_cuda_array(x.detach().t())
    if arrays.on_gpu(x) and not config.ENABLE_CUDASIM:
        return cuda.as_cuda_array(_TransposedView(x))
    return cuda.to_device(np.ascontiguousarray(arrays.to_host(x).T))


def _zeros(shape, dtype):
    """A zeroed device array; from torch's caching allocator when torch has CUDA (numba's own
    cuMemAlloc/cuMemFree per call would synchronize the device)."""
    if not config.ENABLE_CUDASIM:
        try:
            import torch

            if torch.cuda.is_available():
                tdtype = getattr(torch, np.dtype(dtype).name)
                return cuda.as_cuda_array(torch.zeros(shape, dtype=tdtype, device="cuda"))
        except ImportError:
            pass
    return cuda.to_device(np.zeros(shape, dtype))


def _launch(luts: LutStack, x, w, idx, geo, out_shape, acc_dtype, groups: int):
    if luts.table.size > 2**31 - 1:  # the kernel's table offsets are int32
        raise AxhwError(f"LUT stack of {luts.table.size} entries is too large for the CUDA kernel")
    out = _zeros(out_shape, acc_dtype)
    flag = _zeros((1,), np.int32)
    geo = tuple(int(g) for g in geo)  # a UniTuple(int64) kernel argument: no device copy
    if not _fits_shared(luts) and luts.count > 1 and idx.shape == (out_shape[1], 1) \
            and groups == 1 and _fits_shared(luts.single(0)):
        # Per-filter LUTs that do not fit shared memory together: one launch per LUT over its
        # own filters, each with its table in shared memory.
        sel = idx.copy_to_host()[:, 0]
        for lut in np.unique(sel):
            cols = cuda.to_device(np.flatnonzero(sel == lut).astype(np.int32))
            _run(luts.single(int(lut)), x, w, _zeros((1, 1), np.int32), cols, geo, out, flag, 1)
    else:
        _run(luts, x, w, idx, _zeros((0,), np.int32), geo, out, flag, groups)
    if int(flag.copy_to_host()[0]):
        raise AxhwError(f"operand codes outside 0..{luts.size_a - 1} / 0..{luts.size_b - 1} or a "
                        f"lut_index outside 0..{luts.count - 1}")
    return out


def _fits_shared(luts: LutStack) -> bool:
    smem_type, item = _smem_type(luts.table)
    return smem_type is not None and luts.table.size * item <= _smem_budget()


def _run(luts: LutStack, x, w, idx, cols, geo, out, flag, groups: int):
    """One launch over all filters (cols empty) or the filters in cols."""
    M = out.shape[0] * out.shape[2] * out.shape[3]
    Ob = cols.shape[0] or out.shape[1] // groups
    grid = ((M + TM - 1) // TM, (Ob + TN - 1) // TN, groups)
    args = (luts.device_table(), x, w, idx, cols, geo, out, flag)
    acc_type = int32 if out.dtype == np.int32 else int64
    kernel, dyn = _kernels(acc_type)[1], 0
    if _fits_shared(luts):
        smem_type, item = _smem_type(luts.table)
        shared = _shared_kernel(smem_type, acc_type)
        if _opt_in_smem(shared, args, luts.table.size * item):
            kernel, dyn = shared, luts.table.size * item
    if M and Ob:
        kernel[grid, (TX, TY), 0, dyn](*args)


def _index2(lut_index, shape2, transpose: bool = False):
    """lut_index as an int device view of shape2 (size-1 dims broadcast, see _igemm_tile)."""
    if lut_index is None:
        return _zeros((1, 1), np.int32)
    if transpose:  # already shaped (K, N)
        return _device_t(lut_index)
    if arrays.on_gpu(lut_index) or arrays.is_torch(lut_index):
        return _device(lut_index).reshape(shape2)
    return cuda.to_device(np.ascontiguousarray(np.asarray(lut_index).reshape(shape2)))


def _geo(luts: LutStack, stride, padding, dilation, KH, KW, pad_code):
    return (luts.size_a, luts.size_b, luts.size_a * luts.size_b, luts.count, *stride, *padding,
            *dilation, KH, KW, pad_code)


def lut_matmul(a, b, luts: LutStack, lut_index, M: int, K: int, N: int):
    """a (..., K) -> x (M, K, 1, 1); b (K, N) -> w = b.T (N, K); index (N,) -> (N, 1) or
    (K, N) -> its transpose (N, K)."""
    x = _device(a).reshape(M, K, 1, 1)
    w = _device_t(b)
    if lut_index is not None and arrays.shape_of(lut_index) == (K, N):
        idx = _index2(lut_index, (K, N), transpose=True)
    else:
        idx = _index2(lut_index, (N, 1))
    geo = _geo(luts, (1, 1), (0, 0), (1, 1), 1, 1, 0)
    return _launch(luts, x, w, idx, geo, (M, N, 1, 1), luts.acc_dtype(K), 1).reshape(M, N)


def lut_conv2d(x, w, luts: LutStack, lut_index, geometry):
    """x N x C x H x W, w O x C/g x kh x kw; index (O,), (O, C/g) or (O, C/g, kh, kw)."""
    (stride, padding, dilation, groups, pad_code, OH, OW) = geometry
    xd, wd = _device(x), _device(w)
    O, Cg, KH, KW = wd.shape
    K = Cg * KH * KW
    wd = wd.reshape(O, K)
    if lut_index is None:
        idx = _index2(None, None)
    else:
        ishape = arrays.shape_of(lut_index)
        if ishape not in ((O,), (O, Cg), (O, Cg, KH, KW)):
            raise AxhwError(f"lut_conv2d: lut_index shape {ishape} must be ({O},) per filter, "
                            f"({O}, {Cg}) per kernel or {(O, Cg, KH, KW)} per weight")
        idx = _index2(lut_index, {1: (O, 1), 2: (O, Cg), 4: (O, K)}[len(ishape)])
    geo = _geo(luts, stride, padding, dilation, KH, KW, pad_code)
    return _launch(luts, xd, wd, idx, geo, (xd.shape[0], O, OH, OW), luts.acc_dtype(K), groups)
