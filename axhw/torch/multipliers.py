"""What a layer multiplies with: resolve user multiplier specs to product tables, expand assignments.

A multiplier spec is one of: a :class:`Lut`; a LUT array ``[a_raw, b_raw]`` (numpy/torch, read as
an unsigned multiplier; wrap it in ``Lut(table, signed=True)`` for a signed one); a family instance
(``axhw.gen.families.make(...)``, table from its golden model); a loaded design or a DESIGN.json
path (table simulated from its RTL by :func:`axhw.measure.lut.design_lut`); a ``.npy`` LUT path; or a
family spec string ``"NAME[:KEY=VALUE,...]"`` (keys ``signed`` and ``bits`` besides the family's
parameters, bits defaulting to the quantization bits), e.g. ``"perforated:start=2,count=3"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..design.record import Design, load_design
from ..infra.errors import AxhwError
from ..gen.families import get_family
from ..gen.families.base import Multiplier
from ..design.golden import product_lut as spec_lut
from ..measure.lut import design_lut
from .quant import signed_magnitude_lut

__all__ = ["LayerMultipliers", "Lut", "expand", "resolve"]


@dataclass(frozen=True, eq=False)
class Lut:
    """A product table indexed ``[a_raw, b_raw]`` (int64, 2^n x 2^n) and its operand signedness."""

    table: np.ndarray
    signed: bool = False
    name: str = "lut"

    def __post_init__(self):
        t = np.asarray(self.table)
        if t.dtype.kind not in "iu":
            if t.dtype.kind != "f" or not np.all(t == np.round(t)):
                raise AxhwError(f"LUT {self.name}: entries must be integers (got dtype {t.dtype})")
        side = t.shape[0] if t.ndim == 2 else 0
        if t.ndim != 2 or t.shape[0] != t.shape[1] or side < 4 or side & (side - 1):
            raise AxhwError(f"LUT {self.name}: expected a square 2^n x 2^n table, got shape "
                            f"{tuple(t.shape)}")
        object.__setattr__(self, "table", t.astype(np.int64))

    @property
    def bits(self) -> int:
        return int(self.table.shape[0]).bit_length() - 1

    def operand_table(self) -> np.ndarray:
        """The table the emulator indexes with operand codes (sign-magnitude-extended if unsigned)."""
        return self.table if self.signed else signed_magnitude_lut(self.table, self.bits)


def _from_family_string(text: str, bits: int) -> Lut:
    name, _, rest = text.partition(":")
    kv: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise AxhwError(f"multiplier spec {text!r}: expected KEY=VALUE, got {item!r}")
        kv[key.strip()] = value.strip()
    signed = kv.pop("signed", "0").lower() in ("1", "true", "yes", "on")
    try:
        nbits = int(kv.pop("bits", str(bits)), 0)
    except ValueError:
        raise AxhwError(f"multiplier spec {text!r}: bits must be an integer") from None
    spec = get_family(name.strip()).from_strings(nbits, nbits, signed, kv)
    return Lut(spec_lut(spec), spec.signed, spec.top)


def resolve(m, bits: int) -> Lut:
    """Turn one multiplier spec into a :class:`Lut` with n-bit operands (n = quantization bits)."""
    if isinstance(m, Lut):
        lut = m
    elif isinstance(m, Multiplier):
        lut = Lut(spec_lut(m), m.signed, m.top)
    elif isinstance(m, Design):
        lut = Lut(design_lut(m), m.signed, m.top)
    elif isinstance(m, (str, Path)) and str(m).endswith(".json"):
        d = load_design(m)
        lut = Lut(design_lut(d), d.signed, d.top)
    elif isinstance(m, (str, Path)) and str(m).endswith(".npy"):
        try:
            table = np.load(m)
        except (OSError, ValueError) as exc:
            raise AxhwError(f"cannot read LUT {m}: {exc}") from None
        lut = Lut(table, False, Path(m).stem)
    elif isinstance(m, str):
        lut = _from_family_string(m, bits)
    elif hasattr(m, "shape"):
        lut = Lut(m.detach().cpu().numpy() if hasattr(m, "detach") else np.asarray(m))
    else:
        raise AxhwError(f"cannot use {type(m).__name__} {m!r} as a multiplier: give a Lut, LUT array, "
                        "family instance, design, DESIGN.json/.npy path or 'family:key=value' string")
    if lut.bits != bits:
        raise AxhwError(f"multiplier {lut.name} has {lut.bits}-bit operands but the layers are "
                        f"quantized to {bits} bits: use bits={lut.bits} or a {bits}-bit multiplier")
    return lut


@dataclass
class LayerMultipliers:
    """The multipliers of one layer: operand tables stacked (L, S, S) and which one each product uses.

    `index` is None (one multiplier), shape (N,) (per output channel / filter) or (N, C_in) (per
    kernel: output channel x input channel).
    """

    luts: list[Lut]
    index: np.ndarray | None
    signed: bool
    bits: int
    tables: np.ndarray = field(init=False)

    def __post_init__(self):
        self.tables = np.stack([lut.operand_table() for lut in self.luts])

    @property
    def names(self) -> list[str]:
        return [lut.name for lut in self.luts]


def _is_spec_list(v) -> bool:
    return isinstance(v, (list, tuple))


def expand(value, bits: int, layer: str, out_channels: int | None,
           in_channels: int | None) -> LayerMultipliers:
    """One assignment value -> LayerMultipliers: a spec (per layer), a list of N specs (per filter,
    Linear/Conv2d) or an N x C_in nested list (per kernel, Conv2d; C_in per group)."""
    if not _is_spec_list(value):
        grid, level = [value], "layer"
    elif out_channels is None:
        raise AxhwError(f"{layer}: an attention matmul takes one multiplier, not a list")
    elif value and all(_is_spec_list(v) for v in value):
        if in_channels is None:
            raise AxhwError(f"{layer}: per-kernel assignment needs a convolution")
        if len(value) != out_channels or any(len(v) != in_channels for v in value):
            raise AxhwError(f"{layer}: per-kernel assignment must be {out_channels} x {in_channels}"
                            " (output x input channels)")
        grid, level = [m for row in value for m in row], "kernel"
    else:
        if len(value) != out_channels:
            raise AxhwError(f"{layer}: per-filter assignment has {len(value)} entries, the layer has "
                            f"{out_channels} output channels")
        grid, level = list(value), "filter"
    resolved: dict[int, int] = {}  # id(spec) -> position in luts: resolve each object once
    luts: list[Lut] = []
    keys: dict[tuple, int] = {}
    index = np.zeros(len(grid), dtype=np.int64)
    for i, m in enumerate(grid):
        if id(m) not in resolved:
            lut = resolve(m, bits)
            key = (lut.signed, lut.table.tobytes())
            if key not in keys:
                keys[key] = len(luts)
                luts.append(lut)
            resolved[id(m)] = keys[key]
        index[i] = resolved[id(m)]
    signs = {lut.signed for lut in luts}
    if len(signs) > 1:
        raise AxhwError(f"{layer}: mixes signed and unsigned multipliers; one layer quantizes its "
                        "operands one way")
    if level == "layer" or len(luts) == 1:
        idx = None
    else:
        idx = index.reshape(out_channels, in_channels) if level == "kernel" else index
    return LayerMultipliers(luts, idx, signs.pop(), bits)
