"""The emulator's per-shape engine choice (tests/test_layout.py: no import circle in axhw.emu)."""

import numpy as np
import torch

from axhw.emu import lut_conv2d, lut_matmul, prepare_luts, tuning
from axhw.gen.families import make
from axhw.design.golden import golden_lut


def test_fastest_times_every_candidate_once_then_runs_the_choice():
    calls = {"a": 0, "b": 0}

    def run(name):
        calls[name] += 1
        return 42

    cands = {"a": lambda: run("a"), "b": lambda: run("b")}
    key = ("test", object())
    assert tuning.fastest(key, cands, tuning.MEASURE_MIN_MACS) == 42
    assert calls == {"a": 2, "b": 2}  # two timed runs each (the first warms up)
    chosen = tuning.choices()[key]
    assert tuning.fastest(key, cands, tuning.MEASURE_MIN_MACS) == 42
    assert calls[chosen] == 3 and sum(calls.values()) == 5
    tuning.fastest(("small", 1), cands, tuning.MEASURE_MIN_MACS - 1)  # not timed: first runs
    assert calls["a"] == 3 + (chosen == "a") and ("small", 1) not in tuning.choices()


def test_measured_choice_keeps_the_result_bit_for_bit():
    """A shape big enough to be timed: whichever path wins (bit-linear engines or LUT kernels),
    the integers are those of the LUT kernels."""
    lut = golden_lut(make("perforated", 8, signed=True, start=0, count=2))
    fast = prepare_luts(lut, fast_path=True)
    rng = np.random.default_rng(5)
    a = torch.from_numpy(rng.integers(0, 256, (64, 256)))
    b = torch.from_numpy(rng.integers(0, 256, (256, 256)))
    want = lut_matmul(a, b, lut, backend="cpu")
    for _ in range(2):  # measured, then chosen
        np.testing.assert_array_equal(lut_matmul(a, b, fast).numpy(), want.numpy())
    x = torch.from_numpy(rng.integers(0, 256, (2, 32, 16, 16)))
    w = torch.from_numpy(rng.integers(0, 256, (64, 32, 3, 3)))
    want = lut_conv2d(x, w, lut, 1, 1, backend="cpu")
    for _ in range(2):
        np.testing.assert_array_equal(lut_conv2d(x, w, fast, 1, 1).numpy(), want.numpy())
