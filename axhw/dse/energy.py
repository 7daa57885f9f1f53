"""Energy model: MACs per emulated multiplication site (counted in a calibration forward pass) times
the energy per multiplication of the design assigned to it, relative to the exact reference design.
Sites that cannot be emulated run exact float and are not in the energy (see macs_exact_fraction)."""

from __future__ import annotations

import torch
from torch import nn

from ..infra.errors import AxhwError
from ..torch.api import site_table
from .library import Library

__all__ = ["assignment_energy", "count_macs", "unit_designs"]


def count_macs(model: nn.Module, calibration: list[torch.Tensor]) -> dict[str, int]:
    """{site: multiplications per inference} for every emulated multiplication site of `model`,
    counted where torch computes them over the calibration batches (functional calls included:
    nn.MultiheadAttention's out_proj, F.linear on a module's weights; a routed expert is charged
    the tokens it gets). Sites that cannot be emulated are not here."""
    return {s.name: int(round(s.macs)) for s in site_table(model, calibration).values() if s.emulated}


def unit_designs(value) -> list[str]:
    """Flat list of the designs of one layer's assignment value (layer / filter / kernel)."""
    if isinstance(value, str):
        return [value]
    if value and isinstance(value[0], (list, tuple)):
        return [d for row in value for d in row]
    return list(value)


def assignment_energy(layers: dict, macs: dict[str, int], library: Library) -> tuple[float, float]:
    """(energy_pj per inference, energy_rel): every unit of a layer does an equal share of its MACs;
    a layer not in `layers` runs on the reference (exact) design."""
    ref = library.reference_energy
    total_ref = sum(macs.values()) * ref
    pj = 0.0
    for name, m in macs.items():
        if name not in layers:
            pj += m * ref
            continue
        units = unit_designs(layers[name])
        pj += m * sum(library.energy(d) for d in units) / len(units)
    unknown = sorted(set(layers) - set(macs))
    if unknown:
        raise AxhwError(f"unknown layer {unknown[0]!r}: the model's layers are {', '.join(macs)}")
    return pj, (pj / total_ref if total_ref > 0 else 1.0)
