"""TRAM: training-time layer == masked LUT emulation for θ ∈ {0,1}; the pruned family's RTL ==
its golden model; phase 2 never worse than rounding θ; bad P / λ are one-line errors."""

import numpy as np
import pytest
import torch
from torch import nn

import axhw.torch as at
from axhw.design.record import load_design, write_design
from axhw.dse.tram_circuit import column_power, map_theta, relative_power, target
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.measure.lut import design_lut
from axhw.torch.tram import power_loss, train_tram, tram_layers, tram_model


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(4, 6, 3, stride=2, groups=2), nn.Flatten(), nn.Linear(54, 5))


def test_binary_theta_equals_masked_lut_emulation_bit_for_bit():
    model, x = _model(), torch.randn(8, 1, 8, 8)
    tm = tram_model(model, [x], 8)
    rng = np.random.default_rng(1)
    drops = {}
    for name, layer in tram_layers(tm).items():
        theta = rng.integers(0, 2, 8).astype(np.float32)
        theta[0] = 1.0  # something removed in every layer
        with torch.no_grad():
            layer.theta.copy_(torch.from_numpy(theta))
        drops[name] = tuple(int(c) for c in np.nonzero(theta)[0])
    masked = at.approximate(model, {n: make("masked", 8, drop_columns=d) for n, d in drops.items()}, [x])
    exact = at.approximate(model, {"*": make("exact", 8)}, [x])
    with torch.no_grad():
        y = tm(x)
        assert torch.equal(y, masked(x))
        assert not torch.equal(y, exact(x))


def test_theta_gradient_and_power_loss():
    model, x = _model(), torch.randn(8, 1, 8, 8)
    tm = tram_model(model, [x], 4)
    power = torch.as_tensor(column_power(8), dtype=torch.float32)
    tm(x).sum().backward()
    assert all(layer.theta.grad.abs().sum() > 0 for layer in tram_layers(tm).values())
    assert power_loss(tm, power).item() == pytest.approx(1.0)  # θ = 0: full power
    for layer in tram_layers(tm).values():
        with torch.no_grad():
            layer.theta.fill_(1.0)
    assert power_loss(tm, power).item() == pytest.approx(relative_power([1.0] * 4, column_power(8)))
    assert [layer.macs for layer in tram_layers(tm).values()] == [4 * 9 * 64, 6 * 18 * 9, 54 * 5]


def test_pruned_rtl_equals_golden_and_never_exceeds_exact(tmp_path):
    m = map_theta([0.3, 0.8, 0.6, 0.2], bits=4)
    assert m.spec.family == "pruned"
    design = load_design(write_design(m.spec, tmp_path))
    lut = design_lut(design, use_cache=False)  # gate-level netsim, checked against golden
    v = np.arange(16)
    assert np.array_equal(lut, m.spec.golden(*np.meshgrid(v, v, indexing="ij")))
    assert (lut <= np.outer(v, v)).all() and (lut < np.outer(v, v)).any()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_phase2_never_worse_than_rounding(seed):
    theta = np.random.default_rng(seed).uniform(0, 1, 5)
    m = map_theta(theta, bits=6)
    assert m.mse <= m.rounded_mse
    ref = target(theta, 6)
    v = np.arange(64)
    got = m.spec.golden(*np.meshgrid(v, v, indexing="ij"))
    assert np.mean((got - ref) ** 2) == pytest.approx(m.mse)


def test_theta_moves_the_circuit():
    low, high = map_theta([0.0, 0.0, 0.0], bits=4), map_theta([1.0, 1.0, 1.0], bits=4)
    assert low.spec.family == "exact" and low.mse == 0.0
    assert high.spec.family == "pruned" and high.tied >= 6  # at least the 6 pps of columns 0..2


def test_bad_input_errors():
    with pytest.raises(AxhwError, match="columns P=16 is larger"):
        tram_model(_model(), [torch.randn(2, 1, 8, 8)], 16)
    with pytest.raises(AxhwError, match="columns P=9 is larger"):
        map_theta([0.5] * 9, bits=4)
    with pytest.raises(AxhwError, match="lambda=-1"):
        train_tram(_model(), [], column_power(8), lam=-1.0)


def test_lambda_moves_theta():
    model, x = _model(), torch.randn(16, 1, 8, 8)
    with torch.no_grad():
        y = model(x).argmax(-1)
    means = []
    for lam in (0.0, 50.0):
        torch.manual_seed(0)
        tm = tram_model(model, [x], 6)
        train_tram(tm, [(x, y)] * 4, column_power(8), lam=lam, epochs=1)
        means.append(np.mean([layer.clamped_theta().mean().item() for layer in tram_layers(tm).values()]))
    assert means[1] > means[0] + 0.05
