"""What every multiplier family is: a frozen parameter dataclass with its golden model and hardware.

A family subclasses :class:`Multiplier`, adds its parameters as dataclass fields (with
``param(...)`` metadata: help text, short name for the module name, range text), validates them in
``validate()``, and implements ``golden(A, B)`` (vectorized numpy, exact integers) and
``build(nl, a, b)`` (drives the output through the shared trees). Construction validates, so an
instance is always a buildable design.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ...infra.errors import AxhwError
from ..hdl import trees
from ..hdl.adders import ADDERS
from ..hdl.bitmatrix import BitMatrix
from ..hdl.netlist import Netlist
from ..hdl.trees import TREES

__all__ = ["MIN_BITS", "MAX_BITS", "WIDE_BITS", "param", "tree_param", "final_adder_param",
           "parse_kv", "check", "check_choice", "check_range", "Multiplier", "TreeReduced"]

MIN_BITS, MAX_BITS = 2, 16  # operand widths every family supports
WIDE_BITS = 32  # the widest operands of a family with ``max_bits = WIDE_BITS``


def param(default: Any, help: str, short: str | None = None, range: str = "",
          always: bool = False, quiet_default: bool = False) -> Any:
    """A family parameter. `short` names it in the module name; `always` shows it even at default;
    `quiet_default` leaves it out of the Verilog header at default, so designs from before the
    parameter existed keep their Verilog bytes (and hashes)."""
    meta = {"help": help, "short": short, "range": range, "always": always,
            "quiet_default": quiet_default}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use tuples for sequence defaults")
    return field(default=default, metadata=meta)


def tree_param() -> Any:
    """The reduction-tree parameter every tree-based family has (checked in __post_init__)."""
    return param("dadda", "reduction tree", short="", range="|".join(TREES))


def final_adder_param() -> Any:
    """The final carry-propagate adder of a :class:`TreeReduced` family (declared right after
    its `tree`)."""
    return param("synth", "final carry-propagate adder (synth: '+' left to the synthesizer)",
                 short="", range="|".join(ADDERS), quiet_default=True)


def parse_kv(items, flag: str = "-p") -> dict[str, str]:
    """``KEY=VALUE`` command-line items -> dict (for ``from_strings``); `flag` names the option
    in errors. Empty and repeated keys are errors."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise AxhwError(f"{flag} {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        k = k.strip()
        if not k:
            raise AxhwError(f"{flag} {item!r}: empty key")
        if k in out:
            raise AxhwError(f"{flag} {k} given twice")
        out[k] = v
    return out


def check(cond: bool, message: str) -> None:
    if not cond:
        raise AxhwError(message)


def check_choice(name: str, value: str, choices) -> None:
    check(value in choices, f"{name}={value!r} is not valid: choose one of {', '.join(choices)}")


def check_range(name: str, value: int, lo: int, hi: int) -> None:
    check(lo <= value <= hi, f"{name}={value} is out of range: valid is {lo}..{hi}")


@dataclass(frozen=True)
class Multiplier:
    bits_a: int = 8
    bits_b: int = 8
    signed: bool = False

    family: ClassVar[str] = ""
    abbrev: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # Product is a fixed sum of kept AND bits plus a constant (the emulator's tensor-core path).
    bit_linear: ClassVar[bool] = False
    # Widest operand: beyond 16 bits there is no LUT and metrics are sampled (docs/wide.md).
    max_bits: ClassVar[int] = MAX_BITS

    def __init_subclass__(cls, **kwargs):
        # A reduction tree comes with its selectable final adder: both through TreeReduced.
        super().__init_subclass__(**kwargs)
        declared = {name for c in cls.__mro__ for name in c.__dict__.get("__annotations__", {})}
        if "tree" in declared and not issubclass(cls, TreeReduced):
            raise TypeError(f"{cls.__name__} declares a reduction tree: mix in TreeReduced")
        if issubclass(cls, TreeReduced) and "final_adder" not in declared:
            raise TypeError(f"{cls.__name__}: a TreeReduced family declares final_adder")

    def __post_init__(self):
        for name in ("bits_a", "bits_b"):
            v = getattr(self, name)
            check(isinstance(v, int) and not isinstance(v, bool), f"{name} must be an integer")
            check_range(name, v, MIN_BITS, self.max_bits)
        for f in self.family_fields():
            _check_type(f.name, getattr(self, f.name), f.type)
        if "tree" in {f.name for f in dataclasses.fields(self)}:
            check_choice("tree", self.tree, TREES)
        if self.is_tree_based():
            check_choice("final_adder", self.final_adder, ADDERS)
        self.validate()

    @classmethod
    def is_tree_based(cls) -> bool:
        """Ends in a two-row sum whose carry-propagate adder is selectable (`final_adder`): the
        :class:`TreeReduced` families."""
        return issubclass(cls, TreeReduced)

    # -- to be provided by families -------------------------------------------------------------
    def validate(self) -> None:
        """Raise AxhwError (one line naming the rule) for invalid parameter combinations."""

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Exact integer result for operand values A, B (signed values when `signed`). int64."""
        raise NotImplementedError

    def build(self, nl: Netlist, a: list[str], b: list[str]) -> None:
        """Add the structure to `nl`, driving output port ``p`` (out_bits wide)."""
        raise NotImplementedError

    @property
    def out_bits(self) -> int:
        return self.bits_a + self.bits_b

    @property
    def out_signed(self) -> bool:
        """Whether port p is read as two's complement."""
        return self.signed

    @property
    def out_shift(self) -> int:
        """Port p holds the product's bits from this position up (fixed-width designs): the
        product-scale value is ``port value << out_shift``. 0 = the full product."""
        return 0

    def notes(self) -> list[str]:
        """Remarks recorded in the JSON and the Verilog header (e.g. why out_bits is wider)."""
        return []

    def behavioural_verilog(self) -> str | None:
        """The golden model as plain Verilog expressions (``*`` allowed): a module named
        ``<top>_ref`` with the ports of ``verilog()`` (a, b, p), for ``verify --method formal``.
        None = not expressible (formal verification then reports that in one line)."""
        return None

    # -- shared machinery ------------------------------------------------------------------------
    @classmethod
    def family_fields(cls) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(cls) if f.name not in ("bits_a", "bits_b", "signed")]

    def params(self) -> dict[str, Any]:
        """Family parameters, defaults resolved, JSON-ready."""
        out = {}
        for f in self.family_fields():
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def _header_params(self) -> dict[str, Any]:
        quiet = {f.name for f in self.family_fields()
                 if f.metadata.get("quiet_default") and getattr(self, f.name) == f.default}
        return {k: v for k, v in self.params().items() if k not in quiet}

    @property
    def top(self) -> str:
        """Deterministic, descriptive module name, e.g. ``mul8u_perf_j2_k3``."""
        width = f"{self.bits_a}" if self.bits_a == self.bits_b else f"{self.bits_a}x{self.bits_b}"
        parts = [f"mul{width}{'s' if self.signed else 'u'}", self.abbrev]
        for f in self.family_fields():
            v = getattr(self, f.name)
            if f.metadata.get("always") or v != f.default:
                short = f.metadata.get("short")
                parts.append(f"{f.name if short is None else short}{_name_value(v)}")
        return "_".join(parts)

    def verilog(self) -> str:
        nl = Netlist(self.top)
        nl.header_comment += [
            f"{self.top}: {self.description}",
            f"family={self.family} bits_a={self.bits_a} bits_b={self.bits_b} "
            f"signed={int(self.signed)} out_bits={self.out_bits}",
            "params: " + (", ".join(f"{k}={v}" for k, v in self._header_params().items())
                          or "(none)"),
            f"contract: p == golden(a, b) mod 2^{self.out_bits}"
            + (" (two's complement)" if self.out_signed else ""),
            "generated by axhw; do not edit",
        ] + [f"note: {n}" for n in self.notes()]
        a = nl.port("input", "a", self.bits_a)
        b = nl.port("input", "b", self.bits_b)
        nl.port("output", "p", self.out_bits)
        self.build(nl, a, b)
        return nl.emit()

    @classmethod
    def from_strings(cls, bits_a: int, bits_b: int, signed: bool, kv: dict[str, str]):
        """Build from generic ``-p KEY=VALUE`` strings, converting by field type."""
        fields = {f.name: f for f in cls.family_fields()}
        values: dict[str, Any] = {}
        for key, raw in kv.items():
            if key == "final_adder" and not cls.is_tree_based():
                raise AxhwError(f"final_adder applies to tree-based types only: {cls.family} "
                                "has no reduction tree")
            if key not in fields:
                known = ", ".join(fields) or "none"
                raise AxhwError(f"unknown parameter {key!r} for type {cls.family} (parameters: {known})")
            values[key] = _convert(key, raw, fields[key])
        return cls(bits_a=bits_a, bits_b=bits_b, signed=signed, **values)

    @classmethod
    def describe_params(cls) -> list[tuple[str, str, str, str]]:
        """(name, default, range, help) rows for --help-params."""
        rows = []
        for f in cls.family_fields():
            d = f.default
            rows.append((f.name, _name_value(d) if d not in (None, "") else "-",
                         f.metadata.get("range", ""), f.metadata.get("help", "")))
        return rows


