"""The seed papers' architectures as built-in tasks (issue 17 §2). CI never trains the real
models (benchmarks/builtins_train.py checks their accuracy targets): the machinery runs here at
tiny widths, epochs and training sets."""

import pickle

import numpy as np
import pytest
import torch

from axhw.dse import ARCHITECTURES, cifar, train_task
from axhw.dse import builtins as bi
from axhw.dse.energy import count_macs
from axhw.dse.moe import expert_groups
from axhw.dse.zoo import StageMoE, pool_image
from axhw.infra.errors import AxhwError
from axhw.torch import candidate_layers

TINY = {"width": 0.25, "epochs": 1, "train_samples": 96}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_architectures_build_at_any_width_and_expose_their_layers(name):
    torch.manual_seed(0)
    for channels in (1, 3):
        model = ARCHITECTURES[name](channels, 10, 0.25).eval()
        x = torch.rand(5, channels, 32, 32)
        assert model(x).shape == (5, 10)
        macs = count_macs(model, [x])
        assert sum(macs.values()) > 0
    kinds = candidate_layers(model, x).values()  # products inside modules need an example
    if name == "vit-s":
        assert "matmul" in kinds  # Q·Kᵀ and A·V are approximable layers
    if name == "mobilenet":
        convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
        assert any(m.groups == m.in_channels > 1 for m in convs)  # depthwise


@pytest.mark.parametrize("routing", ["hard", "soft", "cluster"])
def test_moe_routing_and_expert_units(routing):
    torch.manual_seed(0)
    model = ARCHITECTURES[f"resnet20-moe-{routing}"](1, 10, 0.25).eval()
    moe = model.layer3
    x = torch.rand(40, 1, 32, 32)
    bi.fit_clusters(model, x)
    model(x)
    assert len(expert_groups(model)) >= 4
    if routing == "soft":
        assert moe.load.tolist() == [40] * 4
    else:
        assert int(moe.load.sum()) == 40  # one expert per image
    if routing == "cluster":
        near = torch.cdist(pool_image(x), moe.centroids).argmin(-1)
        assert moe.load.tolist() == torch.bincount(near, minlength=4).tolist()
        assert len(set(near.tolist())) > 1  # the k-means centres split the images
        assert "layer3.centroids" in model.state_dict()  # cached with the weights


def test_shift_augmentation_moves_each_image_within_the_bound():
    x = torch.zeros(50, 1, 9, 9)
    x[:, 0, 4, 4] = 1.0
    out = bi._shifted(x, torch.Generator().manual_seed(0), 2)
    assert out.shape == x.shape and (out.sum((1, 2, 3)) == 1).all()
    pos = out[:, 0].flatten(1).argmax(1)
    dy, dx = pos // 9 - 4, pos % 9 - 4
    assert dy.abs().max() <= 2 and dx.abs().max() <= 2 and len(set(zip(dy.tolist(), dx.tolist()))) > 5
    assert bi._shifted(x, torch.Generator(), 0) is x


def test_builtin_training_is_deterministic_cached_and_data_matters(tmp_path, monkeypatch):
    monkeypatch.setenv("AXHW_CACHE_DIR", str(tmp_path))
    a = bi.builtin_task("resnet20-moe-cluster", **TINY)
    assert a.name == "builtin:resnet20-moe-cluster" and sum(len(y) for _, y in a.evaluation) == 1000
    assert a.calibration[0].shape == (64, 1, 32, 32)  # MNIST padded to 32x32
    monkeypatch.setattr(bi, "train", lambda *a, **k: pytest.fail("retrained despite the cache"))
    again = bi.builtin_task("resnet20-moe-cluster", **TINY)
    for (k, v), w in zip(a.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(v, w), k
    monkeypatch.undo()
    monkeypatch.setenv("AXHW_CACHE_DIR", str(tmp_path / "fresh"))
    fresh = bi.builtin_task("resnet20-moe-cluster", **TINY)  # trained again: the same weights
    assert all(torch.equal(v, w) for v, w in zip(a.model.state_dict().values(),
                                                 fresh.model.state_dict().values()))
    more = bi.builtin_task("resnet20-moe-cluster", **{**TINY, "train_samples": 128})
    assert not torch.equal(more.model.fc.weight, a.model.fc.weight)
    with pytest.raises(AxhwError, match="unknown built-in task 'resnet21'.*vit-s"):
        bi.builtin_task("resnet21")


def test_train_task_on_a_cifar_pickle(tmp_path, monkeypatch):
    monkeypatch.setenv("AXHW_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 80)
    data = rng.integers(0, 60, (80, 3072)).astype(np.uint8)
    data[:, :1024] += (labels * 19).astype(np.uint8)[:, None]  # the red channel gives the class away
    for name, rows in (("data_batch_1", slice(0, 64)), ("test_batch", slice(64, 80))):
        with open(tmp_path / name, "wb") as f:
            pickle.dump({b"data": data[rows], b"labels": labels[rows].tolist()}, f)
    task = train_task("vgg11-bn", cifar(tmp_path / "data_batch_1"), cifar(tmp_path / "test_batch"),
                      epochs=1, width=0.25)
    assert task.model[0].in_channels == 3 and task.model[-1].out_features == 10
    acc, out = task.score(task.model)
    assert out.shape == (16, 10) and task.outcomes(out).shape == (16,)
    with pytest.raises(AxhwError, match="32, 32"):
        train_task("resnet8", [(torch.zeros(2, 3, 28, 28), torch.zeros(2, dtype=torch.int64))], [])
    with pytest.raises(AxhwError, match="unknown architecture"):
        train_task("resnet9", [], [])
