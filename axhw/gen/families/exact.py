"""Exact multipliers: AND array (Baugh–Wooley when signed) or radix-4 Booth, any tree (spec §2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hdl import booth
from ..hdl.pparray import build_and_array
from .base import (WIDE_BITS, Multiplier, TreeReduced, check_choice, final_adder_param, param,
                   tree_param)

__all__ = ["ENCODINGS", "ExactMultiplier"]

ENCODINGS = ("and", "booth")


@dataclass(frozen=True)
class ExactMultiplier(TreeReduced, Multiplier):
    encoding: str = param("and", "partial products: AND array or radix-4 Booth", short="",
                          range="and|booth")
    tree: str = tree_param()
    final_adder: str = final_adder_param()

    family = "exact"
    abbrev = "exact"
    description = "exact multiplier"
    max_bits = WIDE_BITS
    bit_linear = True

    def validate(self) -> None:
        check_choice("encoding", self.encoding, ENCODINGS)

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return A.astype(np.int64) * B.astype(np.int64)

    def behavioural_verilog(self) -> str:
        from ..hdl.reference import ref_module  # noqa: PLC0415

        return ref_module(self, "sa * sb")

    def build(self, nl, a, b) -> None:
        if self.encoding == "and":
            m = build_and_array(nl, a, b, self.out_bits, self.signed, lambda i, j: True)
        else:
            rows = range(booth.num_digits(self.bits_b, self.signed))
            m = booth.build_booth(nl, a, b, self.out_bits, self.signed, rows)
        self.emit_product(nl, m)
