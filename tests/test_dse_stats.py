"""axhw.dse.stats (issue 17 §3): Wilson intervals and exact McNemar tests, and the per-sample
outcomes the evaluator keeps for them."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import norm
from torch import nn

from axhw.dse import Task
from axhw.dse.evaluate import Evaluator
from axhw.dse.library import load_library
from axhw.dse.report import pareto_table
from axhw.dse.run import reference_statistics
from axhw.dse.stats import mcnemar_p, pack, unpack, verdict, wilson_interval

from conftest import ROOT

LIB = ROOT / "tests" / "fixtures" / "dse_library" / "results.csv"


def _textbook_wilson(k, n, z=norm.ppf(0.975)):
    p = k / n
    centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [100 * (centre - half) / (1 + z * z / n), 100 * (centre + half) / (1 + z * z / n)]


def test_wilson_interval_known_values():
    assert wilson_interval(95, 100) == pytest.approx([88.82, 97.85], abs=5e-3)
    assert wilson_interval(95, 100) == pytest.approx(_textbook_wilson(95, 100), abs=1e-9)
    assert wilson_interval(980, 1000) == pytest.approx([96.93, 98.70], abs=5e-3)
    lo, hi = wilson_interval(0, 20)
    assert lo == 0 and hi == pytest.approx(16.11, abs=5e-3)  # never below 0, unlike Wald's


def test_mcnemar_known_value_and_outcomes_move_p():
    # b = 10 images only A gets right, c = 2 only B gets right: p = 2 * P(X >= 10 | 12, 1/2)
    a = np.array([True] * 10 + [False] * 2 + [True] * 50 + [False] * 8)
    b = np.array([False] * 10 + [True] * 2 + [True] * 50 + [False] * 8)
    assert mcnemar_p(a, b) == pytest.approx(158 / 4096) == pytest.approx(0.0386, abs=1e-4)
    assert verdict(mcnemar_p(a, b)) == "significant"
    b2 = b.copy()
    b2[:3] = True  # three discordant images become concordant: b = 7, c = 2
    assert mcnemar_p(a, b2) == pytest.approx(0.1797, abs=1e-4)
    assert verdict(mcnemar_p(a, b2)) == "not significant"
    assert mcnemar_p(a, a) == 1.0 and verdict(None) == "no paired test"
    with pytest.raises(ValueError, match="length"):
        mcnemar_p(a, b[:-1])


def test_pack_round_trip():
    ok = np.random.default_rng(0).random(1003) < 0.9
    assert (unpack(pack(ok), len(ok)) == ok).all()


@pytest.fixture(scope="module")
def evaluator():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    x = torch.randn(300, 6)
    y = model(x).argmax(-1)  # the float model is right everywhere
    y[:30] = (y[:30] + 1) % 3  # ...but on 30 images
    task = Task(model, [x[:64]], [(x[:150], y[:150]), (x[150:], y[150:])], name="toy")
    return Evaluator(task, load_library(LIB, "nangate45", 8).restrict([8]), progress=False)


def test_evaluator_keeps_outcomes_and_reports_interval_and_paired_p(evaluator):
    ev = evaluator
    assert ev.samples == 300 and ev.correct_float.sum() == 270 and ev.accuracy_float == pytest.approx(90.0)
    exact = ev.measure({n: ev.library.reference for n in ev.macs})
    assert exact["p_vs_exact"] == 1.0 and exact["accuracy"] == pytest.approx(ev.accuracy_exact)
    assert exact["accuracy_ci"] == pytest.approx(wilson_interval(ev.correct_exact.sum(), 300))
    cheap = ev.measure({n: ev.library.names()[0] for n in ev.macs})
    ok = ev.outcomes(cheap)
    assert ok.mean() * 100 == pytest.approx(cheap["accuracy"])
    assert cheap["p_vs_exact"] == pytest.approx(mcnemar_p(ok, ev.correct_exact)) and cheap["p_vs_exact"] < 0.05
    summary = reference_statistics(ev, cheap)
    assert summary["vs_exact"] == "significant" and summary["accuracy_float_ci"] == pytest.approx(
        wilson_interval(270, 300))
    df = pareto_table([{"method": "uniform", "granularity": "layer", **cheap, "layers": {}}])
    assert df.loc[0, "accuracy_ci_low"] < df.loc[0, "accuracy"] < df.loc[0, "accuracy_ci_high"]
    assert df.loc[0, "vs_exact"] == "significant" and isinstance(df, pd.DataFrame)


def test_custom_metric_without_outcomes_gets_no_interval():
    model = nn.Linear(4, 2)
    x = torch.randn(20, 4)
    task = Task(model, [x], [(x, x[:, :2])], metric=lambda o, t: -float((o - t).abs().mean()))
    assert task.outcomes(model(x)) is None
    task = Task(model, [x], [(x, x[:, 0] > 0)], metric=lambda o, t: 0.0,
                per_sample=lambda o, t: (o[:, 0] > 0) == t)
    assert task.outcomes(model(x)).shape == (20,)


def test_search_compares_with_the_best_uniform_design(evaluator):
    from axhw.dse.search import Search, run_method

    s = Search(evaluator, budget=0.5)
    best = run_method("uniform", s)
    out = reference_statistics(evaluator, best, s)
    assert out["accuracy_best_uniform"] == best["accuracy"] and out["p_vs_best_uniform"] == 1.0
    worst = min(s.records, key=lambda r: r["accuracy"])
    out = reference_statistics(evaluator, worst, s)
    assert out["best_uniform"] == next(iter(best["layers"].values()))
    assert out["p_vs_best_uniform"] == pytest.approx(
        mcnemar_p(evaluator.outcomes(worst), evaluator.outcomes(best)))
    assert out["vs_best_uniform"] == verdict(out["p_vs_best_uniform"])
