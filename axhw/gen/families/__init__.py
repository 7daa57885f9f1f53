"""Registry of multiplier families: ``axhw gen --type NAME`` looks them up here."""

from __future__ import annotations

import importlib

from ...infra.errors import AxhwError
from .base import Multiplier

__all__ = ["register", "family_names", "get_family", "make"]

# type name -> "module:Class"; modules are imported on first use.
_REGISTRY: dict[str, str] = {
    "exact": "axhw.gen.families.exact:ExactMultiplier",
    "perforated": "axhw.gen.families.perforated:PerforatedMultiplier",
    "rounded": "axhw.gen.families.rounded:RoundedMultiplier",
    "roup": "axhw.gen.families.roup:RoupMultiplier",
    "truncated": "axhw.gen.families.truncated:TruncatedMultiplier",
    "bam": "axhw.gen.families.bam:BrokenArrayMultiplier",
    "masked": "axhw.gen.families.masked:MaskedMultiplier",
    "compressor": "axhw.gen.families.compressor:CompressorMultiplier",
    "recursive": "axhw.gen.families.recursive:RecursiveMultiplier",
    "pruned": "axhw.gen.families.pruned:PrunedMultiplier",
}


def register(name: str, target: str) -> None:
    _REGISTRY[name] = target


def family_names() -> list[str]:
    return sorted(_REGISTRY)


def get_family(name: str) -> type[Multiplier]:
    if name not in _REGISTRY:
        raise AxhwError(f"unknown type {name!r}: choose one of {', '.join(family_names())}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make(name: str, bits_a: int = 8, bits_b: int | None = None, signed: bool = False,
         **params) -> Multiplier:
    """Python API: ``make('perforated', 8, start=2, count=3)``."""
    return get_family(name)(bits_a=bits_a, bits_b=bits_a if bits_b is None else bits_b,
                            signed=signed, **params)
