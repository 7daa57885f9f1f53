"""The systolic array's parameters: a frozen dataclass validated at construction, like a family.

An R×C weight-stationary array multiplies activation vectors x (R values, ``bits_a`` wide) by a
weight tile W (R×C, ``bits_b`` wide): ``y[j] = sum_i LUT_j[x[i], W[i, j]]`` where LUT_j is the
product table of column j's multiplier (any axhw family; one for all columns or one per column).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..infra.errors import AxhwError
from ..gen.families import get_family
from ..gen.families.base import MAX_BITS, MIN_BITS, Multiplier, check, check_range
from ..design.golden import product_lut

__all__ = ["PARAM_KEYS", "SystolicArray", "parse_multiplier"]

MAX_DIM = 64
MAX_ACC_BITS = 62  # the Python models keep sums in int64
PARAM_KEYS = ("rows", "cols", "acc_bits", "pipeline", "backpressure", "multiplier",
              "column_multipliers")


@dataclass(frozen=True)
class SystolicArray:
    rows: int
    cols: int
    multipliers: tuple[Multiplier, ...]  # one per column
    bits_a: int = 8  # activations (multiplier port a)
    bits_b: int = 8  # weights (multiplier port b)
    signed: bool = False
    acc_bits: int | None = None  # None: wide enough for `rows` products, never overflows
    pipeline: int = 0  # 1: a product register in every PE (+1 cycle latency)
    backpressure: int = 1  # 1: valid/ready with global stall; 0: valid only, never stalls

    family = "systolic"

    def __post_init__(self):
        for name in ("rows", "cols", "pipeline", "backpressure"):
            v = getattr(self, name)
            check(isinstance(v, int) and not isinstance(v, bool), f"{name} must be an integer")
        check_range("rows", self.rows, 1, MAX_DIM)
        check_range("cols", self.cols, 1, MAX_DIM)
        check_range("bits_a", self.bits_a, MIN_BITS, MAX_BITS)
        check_range("bits_b", self.bits_b, MIN_BITS, MAX_BITS)
        check_range("pipeline", self.pipeline, 0, 1)
        check_range("backpressure", self.backpressure, 0, 1)
        check(self.bits_a + self.bits_b <= 16,
              f"bits_a+bits_b={self.bits_a + self.bits_b} is too wide: the array models use "
              "product tables, valid is up to 16 operand bits in total")
        check(len(self.multipliers) == self.cols,
              f"{len(self.multipliers)} column multipliers given for cols={self.cols}")
        for j, m in enumerate(self.multipliers):
            check((m.bits_a, m.bits_b, m.signed) == (self.bits_a, self.bits_b, self.signed),
                  f"column {j} multiplier {m.top} is {m.bits_a}x{m.bits_b} "
                  f"{'signed' if m.signed else 'unsigned'}; the array needs {self.bits_a}x"
                  f"{self.bits_b} {'signed' if self.signed else 'unsigned'}")
        if self.acc_bits is not None:
            check(isinstance(self.acc_bits, int), "acc_bits must be an integer")
            check_range("acc_bits", self.acc_bits, 2, MAX_ACC_BITS)
            shift = max(m.out_shift for m in self.multipliers)
            check(self.acc_bits > shift, f"acc_bits={self.acc_bits} must exceed the multipliers' "
                  f"out_shift ({shift})")
        check(self.acc_width <= MAX_ACC_BITS,
              f"the default accumulator needs {self.acc_width} bits (max {MAX_ACC_BITS})")

    # -- arithmetic --------------------------------------------------------------------------
    @cached_property
    def luts(self) -> tuple[np.ndarray, ...]:
        """Per column: the multiplier's output port read as its contract defines, at product
        scale (port value << out_shift), indexed [a_raw, b_raw]."""
        cache: dict[str, np.ndarray] = {}
        for m in self.multipliers:
            if m.top not in cache:
                lut = product_lut(m)
                lut.setflags(write=False)
                cache[m.top] = lut
        return tuple(cache[m.top] for m in self.multipliers)

    @property
    def acc_signed(self) -> bool:
        """Two's complement accumulator when operands are signed or any product can be negative."""
        return self.signed or any(m.out_signed for m in self.multipliers)

    @cached_property
    def default_acc_bits(self) -> int:
        """Smallest width holding any sum of `rows` products of every column's table."""
        lo = min(int(lut.min()) for lut in self.luts) * self.rows
        hi = max(int(lut.max()) for lut in self.luts) * self.rows
        if self.acc_signed:
            return max(2, max(hi.bit_length(), (-lo - 1).bit_length() if lo < 0 else 0) + 1)
        return max(2, hi.bit_length())

    @property
    def acc_width(self) -> int:
        return self.default_acc_bits if self.acc_bits is None else self.acc_bits

    @property
    def latency(self) -> int:
        """Clock enables from accepting a vector to its result on out_data."""
        return self.rows + self.cols + self.pipeline

    @property
    def homogeneous(self) -> bool:
        return len({m.top for m in self.multipliers}) == 1

    @property
    def distinct_multipliers(self) -> list[Multiplier]:
        seen: dict[str, Multiplier] = {}
        for m in self.multipliers:
            seen.setdefault(m.top, m)
        return list(seen.values())

    # -- naming and parameters ---------------------------------------------------------------
    @property
    def top(self) -> str:
        """e.g. ``sa4x4_mul8u_exact`` (homogeneous) or ``sa4x4_8u_het_1a2b3c4d``."""
        dims = f"sa{self.rows}x{self.cols}"
        if self.homogeneous:
            name = f"{dims}_{self.multipliers[0].top}"
        else:
            digest = hashlib.sha256(",".join(m.top for m in self.multipliers).encode()).hexdigest()
            width = f"{self.bits_a}" if self.bits_a == self.bits_b else f"{self.bits_a}x{self.bits_b}"
            name = f"{dims}_{width}{'s' if self.signed else 'u'}_het_{digest[:8]}"
        if self.acc_bits is not None and self.acc_bits != self.default_acc_bits:
            name += f"_acc{self.acc_bits}"
        if self.pipeline:
            name += "_p1"
        if not self.backpressure:
            name += "_nobp"
        return name

    def params(self) -> dict[str, Any]:
        return {"rows": self.rows, "cols": self.cols, "acc_bits": self.acc_width,
                "acc_signed": self.acc_signed, "pipeline": self.pipeline,
                "backpressure": self.backpressure,
                "latency": self.latency,
                "column_multipliers": [m.top for m in self.multipliers]}

    @classmethod
    def from_strings(cls, bits_a: int, bits_b: int, signed: bool,
                     kv: dict[str, str]) -> "SystolicArray":
        """Build from ``-p KEY=VALUE`` strings (see PARAM_KEYS)."""
        for key in kv:
            if key not in PARAM_KEYS:
                raise AxhwError(f"unknown parameter {key!r} for type systolic "
                                f"(parameters: {', '.join(PARAM_KEYS)})")
        for key in ("rows", "cols"):
            if key not in kv:
                raise AxhwError(f"type systolic needs -p {key}=N")
        ints = {k: _int(k, kv[k]) for k in ("rows", "cols", "acc_bits", "pipeline", "backpressure")
                if k in kv}
        if "multiplier" in kv and "column_multipliers" in kv:
            raise AxhwError("give either -p multiplier=SPEC or -p column_multipliers=SPEC;SPEC;..., "
                            "not both")
        if "column_multipliers" in kv:
            specs = [s.strip() for s in kv["column_multipliers"].split(";")]
            if len(specs) != ints["cols"]:
                raise AxhwError(f"column_multipliers lists {len(specs)} specs; cols={ints['cols']} "
                                "needs one per column (separate them with ';')")
        else:
            specs = [kv.get("multiplier", "exact").strip()] * ints["cols"]
        made = {s: parse_multiplier(s, bits_a, bits_b, signed) for s in set(specs)}
        muls = tuple(made[s] for s in specs)
        return cls(rows=ints["rows"], cols=ints["cols"], multipliers=muls, bits_a=bits_a,
                   bits_b=bits_b, signed=signed, acc_bits=ints.get("acc_bits"),
                   pipeline=ints.get("pipeline", 0), backpressure=ints.get("backpressure", 1))


