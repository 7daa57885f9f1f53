"""LUT GEMM front end: argument checks, backend choice, dispatch to the numba CPU/CUDA kernels."""

from __future__ import annotations

import numpy as np

from ..infra.errors import AxhwError
from . import arrays, cpu
from .backends import choose_backend, cuda_module
from .bitlinear import stack_matmul
from .luts import LutStack, check_codes, check_index, flat_offsets, prepare_luts
from .tuning import fastest

__all__ = ["lut_matmul", "matmul_host"]


def lut_matmul(a, b, lut, lut_index=None, *, backend: str | None = None):
    """``C[..., n] = Σ_k lut[a[..., k], b[k, n]]`` over raw operand codes, exact integers.

    a: (..., K) raw codes of the first LUT operand (rows of the LUT), b: (K, N) raw codes of the
    second. lut: ``(2^ba, 2^bb)`` table, ``(L, 2^ba, 2^bb)`` stack or a :class:`LutStack`.
    lut_index selects the LUT of a stack: None (single LUT), shape (N,) = one LUT per output
    column (MAx-DNN filter level) or (K, N) = one per element of b (kernel level).
    Result dtype int32 when K * max|lut| < 2^31 (no partial sum can overflow), else int64;
    same array kind as the inputs (numpy, torch on the inputs' device, numba device array).
    backend: "cpu", "cuda" or None (CUDA if inputs live on the GPU or a GPU is present).
    """
    luts = prepare_luts(lut)
    ashape, bshape = arrays.shape_of(a), arrays.shape_of(b)
    if len(ashape) < 1 or len(bshape) != 2:
        raise AxhwError(f"lut_matmul: a must be (..., K) and b (K, N); got {ashape} and {bshape}")
    K, N = bshape
    if ashape[-1] != K:
        raise AxhwError(f"lut_matmul: K mismatch: a has {ashape[-1]} columns, b has {K} rows")
    ishape = None if lut_index is None else arrays.shape_of(lut_index)
    if ishape is None and luts.count != 1:
        raise AxhwError(f"lut_matmul: a stack of {luts.count} LUTs needs lut_index of shape "
                        f"({N},) or ({K}, {N})")
    if ishape is not None:
        arrays.require_int("lut_index", lut_index)
        if ishape not in ((N,), (K, N)):
            raise AxhwError(f"lut_matmul: lut_index shape {ishape} must be ({N},) per output "
                            f"column or ({K}, {N}) per element of b")
    arrays.require_int("a", a)
    arrays.require_int("b", b)
    kind = arrays.kind_of(a, b)
    like = a if arrays.is_torch(a) else b
    lead = ashape[:-1]
    M = int(np.prod(lead, dtype=np.int64))
    where = choose_backend(backend, a, b, lut_index)

    def lut_kernels():
        if where == "cuda":
            out = cuda_module().lut_matmul(a, b, luts, lut_index, M, K, N)
            return arrays.wrap_device(out.reshape(lead + (N,)), kind, like)
        ah, bh = arrays.to_host(a).reshape(M, K), arrays.to_host(b)
        ih = None if lut_index is None else arrays.to_host(lut_index)
        return arrays.from_host(matmul_host(ah, bh, luts, ih).reshape(lead + (N,)), kind, like)

    if luts.forms is not None and backend is None and kind != "device" and (
            ishape is None or len(ishape) == 1):
        # bit-linear LUTs: dense GEMMs, same result; on the CPU only where measured faster
        dense = {"bit-linear": lambda: stack_matmul(a, b, luts, lut_index)}
        if where == "cpu":
            dense["lut"] = lut_kernels
        return fastest(("lut_matmul", M, K, N, ishape, luts.form_key()), dense, M * K * N)
    return lut_kernels()


def matmul_host(a: np.ndarray, b: np.ndarray, luts: LutStack, index: np.ndarray | None):
    """CPU backend on host arrays (a: M x K, b: K x N, index None / (N,) / (K, N))."""
    check_codes("a", a, luts.bits_a)
    check_codes("b", b, luts.bits_b)
    check_index("lut_index", index, luts.count)
    if index is not None and index.ndim == 1:
        index = index[None, :]
    boff = flat_offsets(b, index, luts)
    out = np.empty((a.shape[0], b.shape[1]), dtype=luts.acc_dtype(a.shape[1]))
    cpu.gemm(np.ascontiguousarray(a, dtype=np.int32), boff, luts.table, np.int64(luts.size_b),
             luts.zero_rows(), out)
    return out
