"""TransAxx MCTS on a 4-layer digits MLP with 6 multipliers (6^4 = 1,296 configurations): the test
computes every configuration's accuracy on the 128-sample predictor set, then checks the search
reaches >= 95 % of the exhaustive front's hypervolume within 200 evaluations and, over 5 seeds,
beats uniform rollouts and 200 random samples."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

import axhw.torch as at
from axhw.dse.mcts import mcts_search
from axhw.dse.tram_circuit import column_power, relative_power
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.tables.pareto import hypervolume_2d

CUTS = (0, 8, 9, 10, 11, 12)  # low columns removed: exact + 5 column-truncated multipliers


def exhaustive_task():
    """({config: accuracy %}, layer_energy (4 x 6)) of the 4-layer MLP on 128 digits."""
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    train, ev = perm[:1200], perm[1200:1328]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(60):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[train]), y[train]).backward()
        opt.step()
    model.eval()
    mults = [make("exact", 8)] + [make("masked", 8, drop_columns=tuple(range(k))) for k in CUTS[1:]]
    approx = [at.approximate(model, {"*": m}, [x[train[:256]]]) for m in mults]
    macs = np.array([64 * 32, 32 * 32, 32 * 16, 16 * 10], dtype=float)
    rel = np.array([relative_power([1.0] * k, column_power(8)) for k in CUTS])
    layer_energy = (macs / macs.sum())[:, None] * rel[None, :]
    outputs: dict[tuple, torch.Tensor] = {}

    def forward(prefix):  # shared prefixes are computed once
        if prefix not in outputs:
            inp = x[ev] if len(prefix) == 1 else torch.relu(forward(prefix[:-1]))
            with torch.no_grad():
                outputs[prefix] = approx[prefix[-1]][2 * (len(prefix) - 1)](inp)
        return outputs[prefix]

    acc = {cfg: 100.0 * float((forward(cfg).argmax(1) == y[ev]).float().mean())
           for cfg in itertools.product(range(len(CUTS)), repeat=4)}
    return acc, layer_energy


@pytest.fixture(scope="module")
def task():
    return exhaustive_task()


def _hv(configs, acc, layer_energy, ref):
    energy = [sum(layer_energy[i, j] for i, j in enumerate(c)) for c in configs]
    return hypervolume_2d(energy, [acc[c] for c in configs], *ref)


def test_mcts_front_against_exhaustive(task):
    acc, layer_energy = task
    configs = list(acc)
    energy = [sum(layer_energy[i, j] for i, j in enumerate(c)) for c in configs]
    ref = (max(energy) * 1.0001, min(acc.values()))
    full = _hv(configs, acc, layer_energy, ref)
    guided, uniform, random = [], [], []
    for seed in range(5):
        calls = []
        res = mcts_search(lambda c: calls.append(c) or acc[c], layer_energy, base=0, evals=200, seed=seed)
        assert len(calls) == len(set(calls)) == len(res.archive) <= 200
        guided.append(_hv(res.archive, acc, layer_energy, ref) / full)
        res = mcts_search(lambda c: acc[c], layer_energy, base=0, evals=200, seed=seed, policy="uniform")
        uniform.append(_hv(res.archive, acc, layer_energy, ref) / full)
        pick = np.random.default_rng(seed).choice(len(configs), 200, replace=False)
        random.append(_hv([configs[k] for k in pick], acc, layer_energy, ref) / full)
    assert min(guided) >= 0.95
    assert np.mean(guided) > np.mean(uniform) and np.mean(guided) > np.mean(random)


def test_lambda_and_budget_move_the_search(task):
    acc, layer_energy = task
    cheap = mcts_search(lambda c: acc[c], layer_energy, base=0, lambdas=(4.0,), evals=80, seed=0)
    rich = mcts_search(lambda c: acc[c], layer_energy, base=0, lambdas=(0.0,), evals=80, seed=0)
    mean_energy = [np.mean(list(r.energy.values())) for r in (cheap, rich)]
    assert mean_energy[0] < mean_energy[1]
    small = mcts_search(lambda c: acc[c], layer_energy, base=0, evals=30, seed=0)
    assert len(small.archive) == 30 and small.sensitivity.shape == (4, 6)
    front = small.front()
    assert all(small.energy[a] <= small.energy[b] for a, b in zip(front, front[1:]))


def test_bad_arguments():
    table = np.ones((2, 3))
    with pytest.raises(AxhwError, match="lambda must be >= 0"):
        mcts_search(lambda c: 1.0, table, base=0, lambdas=(-1.0,))
    with pytest.raises(AxhwError, match="--c"):
        mcts_search(lambda c: 1.0, table, base=0, c=-0.1)
    with pytest.raises(AxhwError, match="--evals"):
        mcts_search(lambda c: 1.0, table, base=0, evals=0)
