"""A design = Verilog file + JSON sidecar. The JSON is the contract every later stage reads.

Keys: top, verilog (relative to the JSON), family, params (defaults resolved), bits_a, bits_b,
signed, out_bits, out_signed, out_shift, bit_linear, ports, verilog_sha256, axhw_version, notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..infra.errors import AxhwError
from ..gen.families import get_family
from ..gen.families.base import Multiplier
from ..infra.fileio import ensure_dir, read_input, read_input_text, sha256_text, write_json, write_text
from ..infra.names import check_name
from .kinds import kind_for_family

MAX_JSON_BYTES = 16 * 2**20  # a design JSON is a few KB
MAX_OUT_BITS = 62  # port values are held in int64 after scaling

__all__ = ["Design", "design_dict", "write_design", "spec_from_dict", "check_verilog_hash",
           "load_design", "load_multiplier", "MAX_JSON_BYTES", "MAX_OUT_BITS", "check_names",
           "verilog_of"]


@dataclass
class Design:
    """A loaded design. `spec` is the family instance (golden model) for axhw designs, None for
    external Verilog."""

    json_path: Path | None
    top: str
    verilog_path: Path
    family: str
    params: dict[str, Any]
    bits_a: int
    bits_b: int
    signed: bool
    out_bits: int
    out_signed: bool
    spec: Multiplier | None = None
    ports: tuple[str, str, str] = ("a", "b", "p")
    meta: dict[str, Any] | None = None

    def golden(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        if self.spec is None:
            raise AxhwError(f"design {self.top} has no golden model (external Verilog)")
        return self.spec.golden(A, B)

    @property
    def out_shift(self) -> int:
        """Port p holds product bits from out_shift up: product scale = port value << out_shift
        (JSON key "out_shift"; absent = 0)."""
        return int((self.meta or {}).get("out_shift", 0))

    @property
    def verilog_sha256(self) -> str:
        return sha256_text(self.verilog_path.read_text())


def design_dict(spec: Multiplier, verilog_name: str, verilog_text: str) -> dict[str, Any]:
    return {
        "top": spec.top,
        "verilog": verilog_name,
        "family": spec.family,
        "params": spec.params(),
        "bits_a": spec.bits_a,
        "bits_b": spec.bits_b,
        "signed": spec.signed,
        "out_bits": spec.out_bits,
        "out_signed": spec.out_signed,
        "out_shift": spec.out_shift,
        "bit_linear": bool(spec.bit_linear),
        "ports": {"a": "a", "b": "b", "p": "p"},
        "verilog_sha256": sha256_text(verilog_text),
        "axhw_version": __version__,
        "notes": spec.notes(),
    }


def write_design(spec: Multiplier, outdir: Path) -> Path:
    """Write ``<top>.v`` and ``<top>.json`` into outdir (atomically); return the JSON path."""
    outdir = ensure_dir(Path(outdir))
    text = spec.verilog()
    vname = f"{spec.top}.v"
    write_text(outdir / vname, text)
    json_path = outdir / f"{spec.top}.json"
    write_json(json_path, design_dict(spec, vname, text))
    return json_path


def spec_from_dict(d: dict[str, Any]) -> Multiplier:
    cls = get_family(d["family"])
    known = [f.name for f in cls.family_fields()]
    unknown = [k for k in d.get("params", {}) if k not in known]
    if unknown:
        raise AxhwError(f"unknown parameter {unknown[0]!r} for family {cls.family} (parameters: "
                        f"{', '.join(known) or 'none'})")
    return cls(bits_a=int(d["bits_a"]), bits_b=int(d["bits_b"]), signed=bool(d["signed"]),
               **{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.get("params", {}).items()})


# key -> (accepted JSON types, what to call them in an error)
_KEY_TYPES = {"top": (str, "a string"), "verilog": (str, "a string"), "family": (str, "a string"),
              "bits_a": (int, "an integer"), "bits_b": (int, "an integer"),
              "out_bits": (int, "an integer"), "out_shift": (int, "an integer"),
              "signed": (bool, "true or false"),
              "out_signed": (bool, "true or false"), "params": (dict, "an object"),
              "verilog_sha256": (str, "a string")}


def read_design_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path`, or a one-line error saying why it is not a design JSON."""
    data = read_input(path, "design file", MAX_JSON_BYTES)
    try:
        d = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise AxhwError(f"{path}: not a design JSON (binary data, not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        if path.suffix.lower() in (".v", ".sv"):
            raise AxhwError(f"{path} is Verilog, not a design JSON: this command needs the JSON "
                            "that `axhw gen` writes beside the Verilog") from None
        raise AxhwError(f"{path}: not a design JSON ({exc})") from None
    if not isinstance(d, dict):
        raise AxhwError(f"{path}: not a design JSON object")
    for key, (kind, what) in _KEY_TYPES.items():
        v = d.get(key)
        if v is not None and (not isinstance(v, kind) or (kind is int and isinstance(v, bool))):
            raise AxhwError(f"{path}: {key} must be {what}, not {json.dumps(v)[:40]}")
    return d


def verilog_of(path: Path, d: dict[str, Any]) -> Path:
    """The design's Verilog file (JSON key "verilog", relative to the JSON), which must exist."""
    vpath = (path.parent / d["verilog"]).resolve()
    if not vpath.is_file():
        raise AxhwError(f"{path}: Verilog file {vpath} " + (
            "is not a regular file" if vpath.exists() else "not found"))
    return vpath


def check_verilog_hash(path: Path, d: dict[str, Any], vpath: Path) -> None:
    """Refuse a Verilog file edited after `axhw gen` wrote it: its JSON (golden model, params)
    would describe another circuit."""
    want = d.get("verilog_sha256")
    if want is not None and sha256_text(read_input_text(vpath, "Verilog file")) != want:
        raise AxhwError(f"{path}: {vpath.name} has changed since it was generated (verilog_sha256 "
                        "differs): regenerate it with `axhw gen`, or verify the edited file with "
                        "`axhw verify --allow-edited`")


def check_names(path: Path, top, others, what: str = "port") -> None:
    """Refuse a top (or port, `what`) name that is not a plain identifier: they are written into
    testbenches and tool scripts."""
    try:
        check_name(top, "top module")
        for name in others:
            check_name(name, what)
    except AxhwError as exc:
        raise AxhwError(f"{path}: {exc}") from None


def load_design(path: Path | str, allow_edited: bool = False) -> Design:
    """Load a design JSON written by ``axhw gen`` (and rebuild its golden model).

    A Verilog file whose content no longer matches the JSON's ``verilog_sha256`` is refused unless
    `allow_edited` (then it is checked as it is now against the JSON's golden model)."""
    path = Path(path)
    d = read_design_json(path)
    return kind_for_family(d.get("family")).call("load", path, d, allow_edited)


def load_multiplier(path: Path, d: dict[str, Any], allow_edited: bool = False) -> Design:
    """The `load` hook of a multiplier family's design JSON `d` (see :mod:`axhw.design.kinds`)."""
    missing = [k for k in ("top", "verilog", "family", "bits_a", "bits_b", "signed", "out_bits")
               if k not in d]
    if missing:
        raise AxhwError(f"{path}: not an axhw design JSON (missing {', '.join(missing)})")
    vpath = verilog_of(path, d)
    if not allow_edited:
        check_verilog_hash(path, d, vpath)
    spec = None
    try:
        spec = spec_from_dict(d)
    except AxhwError as exc:
        if d["family"] in ("external",):
            spec = None
        else:
            raise AxhwError(f"{path}: {exc}") from None
    except TypeError as exc:
        raise AxhwError(f"{path}: parameters do not match family {d['family']}: {exc}") from None
    if spec is not None:  # a hand-edited output format would be read as another circuit's
        for key in ("out_bits", "out_signed", "out_shift"):
            if key in d and d[key] != getattr(spec, key):
                raise AxhwError(f"{path}: {key} {d[key]} contradicts its family {d['family']} and "
                                f"params ({getattr(spec, key)}): regenerate it with `axhw gen`")
    shift = d.get("out_shift", 0)
    # A shifted port is scaled in int64; an unshifted one may be as wide as a 32x32 product.
    if shift < 0 or (shift and d["out_bits"] + shift > MAX_OUT_BITS):
        raise AxhwError(f"{path}: out_shift {shift} with out_bits {d['out_bits']} does not fit "
                        f"{MAX_OUT_BITS} bits (0 <= out_shift, out_bits + out_shift <= {MAX_OUT_BITS})")
    ports = d.get("ports") or {"a": "a", "b": "b", "p": "p"}
    if not isinstance(ports, dict) or sorted(ports) != ["a", "b", "p"] \
            or not all(isinstance(v, str) for v in ports.values()):
        raise AxhwError(f"{path}: ports must map a, b and p to port names")
    check_names(path, d["top"], ports.values())
    return Design(json_path=path, top=d["top"], verilog_path=vpath, family=d["family"],
                  params=d.get("params", {}), bits_a=int(d["bits_a"]), bits_b=int(d["bits_b"]),
                  signed=bool(d["signed"]), out_bits=int(d["out_bits"]),
                  out_signed=bool(d.get("out_signed", d["signed"])), spec=spec,
                  ports=(ports["a"], ports["b"], ports["p"]), meta=d)
