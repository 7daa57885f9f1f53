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

from ..errors import AxhwError
from ..torch import candidate_layers

ROUTINGS = ("hard", "soft")


class Expert(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


class MoE(nn.Module):
    """Token-wise MoE over the last dimension; ``load`` counts the tokens each expert received in
    the last forward (hard routing) — the routing statistics the MAC count follows."""

    def __init__(self, dim: int, hidden: int, num_experts: int = 4, top_k: int = 1,
                 routing: str = "hard"):
        super().__init__()
        if routing not in ROUTINGS:
            raise AxhwError(f"routing={routing!r} is not valid: choose one of {', '.join(ROUTINGS)}")
        if not 1 <= top_k <= num_experts:
            raise AxhwError(f"top_k={top_k} must be in 1..{num_experts}")
        self.routing, self.top_k = routing, top_k
        self.router = nn.Linear(dim, num_experts)
        self.experts = nn.ModuleList(Expert(dim, hidden) for _ in range(num_experts))
        self.register_buffer("load", torch.zeros(num_experts, dtype=torch.int64), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.reshape(-1, x.shape[-1])
        logits = self.router(tokens)
        if self.routing == "soft":
            gates = logits.softmax(-1)
            out = sum(gates[:, e:e + 1] * expert(tokens) for e, expert in enumerate(self.experts))
            self.load.fill_(tokens.shape[0])
            return out.reshape(x.shape)
        top, idx = logits.topk(self.top_k, dim=-1)
        gates = top.softmax(-1)
        out = torch.zeros_like(tokens)
        for e, expert in enumerate(self.experts):
            rows, slot = (idx == e).nonzero(as_tuple=True)
            self.load[e] = rows.numel()
            if rows.numel():
                out = out.index_add(0, rows, gates[rows, slot, None] * expert(tokens[rows]))
        return out.reshape(x.shape)


def expert_groups(model: nn.Module) -> dict[str, list[str]]:
    """{unit: [approximable layer names]} with every expert one unit (see module doc)."""
    layers = candidate_layers(model)
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