def _int(key: str, raw: str) -> int:
    try:
        return int(raw.strip(), 0)
    except ValueError:
        raise AxhwError(f"parameter {key}={raw!r}: expected an integer") from None


def parse_multiplier(spec: str, bits_a: int, bits_b: int, signed: bool) -> Multiplier:
    """A multiplier from ``family[:k=v,k=v]`` (e.g. ``perforated:start=2,count=3``) or the path
    of a design JSON written by ``axhw gen``. Tuple values keep their commas:
    ``fam:rows=1,2,3,x=4`` gives rows="1,2,3"."""
    if not spec:
        raise AxhwError("empty multiplier spec: use e.g. exact or perforated:start=2,count=3")
    if spec.endswith(".json") or "/" in spec:
        from ..design.record import load_design  # noqa: PLC0415 - design imports families; keep it lazy

        design = load_design(Path(spec))
        if design.spec is None:
            raise AxhwError(f"{spec}: external Verilog has no golden model; the array needs an "
                            "axhw family design")
        return design.spec
    name, _, rest = spec.partition(":")
    kv: dict[str, str] = {}
    last = None
    for piece in (p.strip() for p in rest.split(",") if p.strip()):
        if "=" in piece:
            last, value = (s.strip() for s in piece.split("=", 1))
            if last in kv:
                raise AxhwError(f"multiplier spec {spec!r}: {last} given twice")
            kv[last] = value
        elif last is not None:
            kv[last] += "," + piece
        else:
            raise AxhwError(f"multiplier spec {spec!r}: expected KEY=VALUE after ':'")
    try:
        return get_family(name.strip()).from_strings(bits_a, bits_b, signed, kv)
    except AxhwError as exc:
        raise AxhwError(f"multiplier {spec!r}: {exc}") from None
