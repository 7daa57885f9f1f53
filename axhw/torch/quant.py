"""Quantization for LUT emulation: symmetric scales, operand codes, calibration observers.

Scheme (see docs/torch.md): weights per output channel, activations per tensor, both symmetric
(zero point 0) so that a product of codes is a product of values and the LUT applies directly.

* signed multiplier, n bits: q in [-(2^(n-1)-1), 2^(n-1)-1], code = q & (2^n - 1) (two's complement).
* unsigned multiplier, n bits: sign-magnitude, |q| in [0, 2^n - 1] goes through the multiplier and
  the sign is applied outside it (XOR of the operand signs); code = (q < 0) << n | |q|, indexing the
  sign-extended table of :func:`signed_magnitude_lut`. A post-ReLU activation never uses the sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..infra.errors import AxhwError

__all__ = ["AbsObserver", "CALIBRATIONS", "MAX_QBITS", "MIN_QBITS", "QuantConfig", "code_values",
           "codes", "qmax", "quantize", "scale_from_amax", "signed_magnitude_lut"]

CALIBRATIONS = ("minmax", "percentile")
MIN_QBITS, MAX_QBITS = 2, 8


def qmax(bits: int, signed: bool) -> int:
    """Largest code magnitude: 2^(n-1)-1 for two's complement, 2^n-1 for sign-magnitude."""
    return (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1


def scale_from_amax(amax: torch.Tensor, bits: int, signed: bool) -> torch.Tensor:
    """Symmetric scale; an all-zero tensor gets scale 1 (every code is 0 anyway)."""
    amax = amax.detach().to(torch.float32)
    return torch.where(amax > 0, amax / qmax(bits, signed), torch.ones_like(amax))


def quantize(x: torch.Tensor, scale: torch.Tensor, bits: int, signed: bool) -> torch.Tensor:
    """Integer operand values (float dtype, exact) = clamp(round(x / scale)); round and clamp
    work in place on the quotient (one new tensor)."""
    m = qmax(bits, signed)
    return (x / scale).round_().clamp_(-m, m)


def codes(q: torch.Tensor, bits: int, signed: bool) -> torch.Tensor:
    """Raw LUT indices (int32: the kernels' index type, no later cast) of integer operand
    values from :func:`quantize`."""
    q = q.to(torch.int32)
    if signed:
        return q.bitwise_and_((1 << bits) - 1)
    return torch.where(q < 0, (1 << bits) - q, q)  # sign bit n set, magnitude -q


def code_values(bits: int, signed: bool) -> np.ndarray:
    """Operand value of every code of the table :func:`operand_table` indexes (int64)."""
    if signed:
        c = np.arange(1 << bits, dtype=np.int64)
        return c - ((c >> (bits - 1)) & 1) * (1 << bits)
    mag = np.arange(1 << bits, dtype=np.int64)
    return np.concatenate([mag, -mag])


def signed_magnitude_lut(lut: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned n-bit table -> (2^(n+1))^2 table over sign-magnitude codes: sign(a)sign(b)L[|a|,|b|]."""
    sign = np.concatenate([np.ones(1 << bits, np.int64), -np.ones(1 << bits, np.int64)])
    return np.tile(lut, (2, 2)) * sign[:, None] * sign[None, :]


@dataclass(frozen=True)
class QuantConfig:
    """How `approximate` quantizes: bit width and activation calibration."""

    bits: int = 8
    calibration: str = "percentile"
    percentile: float = 99.9
    num_batches: int | None = None  # None: every calibration batch
    bins: int = 2048

    def __post_init__(self):
        if not (isinstance(self.bits, int) and MIN_QBITS <= self.bits <= MAX_QBITS):
            raise AxhwError(f"bits={self.bits} is out of range: valid is {MIN_QBITS}..{MAX_QBITS}")
        if self.calibration not in CALIBRATIONS:
            raise AxhwError(f"calibration={self.calibration!r} is not valid: choose one of "
                            f"{', '.join(CALIBRATIONS)}")
        if not 0 < self.percentile <= 100:
            raise AxhwError(f"percentile={self.percentile} is out of range: valid is (0, 100]")
        if self.num_batches is not None and self.num_batches < 1:
            raise AxhwError(f"num_batches={self.num_batches} must be at least 1")
        if self.bins < 16:
            raise AxhwError(f"bins={self.bins} must be at least 16")


class AbsObserver:
    """Collects |x| of one activation tensor over calibration batches; `amax()` gives the clip value.

    minmax: the largest |x| seen. percentile: a histogram of |x| with a fixed bin width taken from
    the first batch, extended with more bins when larger values arrive (as TensorRT/TransAxx
    histogram calibrators do); the clip value is the upper edge of the bin where the cumulative
    count reaches the percentile.
    """

    def __init__(self, config: QuantConfig):
        self.config = config
        self.calls = 0  # tensors observed
        self.nonfinite = False
        self.max = 0.0
        self.width = 0.0
        self.hist: torch.Tensor | None = None
        self.nonfinite = False  # a NaN or infinity was seen (max() would skip a NaN silently)

    def observe(self, x: torch.Tensor) -> None:
        a = x.detach().abs().flatten().to(torch.float64).cpu()
        self.calls += 1
        if a.numel() == 0:
            return
        if not bool(torch.isfinite(a).all()):
            self.nonfinite = True
            a = a[torch.isfinite(a)]
            if a.numel() == 0:
                return
        self.max = max(self.max, float(a.max()))
        if self.config.calibration != "percentile":
            return
        if self.hist is None:
            if self.max == 0.0:
                return
            self.width = self.max / self.config.bins
            self.hist = torch.zeros(self.config.bins, dtype=torch.float64)
        nbins = max(self.hist.numel(), math.ceil(self.max / self.width))
        if nbins > self.hist.numel():
            self.hist = torch.cat([self.hist, self.hist.new_zeros(nbins - self.hist.numel())])
        idx = torch.clamp((a / self.width).to(torch.int64), 0, nbins - 1)
        self.hist += torch.bincount(idx, minlength=nbins).to(torch.float64)

    def amax(self) -> float:
        if self.config.calibration == "minmax" or self.hist is None:
            return self.max
        cdf = torch.cumsum(self.hist, 0) / self.hist.sum()
        k = int(torch.searchsorted(cdf, self.config.percentile / 100.0 - 1e-12))
        return min(self.max, (k + 1) * self.width)
