"""LUT stacks and the checks every emulator entry point shares.

A LUT is the ``(2^bits_a, 2^bits_b)`` table ``lut[a_raw, b_raw]`` (axhw.design.golden convention); a
stack is ``(L, 2^bits_a, 2^bits_b)``. Kernels read one flat table at
``l * 2^(bits_a+bits_b) + a_raw * 2^bits_b + b_raw``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np

from ..infra.errors import AxhwError
from .arrays import dtype_of, shape_of, to_host
from .forms import fit_low_rank, fit_table

__all__ = ["INT32_MAX", "LutStack", "check_codes", "check_index", "flat_offsets", "prepare_luts"]

INT32_MAX = 2**31 - 1


@dataclass(frozen=True, eq=False)
class LutStack:
    """A validated LUT stack, flattened for the kernels. Build once with :func:`prepare_luts`
    and pass it instead of the raw array to skip re-validation (and re-upload to the GPU)."""

    table: np.ndarray  # flat, int32 when every entry fits, else int64
    count: int
    bits_a: int
    bits_b: int
    maxabs: int
    forms: tuple | None = None  # bit-linear forms of every LUT (prepare_luts(fast_path=True))
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def size_a(self) -> int:
        return 1 << self.bits_a

    @property
    def size_b(self) -> int:
        return 1 << self.bits_b

    def acc_dtype(self, k: int) -> np.dtype:
        """int32 where no partial sum can overflow it (K * max|lut| < 2^31), else int64."""
        return np.dtype(np.int32) if k * self.maxabs <= INT32_MAX else np.dtype(np.int64)

    def single(self, i: int) -> "LutStack":
        """LUT i of the stack on its own (cached). maxabs stays the stack's, so results keep the
        stack's accumulator dtype."""
        key = ("single", i)
        if key not in self._cache:
            n = self.size_a * self.size_b
            self._cache[key] = LutStack(table=self.table[i * n:(i + 1) * n], count=1,
                                         bits_a=self.bits_a, bits_b=self.bits_b, maxabs=self.maxabs)
        return self._cache[key]

    def form_key(self) -> tuple:
        """What fixes the bit-linear path's cost: rank and operand bounds of every form."""
        return tuple((f.rank,) + f.operand_max for f in self.forms or ())

    def zero_rows(self) -> np.ndarray:
        """uint8 flag per a-code: 1 where that row is 0 in every LUT of the stack (cached). The
        CPU kernels skip such codes (post-ReLU zeros, zero padding): adding 0 changes nothing."""
        if "zero_rows" not in self._cache:
            rows = self.table.reshape(self.count, self.size_a, self.size_b)
            self._cache["zero_rows"] = (~rows.any(axis=(0, 2))).astype(np.uint8)
        return self._cache["zero_rows"]

    def device_table(self):
        """The flat table on the current CUDA device (uploaded once, then cached)."""
        if "table" not in self._cache:
            from numba import cuda

            self._cache["table"] = cuda.to_device(self.table)
        return self._cache["table"]


def _bits(size: int, what: str) -> int:
    if size < 2 or size & (size - 1) or size > 1 << 16:
        raise AxhwError(f"LUT {what} size {size} is not 2^bits with bits in 1..16")
    return size.bit_length() - 1


def prepare_luts(luts, fast_path: bool = False) -> LutStack:
    """Validate a LUT ``(2^ba, 2^bb)`` or stack ``(L, 2^ba, 2^bb)`` of integers.

    fast_path=True also fits the bit-linear form of every LUT (axhw.emu.forms; a low-rank form
    where the LUT is not bit-linear but of rank <= 8, e.g. RoBA); when all of them have one,
    lut_matmul/lut_conv2d with backend=None may run the dense-GEMM path (single LUT or
    per-filter selection; on the CPU where measured faster), with identical results. Otherwise
    the LUT kernels run.
    """
    if isinstance(luts, LutStack):
        return _with_forms(luts) if fast_path and luts.forms is None else luts
    shape = shape_of(luts)
    if len(shape) not in (2, 3):
        raise AxhwError(f"LUT must be 2-D (2^bits_a x 2^bits_b) or a 3-D stack, got shape {shape}")
    if dtype_of(luts).kind not in "iu":
        raise AxhwError(f"LUT must hold integers (int32/int64), got dtype {dtype_of(luts)}")
    host = to_host(luts)
    host = host.reshape((1,) + shape[-2:]) if host.ndim == 2 else host
    if host.shape[0] < 1:
        raise AxhwError("LUT stack is empty")
    bits_a, bits_b = _bits(host.shape[1], "row (a)"), _bits(host.shape[2], "column (b)")
    wide = host.astype(np.int64)
    if host.dtype == np.uint64 and (host > np.iinfo(np.int64).max).any():
        raise AxhwError("LUT entries exceed int64")
    maxabs = int(np.abs(wide).max())
    fits32 = maxabs <= INT32_MAX
    table = np.ascontiguousarray(wide.reshape(-1), dtype=np.int32 if fits32 else np.int64)
    stack = LutStack(table=table, count=host.shape[0], bits_a=bits_a, bits_b=bits_b, maxabs=maxabs)
    return _with_forms(stack) if fast_path else stack


def _with_forms(stack: LutStack) -> LutStack:
    shape = (stack.size_a, stack.size_b)
    forms = []
    for i in range(stack.count):
        table = stack.single(i).table.astype(np.int64).reshape(shape)
        forms.append(_fit(table.tobytes(), shape, stack.maxabs))
        if forms[-1] is None:  # neither bit-linear nor of small rank: the LUT kernels serve
            return stack  # the whole stack
    return replace(stack, forms=tuple(forms), _cache={})


@functools.lru_cache(maxsize=64)
def _fit(table: bytes, shape: tuple[int, int], maxabs: int):
    """Bit-linear or low-rank form of one int64 table, or None; cached, since every layer of a
    model built with one design prepares the same table."""
    L = np.frombuffer(table, dtype=np.int64).reshape(shape)
    try:
        return fit_table(L, maxabs)
    except AxhwError:
        return fit_low_rank(L, maxabs)


def check_codes(name: str, host: np.ndarray, bits: int) -> None:
    """Host codes must lie in 0..2^bits-1 (GPU kernels flag out-of-range codes themselves)."""
    if host.size:
        lo, hi = int(host.min()), int(host.max())
        if lo < 0 or hi >= 1 << bits:
            raise AxhwError(f"{name} holds raw codes outside 0..{(1 << bits) - 1} "
                            f"(found {lo}..{hi}) for a {bits}-bit LUT operand")


def check_index(name: str, index_host: np.ndarray | None, count: int) -> None:
    if index_host is not None and index_host.size:
        lo, hi = int(index_host.min()), int(index_host.max())
        if lo < 0 or hi >= count:
            raise AxhwError(f"{name} selects LUT {lo if lo < 0 else hi} but the stack has {count}")


def flat_offsets(b: np.ndarray, index: np.ndarray | None, luts: LutStack) -> np.ndarray:
    """``index * 2^(ba+bb) + b``: the b-side part of the flat table address (host)."""
    dt = np.int32 if luts.count << (luts.bits_a + luts.bits_b) <= INT32_MAX else np.int64
    off = b.astype(dt)
    if index is not None:
        off = off + index.astype(dt) * dt(luts.size_a * luts.size_b)
    return np.ascontiguousarray(off)
