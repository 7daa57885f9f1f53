"""The sweep SPEC: a small YAML or TOML file (or the one-liner flags) describing grids.

```yaml
name: perforation-vs-truncation
bits: [8]                 # operand widths (bits_b defaults to bits)
signed: [false]           # signedness values to sweep
pdks: [nangate45]         # PDK names (or liberty: [files])
clock_ns: 10.0
activity: uniform         # or a CSV 'a,b' of operand pairs
activity_model: zero-delay  # or glitch (as `axhw characterize --activity-model`)
vectors: 2000             # activity simulation vectors
verify: random            # off | random | exhaustive
verify_samples: 2000
designs:
  - type: perforated
    grid: {start: "0..6", count: "1..3"}   # "a..b" inclusive, "a..b:step", lists, scalars
    fixed: {encoding: and}
  - type: truncated
    grid: {mode: [column], cut: "2..12:2"}
external:
  - verilog: "netlists/*.v"                # glob, relative to the SPEC file
    bits: 8
    signed: false
```
Every key is checked: a bad key or value is a one-line error naming it (``designs[1].grid.cutt``).
"""

from __future__ import annotations

import glob
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..infra.errors import AxhwError
from ..gen.families import family_names, get_family
from ..gen.families.base import parse_kv
from ..design.external import parse_ports
from ..infra.names import check_name

__all__ = ["DESIGN_KEYS", "DesignGrid", "EXTERNAL_KEYS", "ExternalEntry", "SweepSpec", "TOP_KEYS",
           "VERIFY_MODES", "load_spec", "parse_values", "spec_from_cli", "spec_from_dict"]

VERIFY_MODES = ("off", "random", "exhaustive")
TOP_KEYS = {"name", "bits", "bits_b", "signed", "pdks", "liberty", "pdk_root", "clock_ns",
            "activity", "activity_model", "vectors", "seed", "verify", "verify_samples", "lut",
            "designs", "external"}
DESIGN_KEYS = {"type", "grid", "fixed", "bits", "bits_b", "signed"}
EXTERNAL_KEYS = {"verilog", "top", "bits", "bits_b", "signed", "ports", "out_shift"}


@dataclass
class DesignGrid:
    type: str
    grid: dict[str, list[Any] | range]
    fixed: dict[str, Any]
    bits: list[int]
    bits_b: list[int | None]
    signed: list[bool]


@dataclass
class ExternalEntry:
    verilog: list[Path]
    top: str | None
    bits: int | None
    bits_b: int | None
    signed: bool
    ports: str | None
    out_shift: int


@dataclass
class SweepSpec:
    name: str = "sweep"
    designs: list[DesignGrid] = field(default_factory=list)
    external: list[ExternalEntry] = field(default_factory=list)
    pdks: list[str] = field(default_factory=lambda: ["osu018"])
    liberty: list[str] = field(default_factory=list)
    pdk_root: str | None = None
    clock_ns: float = 10.0  # as `axhw characterize`
    activity: str = "uniform"
    activity_model: str = "zero-delay"
    vectors: int = 2000
    seed: int = 1
    verify: str = "random"
    verify_samples: int = 2000
    lut: str = "auto"  # auto: LUT for <= 16 input bits; always; never

    def options(self) -> dict[str, Any]:
        """Everything besides the design list that changes a point's result (for cache keys)."""
        return {"liberty": self.liberty, "pdk_root": self.pdk_root, "clock_ns": self.clock_ns,
                "activity": self.activity, "activity_model": self.activity_model,
                "vectors": self.vectors, "seed": self.seed,
                "verify": self.verify, "verify_samples": self.verify_samples, "lut": self.lut}


def parse_values(where: str, value: Any) -> list[Any] | range:
    """A grid value: list, scalar, or range string "a..b" / "a..b:step" (inclusive; kept as a
    ``range``, so a huge range costs nothing until it is iterated)."""
    if isinstance(value, list):
        if not value:
            raise AxhwError(f"spec: {where}: empty list")
        return value
    if isinstance(value, str) and ".." in value:
        rng, _, step = value.partition(":")
        lo, _, hi = rng.partition("..")
        try:
            lo_i, hi_i, st = int(lo), int(hi), int(step) if step else 1
        except ValueError:
            raise AxhwError(f"spec: {where}: bad range {value!r} (use a..b or a..b:step)") from None
        if st <= 0 or hi_i < lo_i:
            raise AxhwError(f"spec: {where}: empty range {value!r}")
        return range(lo_i, hi_i + 1, st)
    return [value]


