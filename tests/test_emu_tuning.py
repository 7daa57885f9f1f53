"""The emulator's per-shape engine choice and the layout of axhw.emu (no import circle)."""

import ast
from pathlib import Path

import numpy as np
import torch

import axhw.emu
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


def _imports(path: Path) -> set[str]:
    """Sibling modules of axhw.emu that a module imports, at top level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(alias.name for alias in node.names)
    return out


def test_emu_modules_import_no_circle():
    root = Path(axhw.emu.__file__).parent
    graph = {p.stem: _imports(p) for p in root.glob("*.py") if p.stem != "__init__"}
    done, stack = set(), []

    def visit(mod):
        assert mod not in stack, f"import circle: {' -> '.join(stack[stack.index(mod):] + [mod])}"
        if mod in done or mod not in graph:
            return
        stack.append(mod)
        for dep in graph[mod]:
            visit(dep)
        stack.pop()
        done.add(mod)

    for mod in graph:
        visit(mod)
    assert "bitlinear" in graph["gemm"] and "luts" in graph["bitlinear"]  # the walk sees imports
