"""Expanding a SweepSpec into points (one design each); invalid grid points become rows, not crashes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from ..errors import AxhwError
from ..families import get_family
from .spec import SweepSpec


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


def expand(spec: SweepSpec) -> list[Point]:
    points: list[Point] = []
    seen: set[str] = set()
    for grid in spec.designs:
        keys = list(grid.grid)
        for bits, bits_b, signed in itertools.product(grid.bits, grid.bits_b, grid.signed):
            for combo in itertools.product(*(grid.grid[k] for k in keys)):
                params = {**grid.fixed, **dict(zip(keys, combo))}
                p = Point(len(points), "family", grid.type, bits,
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
                points.append(p)
    for ext in spec.external:
        for path in ext.verilog:
            points.append(Point(len(points), "external", "external", ext.bits, ext.bits_b,
                                ext.signed, {}, verilog=str(path), top=ext.top, ports=ext.ports,
                                out_shift=ext.out_shift))
    return points