def _as_list(where: str, value: Any, kind: type) -> list:
    vals = value if isinstance(value, list) else [value]
    for v in vals:
        if kind is int and (isinstance(v, bool) or not isinstance(v, int)):
            raise AxhwError(f"spec: {where}: expected integer(s), got {v!r}")
        if kind is bool and not isinstance(v, bool):
            raise AxhwError(f"spec: {where}: expected true/false, got {v!r}")
    return vals


def _check_keys(where: str, d: Any, allowed: set[str]) -> dict:
    if not isinstance(d, dict):
        raise AxhwError(f"spec: {where}: expected a mapping" if where else
                        "spec: expected a mapping of keys (name, designs, pdks, ...) at the top")
    for k in d:
        if k not in allowed:
            raise AxhwError(f"spec: {where + '.' if where else ''}{k}: unknown key "
                            f"(allowed: {', '.join(sorted(allowed))})")
    return d


def _parse_design(i: int, d: Any, top: dict) -> DesignGrid:
    where = f"designs[{i}]"
    _check_keys(where, d, DESIGN_KEYS)
    if "type" not in d:
        raise AxhwError(f"spec: {where}.type: missing")
    name = d["type"]
    if name not in family_names():
        raise AxhwError(f"spec: {where}.type: unknown type {name!r} "
                        f"(choose one of {', '.join(family_names())})")
    cls = get_family(name)
    if not hasattr(cls, "family_fields"):
        raise AxhwError(f"spec: {where}.type: {name!r} cannot be swept")
    fields = {f.name for f in cls.family_fields()}
    grid = _check_keys(f"{where}.grid", d.get("grid", {}), fields)
    fixed = _check_keys(f"{where}.fixed", d.get("fixed", {}), fields)
    both = set(grid) & set(fixed)
    if both:
        raise AxhwError(f"spec: {where}: {sorted(both)[0]} is both in grid and fixed")
    return DesignGrid(
        type=name,
        grid={k: parse_values(f"{where}.grid.{k}", v) for k, v in grid.items()},
        fixed=dict(fixed),
        bits=_as_list(f"{where}.bits", d.get("bits", top.get("bits", 8)), int),
        bits_b=_as_list(f"{where}.bits_b", d.get("bits_b", top.get("bits_b")), int)
        if d.get("bits_b", top.get("bits_b")) is not None else [None],
        signed=_as_list(f"{where}.signed", d.get("signed", top.get("signed", False)), bool),
    )


def _parse_external(i: int, d: Any, base: Path) -> ExternalEntry:
    where = f"external[{i}]"
    _check_keys(where, d, EXTERNAL_KEYS)
    if "verilog" not in d:
        raise AxhwError(f"spec: {where}.verilog: missing")
    pattern = str(d["verilog"])
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    files = sorted(Path(p) for p in glob.glob(full))
    if not files:
        raise AxhwError(f"spec: {where}.verilog: no file matches {pattern!r}")
    try:  # names reach testbenches and tool scripts: refuse a bad one now, in one line
        if d.get("top") is not None:
            check_name(d["top"], "top")
        if d.get("ports") is not None:
            parse_ports(d["ports"], "ports")
    except AxhwError as exc:
        raise AxhwError(f"spec: {where}: {exc}") from None
    return ExternalEntry(verilog=files, top=d.get("top"), bits=d.get("bits"),
                         bits_b=d.get("bits_b"), signed=bool(d.get("signed", False)),
                         ports=d.get("ports"), out_shift=int(d.get("out_shift", 0)))


