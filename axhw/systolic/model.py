"""Two Python models of a systolic array, which must agree with each other and with the RTL.

* :func:`functional` - the maths: ``Y[m, j] = sum_i LUT_j[X[m, i], W[i, j]]`` wrapped to the
  accumulator (two's complement when ``acc_signed``).
* :class:`CycleModel` - register-for-register copy of the generated RTL (skew chains, PE
  activation/product/partial-sum registers, de-skew chains, valid pipeline, stall, reset), stepped
  one clock at a time. The cocotb test runs it in lock-step with the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..design.golden import port_value, to_raw
from .array import SystolicArray

__all__ = ["functional", "Outputs", "CycleModel", "load_weights", "stream"]


def functional(arr: SystolicArray, X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Outputs (M, cols) for activation values X (M, rows) and weight values W (rows, cols)."""
    xr = to_raw(np.asarray(X).reshape(-1, arr.rows), arr.bits_a)
    wr = to_raw(np.asarray(W).reshape(arr.rows, arr.cols), arr.bits_b)
    Y = np.empty((xr.shape[0], arr.cols), dtype=np.int64)
    for j, lut in enumerate(arr.luts):
        Y[:, j] = lut[xr, wr[:, j][None, :]].sum(axis=1)
    return port_value(to_raw(Y, arr.acc_width), arr.acc_width, arr.acc_signed)


@dataclass(frozen=True)
class Outputs:
    """What the array drives during a cycle (before the clock edge)."""

    out_valid: bool
    out_data: tuple[int, ...]  # raw accumulator words, column 0 first
    in_ready: bool


class CycleModel:
    """State of every register of the RTL; :meth:`step` = one rising clock edge."""

    def __init__(self, arr: SystolicArray):
        self.arr = arr
        self._mask = (1 << arr.acc_width) - 1
        self.reset()

    def reset(self) -> None:
        """Power-on state: every register 0 (the RTL's data registers have no reset: see
        :meth:`step` for what ``rst`` clears)."""
        R, C = self.arr.rows, self.arr.cols
        self.weight = np.zeros((R, C), dtype=np.int64)
        self.act = np.zeros((R, C), dtype=np.int64)
        self.prod = np.zeros((R, C), dtype=np.int64)
        self.psum = np.zeros((R, C), dtype=np.int64)
        self.skew = [[0] * i for i in range(R)]  # row i: i registers, newest first
        self.deskew = [[0] * (C - 1 - j) for j in range(C)]
        self.valid = [False] * self.arr.latency

    def outputs(self, out_ready: bool = True) -> Outputs:
        out_valid = self.valid[-1]
        data = tuple(int(chain[-1]) if chain else int(self.psum[-1, j])
                     for j, chain in enumerate(self.deskew))
        ready = (not out_valid) or bool(out_ready) or not self.arr.backpressure
        return Outputs(out_valid, data, ready)

    def _products(self) -> np.ndarray:
        cols = [lut[self.act[:, j], self.weight[:, j]] for j, lut in enumerate(self.arr.luts)]
        return np.stack(cols, axis=1)

    def step(self, *, rst: bool = False, w_en: bool = False, w_row: int = 0,
             w_data=None, in_valid: bool = False, in_data=None, out_ready: bool = True) -> Outputs:
        """Apply one cycle's inputs; return the outputs seen during that cycle (before the edge)."""
        seen = self.outputs(out_ready)
        if rst:  # clears the valid pipeline only; weights and data hold
            self.valid = [False] * self.arr.latency
            return seen
        arr = self.arr
        new_weight = self.weight.copy()
        if w_en and 0 <= w_row < arr.rows:
            new_weight[w_row] = to_raw(np.asarray(w_data, dtype=np.int64), arr.bits_b)
        if seen.in_ready:  # the whole pipeline advances together, or holds (stall)
            x = to_raw(np.zeros(arr.rows, dtype=np.int64) if in_data is None
                       else np.asarray(in_data, dtype=np.int64), arr.bits_a)
            term = self.prod if arr.pipeline else self._products()
            if arr.pipeline:
                self.prod = self._products()
            above = np.vstack([np.zeros((1, arr.cols), dtype=np.int64), self.psum[:-1]])
            bottom = self.psum[-1].copy()
            self.psum = (above + term) & self._mask
            row_in = np.array([int(x[i]) if i == 0 else self.skew[i][-1]
                               for i in range(arr.rows)], dtype=np.int64)
            self.act = np.hstack([row_in[:, None], self.act[:, :-1]])
            self.skew = [_shift(chain, int(x[i])) for i, chain in enumerate(self.skew)]
            self.deskew = [_shift(chain, int(bottom[j])) for j, chain in enumerate(self.deskew)]
            self.valid = [bool(in_valid)] + self.valid[:-1]
        self.weight = new_weight
        return seen


def _shift(chain: list[int], value: int) -> list[int]:
    """A register chain (newest first) after one enabled edge; an empty chain stays empty."""
    return ([value] + chain[:-1]) if chain else chain


def load_weights(model: CycleModel, W: np.ndarray) -> None:
    """Write a weight tile row by row (one row per cycle), as a testbench would."""
    for i, row in enumerate(np.asarray(W).reshape(model.arr.rows, model.arr.cols)):
        model.step(w_en=True, w_row=i, w_data=row, out_ready=True)


def stream(model: CycleModel, X: np.ndarray, rng: np.random.Generator | None = None,
           p_stall: float = 0.0, p_bubble: float = 0.0) -> np.ndarray:
    """Push activation rows X (M, rows) through; return their results (M, cols) as values.
    With `rng`, out_ready drops with probability p_stall and in_valid with p_bubble."""
    arr = model.arr
    X = np.asarray(X).reshape(-1, arr.rows)
    results: list[tuple[int, ...]] = []
    sent = 0
    while len(results) < len(X):
        ready = rng is None or rng.random() >= p_stall or not arr.backpressure
        offer = sent < len(X) and (rng is None or rng.random() >= p_bubble)
        seen = model.step(in_valid=offer, in_data=X[sent] if offer else None, out_ready=ready)
        if seen.out_valid and ready:
            results.append(seen.out_data)
        if offer and seen.in_ready:
            sent += 1
    raw = np.array(results, dtype=np.int64).reshape(len(X), arr.cols)
    return port_value(raw, arr.acc_width, arr.acc_signed)
