"""Mixture-of-experts layers (AxMoE, spec dse.md §5) and experts as a DSE granularity.

:class:`MoE` is a token-wise mixture of two-layer MLP experts (``experts.<e>.fc1``/``fc2``, an
``nn.ModuleList``) behind a linear ``router``. ``routing="hard"``: each token goes to its top-k
experts only, so an expert's layers run on the tokens routed to it and MAC counting
(:func:`axhw.dse.energy.count_macs`, a calibration forward pass) charges it exactly those tokens;
``"soft"``: every expert sees every token and the outputs are mixed by the router's softmax.
All layers are plain ``nn.Linear``, so ``axhw.torch.approximate`` reaches them with globs like
``"*.experts.*.fc1"`` or ``"*.router"``.

:func:`expert_groups` turns a model into DSE units for ``--granularity expert``: every expert
(a child of an ``nn.ModuleList`` named ``experts``) is one unit whose approximable layers share a
multiplier; every other approximable layer is a unit of its own.
"""

from __future__ import annotations

import torch
from torch import nn

from ..infra.errors import AxhwError
from ..torch import candidate_layers

__all__ = ["Expert", "MnistMoE", "MoE", "ROUTINGS", "WithAuxLoss", "expert_groups", "mnist_features"]

ROUTINGS = ("hard", "soft")


class Expert(nn.Module):
    def __init__(self, dim: int, hidden: int, out: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


class WithAuxLoss(torch.autograd.Function):
    """Returns x; its backward also gives `aux` gradient `weight`, i.e. adds weight·aux to whatever
    loss is being minimised (so a plain training loop trains the load balance too)."""

    @staticmethod
    def forward(ctx, x, aux, weight: float):
        ctx.weight, ctx.shape = weight, aux.shape
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g, torch.full(ctx.shape, ctx.weight, dtype=g.dtype, device=g.device), None


class MoE(nn.Module):
    """Token-wise MoE over the last dimension; ``load`` counts the tokens each expert received in
    the last forward (hard routing) — the routing statistics the MAC count follows. In training,
    hard routing adds Switch's load-balancing loss (weight ``balance``)."""

    def __init__(self, dim: int, hidden: int, num_experts: int = 4, top_k: int = 1,
                 routing: str = "hard", out: int | None = None, balance: float = 0.25):
        super().__init__()
        if routing not in ROUTINGS:
            raise AxhwError(f"routing={routing!r} is not valid: choose one of {', '.join(ROUTINGS)}")
        if not 1 <= top_k <= num_experts:
            raise AxhwError(f"top_k={top_k} must be in 1..{num_experts}")
        self.routing, self.top_k, self.balance = routing, top_k, balance
        self.out = dim if out is None else out
        self.router = nn.Linear(dim, num_experts)
        self.experts = nn.ModuleList(Expert(dim, hidden, self.out) for _ in range(num_experts))
        self.register_buffer("load", torch.zeros(num_experts, dtype=torch.int64), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.reshape(-1, x.shape[-1])
        shape = x.shape[:-1] + (self.out,)
        probs = self.router(tokens).softmax(-1)
        if self.routing == "soft":
            out = sum(probs[:, e:e + 1] * expert(tokens) for e, expert in enumerate(self.experts))
            self.load.fill_(tokens.shape[0])
            return out.reshape(shape)
        idx = probs.topk(self.top_k, dim=-1).indices
        gates = probs.gather(-1, idx)  # the router's probabilities (Switch), so it trains
        out = tokens.new_zeros(tokens.shape[0], self.out)
        for e, expert in enumerate(self.experts):
            rows, slot = (idx == e).nonzero(as_tuple=True)
            self.load[e] = rows.numel()
            if rows.numel():
                out = out.index_add(0, rows, gates[rows, slot, None] * expert(tokens[rows]))
        if self.training and self.balance > 0:
            share = self.load.to(probs.dtype) / max(tokens.shape[0], 1)
            aux = len(self.experts) * (share * probs.mean(0)).sum()
            out = WithAuxLoss.apply(out, aux, self.balance)
        return out.reshape(shape)


def mnist_features(c1: int = 16, c2: int = 32) -> nn.Sequential:
    """The convolutions of mnist-cnn and the mnist-moe built-ins: 28x28 -> c2 x 7 x 7, flattened."""
    return nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten())


class MnistMoE(nn.Module):
    """MNIST model of the MoE built-ins: mnist-cnn's convolutions, then its classifier
    (1568 -> 64 -> 10) as a mixture of 4 experts routed per image. ``num_experts=1``: the dense
    counterpart."""

    def __init__(self, routing: str = "hard", num_experts: int = 4):
        super().__init__()
        self.features = mnist_features()
        self.moe = MoE(1568, 64, num_experts, 1, routing, out=10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.moe(self.features(x))


def expert_groups(model: nn.Module, layers=None) -> dict[str, list[str]]:
    """{unit: [approximable layer names]} with every expert one unit (see module doc); `layers`:
    the site names to group (default: those the module types give)."""
    layers = candidate_layers(model) if layers is None else layers
    experts = [f"{name}.{child}" if name else child
               for name, m in model.named_modules()
               if isinstance(m, nn.ModuleList) and name.rsplit(".", 1)[-1] == "experts"
               for child, _ in m.named_children()]
    if not experts:
        raise AxhwError("--granularity expert: the model has no expert modules (children of an "
                        "nn.ModuleList named 'experts')")
    groups: dict[str, list[str]] = {}
    for layer in layers:
        owner = next((e for e in experts if layer.startswith(e + ".")), layer)
        groups.setdefault(owner, []).append(layer)
    return groups
