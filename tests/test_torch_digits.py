"""CI version of scripts/digits_example.py: real data (sklearn digits, bundled), a CNN trained on
CPU, quantized through exact and approximate multiplier LUTs, then retrained (STE, LUT gradient)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from axhw.design.record import load_design, write_design  # noqa: E402
from axhw.gen.families import make  # noqa: E402
from axhw.design.external import load_external  # noqa: E402
from axhw.measure.lut import design_lut  # noqa: E402
from axhw.torch import Lut, approximate, finetune  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "digits_example.py"


@pytest.fixture(scope="module")
def digits():
    spec = importlib.util.spec_from_file_location("digits_example", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def trained(digits):
    torch.manual_seed(0)
    xtr, ytr, xte, yte = digits.load_data(0)
    train = DataLoader(TensorDataset(xtr, ytr), batch_size=64, shuffle=True)
    model = digits.make_cnn()
    finetune(model, train, 12, lr=1e-2)
    return model, train, xtr, xte, yte


def test_lower_or_netlist_lut_matches_its_definition(digits, tmp_path):
    """The example's imported gate-level netlist, simulated by axhw.measure.lut, equals a numpy model."""
    bits, t = 6, 5
    path = tmp_path / "lor.v"
    path.write_text(digits.or_array_netlist(bits, t))
    lut = design_lut(load_external(path), use_cache=False)
    a, b = np.meshgrid(np.arange(1 << bits), np.arange(1 << bits), indexing="ij")
    want = np.zeros_like(a)
    for c in range(2 * bits - 1):  # the top column holds no partial product
        pp = [((a >> j) & 1) & ((b >> (c - j)) & 1) for j in range(bits) if 0 <= c - j < bits]
        want += (np.bitwise_or.reduce(pp) if c < t else np.sum(pp, axis=0)) << c
    assert np.array_equal(lut, want)
    assert not np.array_equal(lut, a * b)


def test_digits_quantize_approximate_retrain(digits, trained, tmp_path):
    model, train, xtr, xte, yte = trained
    acc_float = digits.accuracy(model, xte, yte)
    assert acc_float > 0.9
    calib = [xtr[:256], xtr[256:512]]
    exact = approximate(model, {"*": make("exact", 8)}, calib)
    assert abs(digits.accuracy(exact, xte, yte) - acc_float) < 0.03
    # an aggressive design from `axhw gen`, LUT simulated from its RTL
    design = load_design(write_design(make("perforated", 8, start=1, count=5), tmp_path))
    lut = Lut(design_lut(design), design.signed, design.top)
    approx = approximate(model, {"*": lut}, calib)
    acc_approx = digits.accuracy(approx, xte, yte)
    assert acc_approx < acc_float - 0.03  # it does hurt
    for grad in ("ste", "lut"):
        torch.manual_seed(0)
        r = approximate(model, {"*": lut}, calib, gradient=grad, half_window=4)
        losses = finetune(r, train, 1, lr=1e-3)
        assert np.isfinite(losses).all()
        assert digits.accuracy(r, xte, yte) > acc_approx + 0.02  # retraining recovers accuracy
