"""numba CPU kernels. Same arithmetic as the CUDA kernels: every output is the integer sum of
table entries, so results agree bit-for-bit.

Hot loop of every kernel: for one A-side code (one LUT row, L1-resident) add the table entries
at a contiguous run of B-side offsets into a contiguous run of accumulators,
``acc[j] += row[boff[j]]``. :func:`gather_add` emits that as hardware vector gathers
(``llvm.masked.gather``, 16 lanes): LLVM's cost model never vectorizes the loop by itself, and the
scalar loop is limited to about one look-up per cycle (benchmarks/emu_cpu.py measures both).
A-side codes whose row is 0 in every LUT (post-ReLU zeros, zero padding) are skipped.

The gathers need int32 tables, accumulators and offsets (every 8x8-bit design); int64 ones run
the same kernels with a scalar loop.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic, overload

__all__ = ["conv2d_rows", "conv2d_taps", "gather_add", "gather_rate", "gemm"]

LANES = 16  # vector gather width (2 x 8 lanes on AVX2, 16 on AVX-512)
ROWS = 8  # GEMM rows (conv: output pixels) sharing one pass over a run of B offsets
COLS = 256  # GEMM columns (conv: filters) per task: accumulators and offsets stay in L1
FILTERS = 8  # scalar conv: filters sharing one pass over an output row's input codes


@intrinsic
def _gather16(typingctx, acc, ai, table, base, offs, oi):
    """acc[ai:ai+16] += table[base + offs[oi:oi+16]] with one vector gather (int32 arrays; the
    caller guarantees every index is in range)."""
    sig = types.void(acc, types.intp, table, types.intp, offs, types.intp)

    def codegen(context, builder, signature, args):
        acc_a, ai, table_a, base, offs_a, oi = args
        acc_ = context.make_array(signature.args[0])(context, builder, acc_a)
        tab = context.make_array(signature.args[2])(context, builder, table_a)
        off = context.make_array(signature.args[4])(context, builder, offs_a)
        i1, i32, i64 = ir.IntType(1), ir.IntType(32), ir.IntType(64)
        v32, v64 = ir.VectorType(i32, LANES), ir.VectorType(i64, LANES)
        idx = builder.load(builder.bitcast(builder.gep(off.data, [oi]), v32.as_pointer()), align=4)
        start = builder.ptrtoint(builder.gep(tab.data, [base]), i64)
        splat = builder.insert_element(ir.Constant(v64, ir.Undefined), start, ir.Constant(i32, 0))
        splat = builder.shuffle_vector(splat, ir.Constant(v64, ir.Undefined),
                                       ir.Constant(ir.VectorType(i32, LANES), [0] * LANES))
        addr = builder.add(splat, builder.shl(builder.zext(idx, v64),
                                              ir.Constant(v64, [2] * LANES)))
        ptrs = builder.inttoptr(addr, ir.VectorType(i32.as_pointer(), LANES))
        fnty = ir.FunctionType(v32, [ptrs.type, i32, ir.VectorType(i1, LANES), v32])
        name = f"llvm.masked.gather.v{LANES}i32.v{LANES}p0"
        fn = builder.module.globals.get(name) or ir.Function(builder.module, fnty, name)
        got = builder.call(fn, [ptrs, ir.Constant(i32, 4), ir.Constant(ir.VectorType(i1, LANES),
                                                                       [1] * LANES),
                                ir.Constant(v32, ir.Undefined)])
        dst = builder.bitcast(builder.gep(acc_.data, [ai]), v32.as_pointer())
        builder.store(builder.add(builder.load(dst, align=4), got), dst, align=4)
        return context.get_dummy_value()

    return sig, codegen


def gather_add(acc, ai, table, base, offs, oi, n):
    """acc[ai + j] += table[base + offs[oi + j]] for j < n: vector gathers (16 lanes, scalar
    tail) where acc, table and offs are int32 arrays, a scalar loop otherwise (int64)."""
    for j in range(n):
        acc[ai + j] += table[base + offs[oi + j]]


@overload(gather_add, inline="always")
def _gather_add(acc, ai, table, base, offs, oi, n):
    if all(isinstance(t, types.Array) and t.dtype == types.int32 and t.ndim == 1
           for t in (acc, table, offs)):
        def vector(acc, ai, table, base, offs, oi, n):
            j = 0
            while j + LANES <= n:
                _gather16(acc, ai + j, table, base, offs, oi + j)
                j += LANES
            while j < n:
                acc[ai + j] += table[base + offs[oi + j]]
                j += 1
        return vector

    def scalar(acc, ai, table, base, offs, oi, n):
        for j in range(n):
            acc[ai + j] += table[base + offs[oi + j]]
    return scalar


@numba.njit(parallel=True, cache=True)
def gemm(a, boff, table, size_b, skip, out):
    """out[m, n] = Σ_k table[a[m, k] * size_b + boff[k, n]].

    Tasks own ROWS x COLS output blocks, consecutive tasks the same columns (their B offsets stay
    in L2); each code's row gathers one contiguous run of COLS offsets.
    """
    M, K = a.shape
    N = boff.shape[1]
    flat = boff.reshape(-1)
    nm, nn = (M + ROWS - 1) // ROWS, (N + COLS - 1) // COLS
    for job in prange(nm * nn):
        m0, n0 = (job % nm) * ROWS, (job // nm) * COLS
        rows, cols = min(ROWS, M - m0), min(COLS, N - n0)
        acc = np.zeros(ROWS * COLS, dtype=out.dtype)
        for k in range(K):
            for i in range(rows):
                code = a[m0 + i, k]
                if skip[code]:
                    continue
                gather_add(acc, i * COLS, table, np.intp(code) * size_b, flat, k * N + n0, cols)
        for i in range(rows):
            for j in range(cols):
                out[m0 + i, n0 + j] = acc[i * COLS + j]


@numba.njit(parallel=True, cache=True)
def conv2d_taps(x, woff, kernel, table, size_b, skip, stride, padding, dilation, pad_code, out):
    """Implicit-GEMM convolution: M = output pixels of an image, K = (c, ky, kx) of a group,
    N = the group's filters. woff: groups x K x O/g int32 B offsets (filters contiguous), K in
    (c, ky, kx) order; kernel = (kh, kw).

    Tasks own ROWS output pixels x COLS filters of one image and group; the input code of each
    (pixel, tap) is read once and its LUT row gathers the filters' offsets.
    """
    N, C, H, W = x.shape
    G, K, Og = woff.shape
    OH, OW = out.shape[2], out.shape[3]
    Cg = C // G
    KH, KW = kernel
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    flat = woff.reshape(-1)
    P = OH * OW
    npb, nob = (P + ROWS - 1) // ROWS, (Og + COLS - 1) // COLS
    for job in prange(N * G * npb * nob):
        pb = job % npb
        ob = (job // npb) % nob
        g = (job // (npb * nob)) % G
        n = job // (npb * nob * G)
        p0, o0 = pb * ROWS, ob * COLS
        pix, cols = min(ROWS, P - p0), min(COLS, Og - o0)
        acc = np.zeros(ROWS * COLS, dtype=out.dtype)
        iy0 = np.empty(ROWS, dtype=np.intp)
        ix0 = np.empty(ROWS, dtype=np.intp)
        for i in range(pix):
            iy0[i] = ((p0 + i) // OW) * sh - ph
            ix0[i] = ((p0 + i) % OW) * sw - pw
        for c in range(Cg):
            ci = g * Cg + c
            for ky in range(KH):
                for kx in range(KW):
                    woff0 = ((g * K + (c * KH + ky) * KW + kx) * Og) + o0
                    for i in range(pix):
                        iy, ix = iy0[i] + ky * dh, ix0[i] + kx * dw
                        code = pad_code
                        if 0 <= iy < H and 0 <= ix < W:
                            code = x[n, ci, iy, ix]
                        if skip[code]:
                            continue
                        gather_add(acc, i * COLS, table, np.intp(code) * size_b, flat, woff0, cols)
        for j in range(cols):
            o = g * Og + o0 + j
            for i in range(pix):
                out[n, o, (p0 + i) // OW, (p0 + i) % OW] = acc[i * COLS + j]


@numba.njit(parallel=True, cache=True)
def conv2d_rows(x, woff, table, size_b, stride, padding, dilation, groups, pad_code, out):
    """Direct convolution over raw codes, gathering along output rows: no im2col buffer. For
    grouped convolutions with few filters per group (depthwise), where conv2d_taps' runs of
    filters would be too short.

    x: N x C x H x W codes, woff: O x C/g x kh x kw b-side table offsets, out: N x O x OH x OW.
    Each task owns FILTERS filters of one image; each input code read feeds FILTERS look-ups.
    """
    N, C, H, W = x.shape
    O, Cg, KH, KW = woff.shape
    OH, OW = out.shape[2], out.shape[3]
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    Og = O // groups
    nob = (Og + FILTERS - 1) // FILTERS  # filter blocks per group (never spanning two)
    for job in prange(N * groups * nob):
        n = job // (groups * nob)
        g = (job // nob) % groups
        o0 = g * Og + (job % nob) * FILTERS
        o1 = min(o0 + FILTERS, (g + 1) * Og)
        bases = np.empty(OW, dtype=woff.dtype)  # int32 where the gathers apply
        flat = out.reshape(-1)
        for c in range(Cg):
            ci = g * Cg + c
            for ky in range(KH):
                for kx in range(KW):
                    # ox range whose input column is inside the image: no bounds test there.
                    lo_t = pw - kx * dw
                    ox_lo = 0 if lo_t <= 0 else (lo_t + sw - 1) // sw
                    hi_t = W - 1 + pw - kx * dw
                    ox_hi = 0 if hi_t < 0 else min(OW, hi_t // sw + 1)
                    ox_lo = min(ox_lo, ox_hi)
                    pad_base = pad_code * size_b
                    for oy in range(OH):
                        iy = oy * sh - ph + ky * dh
                        # Table-row bases of this output row's inputs, shared by the filters.
                        if 0 <= iy < H:
                            for ox in range(OW):
                                bases[ox] = pad_base
                            for ox in range(ox_lo, ox_hi):
                                bases[ox] = x[n, ci, iy, ox * sw - pw + kx * dw] * size_b
                        else:
                            for ox in range(OW):
                                bases[ox] = pad_base
                        for o in range(o0, o1):
                            gather_add(flat, ((n * O + o) * OH + oy) * OW, table,
                                       np.intp(woff[o, c, ky, kx]), bases, 0, OW)


@numba.njit(cache=True)
def gather_rate(table, offs, acc, reps):
    """The machine's look-up ceiling (benchmarks): acc[j] += row[offs[j]] over one L1-resident
    256-entry row at a time; int32 offsets take the kernels' vector gathers, int64 offsets the
    scalar loop LLVM makes of it."""
    for r in range(reps):
        gather_add(acc, 0, table, np.intp((r * 37) & 255) * 256, offs, 0, offs.shape[0])
