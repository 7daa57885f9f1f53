"""MoE (AxMoE): expert layers approximable through globs, MACs follow the routing statistics of the
calibration pass (hand counts), experts as DSE units."""

import pytest
import torch
from torch import nn

import axhw.torch as at
from axhw.dse.moe import MoE, expert_groups
from axhw.infra.errors import AxhwError


def _routed_moe(routing="hard"):
    """4 experts; the router sends a token to the expert of its largest feature."""
    torch.manual_seed(0)
    moe = MoE(dim=4, hidden=8, num_experts=4, routing=routing)
    with torch.no_grad():
        moe.router.weight.copy_(torch.eye(4) * 10)
        moe.router.bias.zero_()
    return nn.Sequential(moe)


def _tokens(counts, per_sample=10):
    """(samples, per_sample, 4) tokens, counts[e] of them routed to expert e."""
    rows = [torch.eye(4)[e] + 0.01 * torch.rand(4) for e, n in enumerate(counts) for _ in range(n)]
    return torch.stack(rows).reshape(-1, per_sample, 4)


def test_expert_globs_reach_the_experts_and_router():
    model, x = _routed_moe(), _tokens([10, 30, 50, 10])
    q = at.approximate(model, {"*.experts.*.fc1": "perforated:start=0,count=4", "*.router": "exact"}, [x])
    names = set(at.approx_layers(q))
    assert names == {"0.router"} | {f"0.experts.{e}.fc1" for e in range(4)}
    with torch.no_grad():
        assert not torch.equal(q(x), model(x))


def test_hard_routing_macs_follow_the_tokens():
    from axhw.dse.energy import count_macs

    x = _tokens([10, 30, 60, 0])  # 100 tokens = 10 samples of 10
    macs = count_macs(_routed_moe("hard"), [x])
    dense = 10 * 4 * 8  # one expert layer on all 10 tokens of a sample
    assert macs["0.router"] == 10 * 4 * 4
    for e, share in enumerate([0.1, 0.3, 0.6, 0.0]):
        assert macs[f"0.experts.{e}.fc1"] == round(share * dense)
        assert macs[f"0.experts.{e}.fc2"] == round(share * dense)
    soft = count_macs(_routed_moe("soft"), [x])
    assert all(soft[f"0.experts.{e}.fc1"] == dense for e in range(4))


def test_expert_groups():
    model = nn.Sequential(nn.Linear(4, 4), MoE(4, 8, num_experts=3))
    groups = expert_groups(model)
    assert groups == {"0": ["0"], "1.router": ["1.router"],
                      **{f"1.experts.{e}": [f"1.experts.{e}.fc1", f"1.experts.{e}.fc2"] for e in range(3)}}
    with pytest.raises(AxhwError, match="no expert modules"):
        expert_groups(nn.Sequential(nn.Linear(4, 4)))
    with pytest.raises(AxhwError, match="routing="):
        MoE(4, 8, routing="cluster")
