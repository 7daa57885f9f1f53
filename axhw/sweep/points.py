"""Expanding a SweepSpec into points (one design each); invalid grid points become rows, not crashes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..infra.errors import AxhwError
from ..gen.families import get_family
from .spec import SweepSpec

__all__ = ["Point", "count_points", "expand", "make_spec"]


@dataclass
class Point:
    index: int
    kind: str  # "family" | "external"
    family: str
    bits_a: int | None
    bits_b: int | None
    signed: bool
    params: dict[str, Any] = field(default_factory=dict)  # as requested (grid + fixed)
    verilog: str | None = None  # external
    top: str | None = None
    ports: str | None = None
    out_shift: int = 0
    invalid: str | None = None  # reason, when the parameters are not a valid design

    def label(self) -> str:
        if self.kind == "external":
            return f"external:{self.verilog}"
        ps = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.family}:{self.bits_a}x{self.bits_b}{'s' if self.signed else 'u'}:{ps}"


def _as_string(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return str(v)


def make_spec(point: Point):
    """The family instance for a point (raises AxhwError when invalid)."""
    cls = get_family(point.family)
    return cls.from_strings(point.bits_a, point.bits_b, point.signed,
                            {k: _as_string(v) for k, v in point.params.items()})


def _product(pools: list) -> Iterator[tuple]:
    """itertools.product without its up-front copy of every pool (a range of 10^7 would be a
    360 MB tuple): the pools are re-iterated instead."""
    if not pools:
        yield ()
        return
    for head in pools[0]:
        for rest in _product(pools[1:]):
            yield (head, *rest)


def count_points(spec: SweepSpec) -> int:
    """How many points :func:`expand` can yield, from the grid sizes alone (nothing expanded);
    an upper bound, as expand drops a design reached twice."""
    total = sum(len(external.verilog) for external in spec.external)
    for grid in spec.designs:
        total += math.prod(len(values) for values in
                           (grid.bits, grid.bits_b, grid.signed, *grid.grid.values()))
    return total


def expand(spec: SweepSpec) -> Iterator[Point]:
    """The points of a SPEC, lazily (a grid of millions is never held in memory)."""
    index = 0
    seen: set[str] = set()
    for grid in spec.designs:
        keys = list(grid.grid)
        for bits, bits_b, signed in itertools.product(grid.bits, grid.bits_b, grid.signed):
            for combo in _product([grid.grid[k] for k in keys]):
                params = {**grid.fixed, **dict(zip(keys, combo))}
                p = Point(index, "family", grid.type, bits,
                          bits if bits_b is None else bits_b, signed, params)
                try:
                    top = make_spec(p).top
                except AxhwError as exc:
                    p.invalid = str(exc)
                else:
                    if top in seen:  # the same design reached through two grid points
                        continue
                    seen.add(top)
                    p.top = top
                index += 1
                yield p
    for ext in spec.external:
        for path in ext.verilog:
            yield Point(index, "external", "external", ext.bits, ext.bits_b, ext.signed, {},
                        verilog=str(path), top=ext.top, ports=ext.ports, out_shift=ext.out_shift)
            index += 1
