"""cocotb test of a systolic array: random weight tiles and activation matrices (with min/max
corner values), random back-pressure and bubbles, a reset in the middle of a stream.

Every cycle the RTL's outputs are compared with :class:`CycleModel` run in lock-step (cycle
exactness), and every accepted result with :func:`functional` (the maths). Configuration: JSON
file named by AXHW_SIM_CONFIG (design, seed, tiles, matrices, vectors, p_stall, p_bubble,
reset_mid, summary).
"""

from __future__ import annotations

import json
import os
from collections import deque

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from axhw.design.golden import port_value, to_raw
from axhw.systolic.design import array_from_dict
from axhw.systolic.model import CycleModel, functional

MAX_REPORTED = 10


def _pack(values, bits: int) -> int:
    word = 0
    for k, v in enumerate(to_raw(np.asarray(values, dtype=np.int64), bits)):
        word |= int(v) << (k * bits)
    return word


def _read(sig) -> int | None:
    """Integer value of a signal, None if any bit is X/Z."""
    text = str(sig.value)
    return int(text, 2) if text and set(text) <= {"0", "1"} else None


def operand_range(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def draw(rng: np.random.Generator, shape, bits: int, signed: bool, kind: str) -> np.ndarray:
    """Operand values: uniform, corner-heavy (min/max/0/±1), or all min / all max."""
    lo, hi = operand_range(bits, signed)
    if kind == "min":
        return np.full(shape, lo, dtype=np.int64)
    if kind == "max":
        return np.full(shape, hi, dtype=np.int64)
    values = rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
    if kind == "extreme":
        corners = np.array(sorted({lo, hi, 0, 1, -1 if signed else hi - 1}), dtype=np.int64)
        pick = rng.random(shape) < 0.7
        values[pick] = rng.choice(corners, size=int(pick.sum()))
    return values


def workload(arr, rng, tiles: int, matrices: int, vectors: int):
    """[(W, [X, ...]), ...]: tile kinds cycle through uniform, extreme, all-min, all-max."""
    kinds = ("uniform", "extreme", "min", "max")
    out = []
    for t in range(tiles):
        kind = kinds[t % len(kinds)]
        W = draw(rng, (arr.rows, arr.cols), arr.bits_b, arr.signed, kind)
        xs = [draw(rng, (vectors, arr.rows), arr.bits_a, arr.signed,
                   kind if m == 0 else kinds[(t + m) % len(kinds)]) for m in range(matrices)]
        out.append((W, xs))
    return out


class Bench:
    """Drives the DUT and the cycle model with the same inputs and keeps the score."""

    def __init__(self, dut, arr, rng, p_stall: float, p_bubble: float):
        self.dut, self.arr, self.rng = dut, arr, rng
        self.p_stall, self.p_bubble = p_stall, p_bubble
        self.model = CycleModel(arr)
        self.inflight: deque = deque()  # (matrix id, row, x, expected) accepted, not yet out
        self.stats = {"cycles": 0, "vectors": 0, "matrices": 0, "macs": 0, "mismatches": 0,
                      "model_mismatches": 0, "unknown_outputs": 0, "resets": 0, "stall_cycles": 0,
                      "bubble_cycles": 0, "dropped_by_reset": 0}
        self.first: list[dict] = []
        self.rows_left: dict[int, int] = {}
        self.weights = np.zeros((arr.rows, arr.cols), dtype=np.int64)

    def _mismatch(self, kind: str, **info) -> None:
        self.stats[kind] += 1
        if len(self.first) < MAX_REPORTED:
            self.first.append({"kind": kind, "cycle": self.stats["cycles"], **info})

    async def cycle(self, *, rst=False, w_en=False, w_row=0, w_data=None, in_valid=False,
                    in_data=None, out_ready=True):
        """One clock: drive, compare outputs with the model, score a result handshake, edge."""
        arr, dut = self.arr, self.dut
        if in_data is None:  # bubbles carry garbage: it must never reach a result
            in_data = draw(self.rng, arr.rows, arr.bits_a, arr.signed, "uniform")
        if w_data is None:
            w_data = np.zeros(arr.cols, dtype=np.int64)
        dut.rst.value = int(rst)
        dut.w_en.value = int(w_en)
        dut.w_row.value = int(w_row)
        dut.w_data.value = _pack(w_data, arr.bits_b)
        dut.in_valid.value = int(in_valid)
        dut.in_data.value = _pack(in_data, arr.bits_a)
        if arr.backpressure:
            dut.out_ready.value = int(out_ready)
        else:
            out_ready = True  # valid-only protocol: results are taken when they appear
        await ReadOnly()
        got = {"out_valid": _read(dut.out_valid),
               "in_ready": _read(dut.in_ready) if arr.backpressure else 1}
        seen = self.model.step(rst=rst, w_en=w_en, w_row=w_row, w_data=w_data, in_valid=in_valid,
                               in_data=in_data, out_ready=out_ready)
        want = {"out_valid": int(seen.out_valid), "in_ready": int(seen.in_ready)}
        if got["out_valid"]:  # data registers have no reset: out_data matters only when valid
            got["out_data"] = _read(dut.out_data)
            want["out_data"] = _pack(seen.out_data, arr.acc_width)
        if rst:
            pass  # before the first edge of a reset the RTL's registers may still be unknown
        elif None in got.values():
            self._mismatch("unknown_outputs", got={k: v is not None for k, v in got.items()})
        elif got != want:
            self._mismatch("model_mismatches", got=got, model=want)
        self.stats["cycles"] += 1
        self.stats["stall_cycles"] += int(bool(got["out_valid"]) and not out_ready)
        if not rst and got["out_valid"] and out_ready:
            self._score(got["out_data"] or 0)
        accepted = not rst and in_valid and got["in_ready"]
        await RisingEdge(dut.clk)
        return bool(accepted)

    def _score(self, word: int) -> None:
        arr = self.arr
        if not self.inflight:
            self._mismatch("mismatches", reason="result without an accepted vector")
            return
        mid, row, x, expected = self.inflight.popleft()
        mask = (1 << arr.acc_width) - 1
        raw = np.array([(word >> (j * arr.acc_width)) & mask for j in range(arr.cols)])
        got = port_value(raw, arr.acc_width, arr.acc_signed)
        for j in np.flatnonzero(got != expected):
            self._mismatch("mismatches", matrix=mid, row=row, column=int(j), a=x.tolist(),
                           b=self.weights[:, j].tolist(), expected=int(expected[j]),
                           got=int(got[j]))
        self.stats["vectors"] += 1
        self.stats["macs"] += arr.rows * arr.cols
        self.rows_left[mid] -= 1
        if self.rows_left[mid] == 0:
            self.stats["matrices"] += 1

    async def reset(self, cycles: int = 2) -> None:
        for _ in range(cycles):
            await self.cycle(rst=True, out_ready=bool(self.rng.random() < 0.5))
        self.stats["resets"] += 1

    async def load(self, W: np.ndarray) -> None:
        for i in range(self.arr.rows):
            await self.cycle(w_en=True, w_row=i, w_data=W[i])
        self.weights = W

    async def drain(self, limit: int) -> None:
        idle = 0
        while self.inflight and idle < limit:
            ready = self.rng.random() >= self.p_stall
            before = len(self.inflight)
            await self.cycle(out_ready=ready)
            idle = 0 if len(self.inflight) < before else idle + 1
        for mid, row, _, _ in self.inflight:
            self._mismatch("mismatches", matrix=mid, row=row, reason="result never came out")
        self.inflight.clear()

    async def stream(self, pending: deque, reset_after: int | None) -> None:
        """Offer pending (matrix id, row, x) vectors with bubbles and back-pressure; optionally
        reset after `reset_after` acceptances (in-flight vectors are dropped and re-sent)."""
        accepted = 0
        while pending:
            if reset_after is not None and accepted == reset_after:
                self.stats["dropped_by_reset"] += len(self.inflight)
                pending.extendleft(reversed([(m, r, x) for m, r, x, _ in self.inflight]))
                self.inflight.clear()
                await self.reset()
                await self.load(self.weights)
                reset_after = None
                continue
            offer = self.rng.random() >= self.p_bubble
            ready = self.rng.random() >= self.p_stall
            self.stats["bubble_cycles"] += int(not offer)
            mid, row, x = pending[0]
            if await self.cycle(in_valid=offer, in_data=x if offer else None, out_ready=ready):
                pending.popleft()
                expected = functional(self.arr, x[None, :], self.weights)[0]
                self.inflight.append((mid, row, x, expected))
                accepted += 1


@cocotb.test()
async def array_stream(dut):
    cfg = json.loads(open(os.environ["AXHW_SIM_CONFIG"]).read())
    arr = array_from_dict(json.loads(open(cfg["design"]).read()), cfg["design"])
    rng = np.random.default_rng(int(cfg["seed"]))
    bench = Bench(dut, arr, rng, float(cfg["p_stall"]), float(cfg["p_bubble"]))
    Clock(dut.clk, 2, unit="ns").start()
    await bench.reset()
    bench.stats["resets"] = 0  # the power-on reset does not count
    limit = 4 * arr.latency + 64
    mid = 0
    for t, (W, xs) in enumerate(workload(arr, rng, int(cfg["tiles"]), int(cfg["matrices"]),
                                         int(cfg["vectors"]))):
        await bench.drain(limit)  # a new tile is loaded only when nothing is in flight
        await bench.load(W)
        pending: deque = deque()
        for X in xs:
            bench.rows_left[mid] = len(X)
            pending.extend((mid, r, X[r]) for r in range(len(X)))
            mid += 1
        reset_after = len(pending) // 2 if cfg.get("reset_mid") and t == 1 else None
        await bench.stream(pending, reset_after)
    await bench.drain(limit)
    summary = {**bench.stats, "first_mismatches": bench.first}
    with open(cfg["summary"], "w") as fh:
        json.dump(summary, fh)
    bad = summary["mismatches"] + summary["model_mismatches"] + summary["unknown_outputs"]
    assert bad == 0, f"{bad} mismatches: {bench.first[:3]}"