def spec_from_dict(raw: Any, base: Path = Path(".")) -> SweepSpec:
    raw = _check_keys("", raw, TOP_KEYS)
    designs = raw.get("designs", [])
    external = raw.get("external", [])
    if not isinstance(designs, list) or not isinstance(external, list):
        raise AxhwError("spec: designs and external must be lists")
    if not designs and not external:
        raise AxhwError("spec: designs: nothing to sweep (give designs and/or external)")
    s = SweepSpec(name=str(raw.get("name", "sweep")))
    s.designs = [_parse_design(i, d, raw) for i, d in enumerate(designs)]
    s.external = [_parse_external(i, d, base) for i, d in enumerate(external)]
    pdks = raw.get("pdks", s.pdks)
    s.pdks = pdks if isinstance(pdks, list) else [pdks]
    s.liberty = [str(base / p) if not Path(p).is_absolute() else p
                 for p in (raw.get("liberty") or [])]
    if s.liberty and "pdks" not in raw:
        s.pdks = ["custom"]
    s.pdk_root = raw.get("pdk_root")
    for key, kind in (("clock_ns", float), ("vectors", int), ("seed", int),
                      ("verify_samples", int)):
        if key in raw:
            try:
                setattr(s, key, kind(raw[key]))
            except (TypeError, ValueError):
                raise AxhwError(f"spec: {key}: expected {kind.__name__}, got {raw[key]!r}") from None
    # the checks `axhw characterize` applies (numpy/numba only when parsing)
    from ..ppa.characterize import check_activity_model, check_clock  # noqa: PLC0415

    check_clock(s.clock_ns, "spec: clock_ns:")
    for key, least in (("vectors", 2), ("verify_samples", 1), ("seed", 0)):
        if getattr(s, key) < least:
            raise AxhwError(f"spec: {key}: must be at least {least}, got {getattr(s, key)}")
    s.activity = str(raw.get("activity", "uniform"))
    if s.activity != "uniform" and not Path(s.activity).is_absolute():
        s.activity = str(base / s.activity)
    s.activity_model = check_activity_model(str(raw.get("activity_model", s.activity_model)),
                                            "spec: activity_model:")
    s.verify = str(raw.get("verify", s.verify)).lower() if raw.get("verify") is not False else "off"
    if s.verify not in VERIFY_MODES:
        raise AxhwError(f"spec: verify: {s.verify!r} is not one of {', '.join(VERIFY_MODES)}")
    lut = raw.get("lut", "auto")
    s.lut = {True: "always", False: "never"}.get(lut, lut) if isinstance(lut, bool) else str(lut)
    if s.lut not in ("auto", "always", "never"):
        raise AxhwError(f"spec: lut: {lut!r} is not one of auto, always, never, true, false")
    return s


def load_spec(path: Path | str, overrides: dict[str, Any] | None = None) -> SweepSpec:
    """Read a YAML/TOML/JSON SPEC; ``overrides`` (SPEC keys, from the command line) replace its
    values before anything is checked. Relative paths in the file are relative to the file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise AxhwError(f"cannot read SPEC {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise AxhwError(f"{path} is not a YAML/TOML SPEC (not UTF-8 text)") from None
    if not text.strip():
        raise AxhwError(f"SPEC {path} is empty")
    try:
        if path.suffix.lower() == ".toml":
            raw = tomllib.loads(text)
        elif path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            raw = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        mark = getattr(exc, "problem_mark", None)
        if getattr(exc, "problem", None) and mark is not None:  # YAML: what and where
            first = f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
        raise AxhwError(f"cannot parse SPEC {path}: {first}") from None
    if raw is None:
        raise AxhwError(f"SPEC {path} is empty (only comments)")
    if not isinstance(raw, dict):
        raise AxhwError(f"{path} is not a YAML/TOML SPEC (its top level is a "
                        f"{type(raw).__name__}, not a mapping of keys)")
    return spec_from_dict({**raw, **(overrides or {})}, base=path.resolve().parent)


def spec_from_cli(type_: str, bits: int, bits_b: int | None, signed: bool,
                  grid: tuple[str, ...], fixed: tuple[str, ...], pdks: tuple[str, ...],
                  **options) -> SweepSpec:
    """The one-liner: ``--type perforated --bits 8 --grid start=0..6 --grid count=1..3``."""
    def kv(items, flag):
        return {k: [x.strip() for x in v.split(",")] if "," in v else v.strip()
                for k, v in parse_kv(items, flag).items()}

    def typed(values):
        conv = []
        for v in values if isinstance(values, list) else [values]:
            try:
                conv.append(int(v, 0))
            except (TypeError, ValueError):
                conv.append(v)
        return conv

    g = {k: (v if isinstance(v, str) and ".." in v else typed(v)) for k, v in kv(grid, "--grid").items()}
    f = {k: typed(v)[0] for k, v in kv(fixed, "-p").items()}
    raw = {"designs": [{"type": type_, "grid": g, "fixed": f, "bits": bits, "signed": signed}]}
    if pdks:  # else the SPEC default: osu018, or "custom" with liberty files
        raw["pdks"] = list(pdks)
    if bits_b is not None:
        raw["designs"][0]["bits_b"] = bits_b
    raw.update({k: v for k, v in options.items() if v is not None})
    return spec_from_dict(raw)
