"""Operand enumeration and LUT conventions shared by verification, metrics, LUT export, emulator.

Raw bit patterns index everything: pair index ``(a_raw << bits_b) | b_raw``; LUT ``[a_raw, b_raw]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_EXHAUSTIVE_BITS", "to_value", "to_raw", "pair_values", "random_pair_index",
           "all_pairs", "port_value", "golden_lut", "product_lut"]

# Input bits up to which every pair is visited (16x16: 2^32 pairs); past it, random pairs only.
MAX_EXHAUSTIVE_BITS = 32


def to_value(raw: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Raw bit patterns -> operand values (two's complement when signed). int64; a 64-bit
    unsigned word is returned as uint64 (its values need all 64 bits)."""
    if bits == 64:
        raw = np.asarray(raw).astype(np.uint64)
        return raw.view(np.int64) if signed else raw
    raw = np.asarray(raw, dtype=np.int64) & ((1 << bits) - 1)
    if signed:
        return raw - ((raw >> (bits - 1)) & 1) * (1 << bits)
    return raw


def to_raw(value: np.ndarray, bits: int) -> np.ndarray:
    """Values -> raw `bits`-bit words. int64 below 64 bits; 64-bit words are uint64 (int64
    arithmetic wraps modulo 2^64, so a golden model's int64 result has the right bits)."""
    if bits == 64:
        return np.asarray(value).astype(np.uint64)
    return np.asarray(value, dtype=np.int64) & ((1 << bits) - 1)


def pair_values(index: np.ndarray, bits_a: int, bits_b: int, signed: bool):
    """Operand values for flat pair indices ``(a_raw << bits_b) | b_raw`` (uint64 indices for
    more than 62 input bits)."""
    index = np.asarray(index)
    if index.dtype != np.uint64:
        index = index.astype(np.int64)
    a_raw = index >> index.dtype.type(bits_b)
    b_raw = index & index.dtype.type((1 << bits_b) - 1)
    return to_value(a_raw, bits_a, signed), to_value(b_raw, bits_b, signed)


def random_pair_index(bits_a: int, bits_b: int, count: int, seed: int) -> np.ndarray:
    """`count` uniformly drawn pair indices (with repetition; every pair when there are no more
    than `count`): int64, or uint64 for more than 62 input bits."""
    n = 1 << (bits_a + bits_b)
    dtype = np.uint64 if bits_a + bits_b > 62 else np.int64
    return np.random.default_rng(seed).integers(0, n, size=min(count, n), dtype=dtype)


def all_pairs(bits_a: int, bits_b: int, signed: bool):
    """(A, B) value arrays over every input pair, in pair-index order."""
    return pair_values(np.arange(1 << (bits_a + bits_b), dtype=np.int64), bits_a, bits_b, signed)


def port_value(p_raw: np.ndarray, out_bits: int, out_signed: bool) -> np.ndarray:
    """Read output port bits as the integer the contract defines."""
    return to_value(p_raw, out_bits, out_signed)


def golden_lut(spec) -> np.ndarray:
    """The golden product table ``[a_raw, b_raw]`` of a family instance (≤ 16 input bits)."""
    if spec.bits_a + spec.bits_b > 24:
        raise ValueError("golden_lut: too many input bits for an in-memory table")
    A, B = all_pairs(spec.bits_a, spec.bits_b, spec.signed)
    return spec.golden(A, B).reshape(1 << spec.bits_a, 1 << spec.bits_b)


def product_lut(spec) -> np.ndarray:
    """The table ``axhw lut`` defines, from the golden model: the port value (wrapped to out_bits
    like the hardware, read as two's complement when out_signed) at product scale
    (``<< out_shift`` for fixed-width designs). int64, indexed ``[a_raw, b_raw]``."""
    port = port_value(to_raw(golden_lut(spec), spec.out_bits), spec.out_bits, spec.out_signed)
    return port << spec.out_shift