class TreeReduced:
    """Mixin of the families whose partial products end in a reduction tree and a final
    carry-propagate adder. Such a family declares both as ordinary fields, ``tree: str =
    tree_param()`` (or a fixed ``tree: ClassVar[str]``) and, right after it, ``final_adder: str =
    final_adder_param()``, and drives its output with :meth:`emit_product`."""

    def emit_product(self, nl: Netlist, m: BitMatrix, out: str = "p") -> None:
        """Reduce `m` with the family's tree and final adder into output `out`."""
        trees.emit_product(nl, m, self.tree, self.final_adder, out)


def _name_value(v: Any) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, tuple):
        # "_" keeps the module name a Verilog identifier ("-" is not allowed there).
        return "_".join(_name_value(x) for x in v) or "none"
    if isinstance(v, int) and v < 0:
        return f"m{-v}"
    return str(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_type(name: str, value: Any, kind: Any) -> None:
    """A parameter of the type its field declares (a design JSON may hold anything)."""
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    ok = {"int": _is_int, "str": lambda v: isinstance(v, str),
          "bool": lambda v: isinstance(v, (bool, np.bool_)),
          "int | None": lambda v: v is None or _is_int(v),
          "tuple[int, ...]": lambda v: isinstance(v, tuple) and all(_is_int(x) for x in v)}.get(kind)
    if ok is not None and not ok(value):
        raise AxhwError(f"parameter {name}={value!r}: expected {kind}")


def _convert(key: str, raw: str, f: dataclasses.Field) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    raw = raw.strip()
    try:
        if kind == "int":
            return int(raw, 0)
        if kind == "bool":
            low = raw.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind.startswith("tuple"):
            return tuple(int(x, 0) for x in raw.split(",") if x.strip() != "")
        if kind.startswith("int | None") or kind.startswith("Optional[int]"):
            return None if raw.lower() in ("", "none") else int(raw, 0)
    except ValueError:
        raise AxhwError(f"parameter {key}={raw!r}: expected {kind}") from None
    return raw
