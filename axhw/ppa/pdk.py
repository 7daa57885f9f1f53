"""Cell libraries (PDKs): find the Liberty files, read the facts axhw needs, normalize units.

Registry (``PDKS``): ``nangate45`` (FreePDK45 / Nangate Open Cell Library), ``asap7`` (ASAP7 7.5-track
RVT TT, five files that form one library), ``sky130hd`` (SkyWater sky130_fd_sc_hd tt), all three
shipped inside the package (``axhw/ppa/pdks/<pdk>/``, with their licences and a README), and ``osu018``
(OSU 0.18 um, installed by Debian's ``qflow-tech-osu018``: the default).

Where the files come from, first match wins:
  1. ``--liberty FILE`` (repeatable): exactly these files;
  2. ``--pdk-root DIR``, else ``$AXHW_PDK_ROOT``: ``DIR/<pdk>/*.lib`` or ``*.lib.gz``, when
     ``DIR/<pdk>`` exists (an incomplete folder is an error, not a fallback);
  3. the bundled copy (``axhw/ppa/pdks/<pdk>``);
  4. a system path (osu018).
Nothing found -> a one-line AxhwError saying how to configure it. ``locate_pdk`` also says which
of these it used; ``read_header`` reads a file's units and nominal corner without its cells (fast).

``load_library(pdk, pdk_root=None, liberty=()) -> CellLibrary``. Gzipped files are decompressed once
into the cache (OpenSTA 2.0.17 cannot read gzip). Each file is parsed once with ``liberty-parser``
and its facts (units, cell areas, pin capacitances and functions, leakage, dont_use) are cached as
JSON keyed by the file's SHA-256. The CellLibrary then exposes them in axhw units: ns, fF, um^2, mW.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path

import numpy as np

from ..infra import progress
from ..infra.errors import AxhwError
from ..infra.cache import Cache
from ..infra.fileio import atomic_path, sha256_file, sha256_text

__all__ = ["PDK_ROOT_ENV", "DEFAULT_PDK", "PDKS", "BUNDLED_ROOT", "pdk_root", "locate_pdk",
           "find_liberty_files", "read_header", "CellLibrary", "load_library"]

# Bumped when the extracted facts change shape, so cached facts are re-extracted.
LIBERTY_CACHE = Cache("liberty")
FACTS_VERSION = LIBERTY_CACHE.version  # recorded in the facts
PDK_ROOT_ENV = "AXHW_PDK_ROOT"
DEFAULT_PDK = "osu018"

_PREFIX = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3}


@dataclass(frozen=True)
class PdkSpec:
    name: str
    description: str
    corner: str
    patterns: tuple[str, ...]           # every pattern must match at least one file in <root>/<name>
    source: str                         # where the files come from (provenance)
    licence: str
    system_paths: tuple[str, ...] = ()  # files installed by a system package (used without a root)
    system_package: str = ""            # the Debian package that installs them
    dont_use: tuple[str, ...] = ()      # cell name globs kept out of synthesis


_OPENSTA_EXAMPLES = "The-OpenROAD-Project/OpenSTA, examples/"
PDKS: dict[str, PdkSpec] = {
    "nangate45": PdkSpec("nangate45", "FreePDK45 / Nangate Open Cell Library", "typical, 1.1 V, 25 C",
                         ("*.lib*",), _OPENSTA_EXAMPLES + "nangate45_typ.lib",
                         "Nangate Open Cell Library licence (the file's copyright header; "
                         "redistributed by OpenROAD projects for research use)"),
    "asap7": PdkSpec("asap7", "ASAP7 7.5-track RVT (SIMPLE, AO, OA, INVBUF, SEQ)", "TT, 0.7 V, 25 C",
                     tuple(f"asap7sc7p5t_{kind}_RVT_TT_*.lib*"
                           for kind in ("SIMPLE", "AO", "OA", "INVBUF", "SEQ")),
                     "The-OpenROAD-Project/asap7sc7p5t_28, LIB/NLDM/*_RVT_TT_*", "BSD-3-Clause"),
    # As OpenROAD's sky130hd platform: probe cells carry metal on every layer, lpflow cells
    # (isolation, keep-alive power) are for multi-power-domain designs.
    "sky130hd": PdkSpec("sky130hd", "SkyWater sky130_fd_sc_hd", "tt, 1.8 V, 25 C", ("*.lib*",),
                        _OPENSTA_EXAMPLES + "sky130hd_tt.lib", "Apache-2.0 (SkyWater PDK)",
                        dont_use=("sky130_fd_sc_hd__probe*", "sky130_fd_sc_hd__lpflow_*")),
    "osu018": PdkSpec("osu018", "OSU 0.18 um standard cells (qflow)", "typical, 1.8 V, 25 C",
                      ("*.lib*",), "Debian package qflow-tech-osu018 (Oklahoma State University "
                      "cells via qflow)", "GPL (Debian's /usr/share/doc/qflow-tech-osu018/"
                      "copyright, Files: *); not shipped with axhw",
                      ("/usr/share/qflow/tech/osu018/osu018_stdcells.lib",), "qflow-tech-osu018"),
}
# Package data (pyproject: package-data): the redistributable libraries, with licences.
BUNDLED_ROOT = Path(__file__).resolve().parent / "pdks"


# -- finding the files ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Found:
    files: tuple[Path, ...]
    origin: str  # "--pdk-root", "$AXHW_PDK_ROOT", "bundled" or "system"


def _how(spec: PdkSpec) -> str:
    """How to make a PDK available (the tail of every 'not found' message)."""
    first = (f"install Debian's {spec.system_package} (apt-get install {spec.system_package}), "
             if spec.system_package else "")
    return (f"{first}set --pdk-root or {PDK_ROOT_ENV} to a folder holding {spec.name}/*.lib[.gz], "
            "or pass --liberty FILE")


def _files_in(spec: PdkSpec, folder: Path) -> tuple[Path, ...]:
    found, missing = [], []
    for pattern in spec.patterns:
        hits = sorted(p for p in folder.glob(pattern) if p.name.endswith((".lib", ".lib.gz")))
        (found.extend(hits) if hits else missing.append(pattern))
    if missing:
        raise AxhwError(f"PDK {spec.name}: {folder} has no file matching {', '.join(missing)} "
                        f"({_how(spec)})")
    return tuple(dict.fromkeys(found))


def pdk_root(explicit: str | Path | None = None) -> tuple[Path | None, str]:
    """(root folder, "--pdk-root" or "$AXHW_PDK_ROOT"), or (None, "") when neither is set."""
    env = os.environ.get(PDK_ROOT_ENV)
    base, origin = (Path(explicit), "--pdk-root") if explicit else (
        (Path(env), f"${PDK_ROOT_ENV}") if env else (None, ""))
    if base is not None and not base.is_dir():  # a typo must not fall back silently
        raise AxhwError(f"PDK root {base} ({origin}) is not a folder")
    return (None if base is None else base.absolute()), origin  # tools run in other folders


def locate_pdk(pdk: str, root: str | Path | None = None) -> Found:
    """The Liberty files of a registered PDK and where they were found (module doc: the order)."""
    spec = PDKS.get(pdk)
    if spec is None:
        raise AxhwError(f"unknown PDK {pdk!r} (known: {', '.join(PDKS)}; or pass --liberty FILE)")
    base, origin = pdk_root(root)
    if base is not None and (base / pdk).is_dir():
        return Found(_files_in(spec, base / pdk), origin)
    if (BUNDLED_ROOT / pdk).is_dir():
        return Found(_files_in(spec, BUNDLED_ROOT / pdk), "bundled")
    system = tuple(Path(p) for p in spec.system_paths if Path(p).is_file())
    if system:
        return Found(system, "system")
    where = [f"{base / pdk} does not exist"] if base is not None else []
    where.append(f"{', '.join(spec.system_paths)} not installed" if spec.system_paths
                 else f"{BUNDLED_ROOT / pdk} does not exist")
    raise AxhwError(f"PDK {pdk}: no Liberty files ({'; '.join(where)}; {_how(spec)})")


def find_liberty_files(pdk: str, root: str | Path | None = None) -> list[Path]:
    return list(locate_pdk(pdk, root).files)


# -- reading one file ----------------------------------------------------------------------------
def _unit(text, what: str, suffix: str) -> float:
    """'1ps' -> 1e-12 (for suffix 's'); '100nW' -> 1e-7."""
    s = str(text).strip().strip('"').strip()
    body = s[:-len(suffix)] if s.lower().endswith(suffix.lower()) else None
    if body is None:
        raise AxhwError(f"Liberty {what} {s!r}: expected a value in {suffix}")
    digits = body.rstrip("fpnumk")
    try:
        return float(digits or 1) * _PREFIX[body[len(digits):]]
    except (KeyError, ValueError):
        raise AxhwError(f"Liberty {what} {s!r}: unknown unit") from None


def _cap_unit(value) -> float:
    """capacitive_load_unit (1, ff) -> farads."""
    try:
        scale, unit = value
        return float(scale) * _PREFIX[str(unit).strip('"').lower()[:-1]]
    except (TypeError, ValueError, KeyError):
        raise AxhwError(f"Liberty capacitive_load_unit {value!r}: expected (number, ff|pf)") from None


def _number(value) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


_CELL_GROUP = re.compile(r"\s*cell\s*\(")


def read_header(path: Path) -> dict:
    """A Liberty file's library attributes before its first cell (units, nominal corner), read
    without the cells: fast enough for listings (``axhw pdks``). Units as SI factors."""
    from liberty.parser import parse_liberty

    head = []
    try:
        with (gzip.open(path, "rt", errors="replace") if path.name.endswith(".gz")
              else open(path, errors="replace")) as fh:
            for line in fh:
                if _CELL_GROUP.match(line):
                    break
                head.append(line)
    except (OSError, EOFError) as exc:
        raise AxhwError(f"cannot read Liberty file {path}: {exc}") from None
    try:
        lib = parse_liberty("".join(head) + "}\n")  # the library group, closed before its cells
    except Exception as exc:  # noqa: BLE001 - the parser raises assorted lark errors
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AxhwError(f"Liberty file {path}: header does not parse: {msg}") from None
    return {"library": str(lib.args[0]).strip('"') if lib.args else "", **_units(lib, path),
            "voltage_v": _unit(lib.get("voltage_unit", "1V"), "voltage_unit", "V"),
            "nom_voltage": _number(lib.get("nom_voltage")),
            "nom_temperature": _number(lib.get("nom_temperature"))}


def _units(lib, path: Path) -> dict:
    """time, capacitance and leakage units of a parsed library, as SI factors."""
    try:
        return {"time_s": _unit(lib["time_unit"], "time_unit", "s"),
                "cap_f": _cap_unit(lib["capacitive_load_unit"]),
                "leakage_w": _unit(lib["leakage_power_unit"], "leakage_power_unit", "W")}
    except KeyError as exc:
        raise AxhwError(f"Liberty file {path}: no {exc.args[0]} in the library header") from None


def extract_facts(path: Path, shown: Path | None = None) -> dict:
    """Parse one Liberty file (liberty-parser) and keep what axhw uses, in the file's own units.
    Errors name `shown` (the user's file, when `path` is its decompressed copy)."""
    from liberty.parser import parse_liberty

    plain, path = path, shown or path

    try:
        text = Path(plain).read_text(errors="replace")  # an uncompressed file (see _cached_file)
    except OSError as exc:
        raise AxhwError(f"cannot read Liberty file {path}: {exc}") from None
    try:
        lib = parse_liberty(text)
    except Exception as exc:  # noqa: BLE001 - the parser raises assorted lark errors
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AxhwError(f"Liberty file {path} does not parse: {msg}") from None
    if lib.group_name != "library":
        raise AxhwError(f"{path} is not a Liberty library")
    units = _units(lib, path)
    cells = {}
    for cell in lib.get_groups("cell"):
        inputs, outputs = {}, {}
        for pin in cell.get_groups("pin"):
            direction = str(pin.get("direction", "")).strip('"')
            for name in pin.args:
                name = str(name).strip('"')
                if direction == "input":
                    inputs[name] = _number(pin.get("capacitance")) or 0.0
                elif direction in ("output", "inout"):
                    fn = pin.get("function")
                    outputs[name] = None if fn is None else str(fn).strip('"')
        cells[str(cell.args[0]).strip('"')] = {
            "area": _number(cell.get("area")) or 0.0,
            "leakage": _number(cell.get("cell_leakage_power")),
            "dont_use": str(cell.get("dont_use", "false")).strip('"').lower() == "true",
            "sequential": any(g.group_name in ("ff", "latch", "ff_bank", "latch_bank", "statetable")
                              for g in cell.groups),
            "inputs": inputs,
            "outputs": outputs,
        }
    return {"facts_version": FACTS_VERSION, "library": str(lib.args[0]).strip('"') if lib.args else "",
            "source": str(path), "units": units, "nom_voltage": _number(lib.get("nom_voltage")),
            "cells": cells}


def _cached_file(path: Path) -> tuple[Path, dict]:
    """(uncompressed copy or the file itself, its facts), both cached by content hash."""
    if not path.is_file():
        raise AxhwError(f"Liberty file {path} is not a regular file" if path.exists()
                        else f"Liberty file not found: {path}")
    digest = sha256_file(path)
    cdir = LIBERTY_CACHE.dir
    plain = path
    if path.name.endswith(".gz"):
        plain = cdir / f"{digest[:20]}.lib"  # a name axhw chose, not the user's
        if not plain.is_file():
            try:
                with gzip.open(path, "rb") as src, atomic_path(plain) as tmp, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (OSError, EOFError) as exc:
                raise AxhwError(f"cannot decompress Liberty file {path}: {exc}") from None
    facts_key = LIBERTY_CACHE.key(digest, length=20)
    facts = LIBERTY_CACHE.get(facts_key)
    if facts is None:
        progress.step(f"parsing Liberty {path.name} (once; cached afterwards)")
        facts = {**extract_facts(plain, shown=path), "sha256": digest}
        LIBERTY_CACHE.put(facts_key, facts)
    return plain, facts


# -- the library ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CellLibrary:
    """One cell library (one or more Liberty files) with units normalized to ns, fF, um^2, mW."""

    pdk: str
    sources: tuple[Path, ...]   # the files as found / given
    files: tuple[Path, ...]     # readable by every tool (decompressed copies of .gz files)
    facts: tuple[dict, ...]     # per file, in the file's own units

    @property
    def dont_use(self) -> tuple[str, ...]:
        """Cell name globs synthesis must avoid (the PDK's list; dont_use cells of the files
        are marked in ``cells``)."""
        spec = PDKS.get(self.pdk)
        return spec.dont_use if spec else ()

    @property
    def time_unit_ns(self) -> float:
        return self.facts[0]["units"]["time_s"] * 1e9

    @property
    def cap_unit_ff(self) -> float:
        return self.facts[0]["units"]["cap_f"] * 1e15

    @property
    def leakage_unit_mw(self) -> float:
        return self.facts[0]["units"]["leakage_w"] * 1e3

    @cached_property
    def cells(self) -> dict[str, dict]:
        """Cell name -> facts; per-cell leakage in mW and input capacitances in fF."""
        out = {}
        for f in self.facts:
            cap = f["units"]["cap_f"] * 1e15
            leak = f["units"]["leakage_w"] * 1e3
            for name, c in f["cells"].items():
                dont_use = c["dont_use"] or any(fnmatchcase(name, p) for p in self.dont_use)
                out[name] = {**c, "dont_use": dont_use,
                             "inputs": {p: v * cap for p, v in c["inputs"].items()},
                             "leakage_mw": None if c["leakage"] is None else c["leakage"] * leak}
        return out

    def cell_functions(self) -> dict[str, dict[str, str]]:
        """{cell: {output pin: Liberty function}} for the combinational cells (netsim's input)."""
        return {name: {p: fn for p, fn in c["outputs"].items() if fn}
                for name, c in self.cells.items()
                if not c["sequential"] and any(c["outputs"].values())}

    @cached_property
    def _roles(self) -> dict[str, list[tuple[float, str, str, str]]]:
        """Cells by role ("inv", "buf", "tiehi", "tielo"): [(area, cell, in pin, out pin)]."""
        from ..sim.netsim import parse_liberty_function

        roles: dict[str, list] = {"inv": [], "buf": [], "tiehi": [], "tielo": []}
        ones = np.full(1, np.uint64(0xFFFFFFFFFFFFFFFF))
        ramp = np.full(1, np.uint64(0b10))  # vector 0: pin = 0, vector 1: pin = 1
        for name, c in self.cells.items():
            if c["sequential"] or len(c["inputs"]) > 1:
                continue
            if not c["inputs"]:
                # Tie cells (often dont_use, reserved for exactly this use, as Nangate's LOGIC0/1);
                # one cell may hold both (sky130 conb: HI = 1, LO = 0).
                for out, fn in c["outputs"].items():
                    if fn in ("0", "1"):
                        roles["tiehi" if fn == "1" else "tielo"].append((c["area"], name, "", out))
                continue
            if c["dont_use"] or len(c["outputs"]) != 1:
                continue
            (out, fn), = c["outputs"].items()
            try:
                f = parse_liberty_function(fn) if fn else None
            except AxhwError:
                continue
            if f is not None and f.pins == tuple(c["inputs"]):
                (pin,) = f.pins
                table = int(f({pin: ramp}, ones)[0]) & 0b11
                if table in (0b01, 0b10):
                    roles["inv" if table == 0b01 else "buf"].append((c["area"], name, pin, out))
        for cands in roles.values():
            # Smallest first; at equal area prefer general cells to clock-tree ones (clkinv).
            cands.sort(key=lambda t: (t[0], "clk" in t[1].lower(), t[1]))
        return roles

    def _pick(self, role: str) -> tuple[str, str, str] | None:
        cands = self._roles[role]
        return cands[0][1:] if cands else None

    @property
    def inverter(self) -> tuple[str, str, str]:
        """(cell, input pin, output pin) of the smallest inverter: the 'typical' inverter."""
        inv = self._pick("inv")
        if inv is None:
            raise AxhwError(f"{self.pdk}: the library has no inverter")
        return inv

    @property
    def buffer(self) -> tuple[str, str, str]:
        buf = self._pick("buf")
        if buf is None:
            raise AxhwError(f"{self.pdk}: the library has no buffer")
        return buf

    @property
    def tie_hi(self) -> tuple[str, str] | None:
        t = self._pick("tiehi")
        return None if t is None else (t[0], t[2])

    @property
    def tie_lo(self) -> tuple[str, str] | None:
        t = self._pick("tielo")
        return None if t is None else (t[0], t[2])

    @property
    def inverter_input_cap_ff(self) -> float:
        cell, pin, _ = self.inverter
        return self.cells[cell]["inputs"][pin]

    @property
    def has_flops(self) -> bool:
        return any(c["sequential"] for c in self.cells.values())

    @property
    def sha256(self) -> str:
        """Identifies the library's content (for result caches)."""
        return sha256_text(",".join(f["sha256"] for f in self.facts))

    def describe(self) -> str:
        spec = PDKS.get(self.pdk)
        return spec.description if spec else ", ".join(p.name for p in self.sources)


def load_library(pdk: str | None = None, pdk_root: str | Path | None = None,
                 liberty: tuple[str | Path, ...] | list = ()) -> CellLibrary:
    """A PDK by name, or the given Liberty files (labelled ``pdk`` or "custom")."""
    if liberty:
        sources = [Path(p).absolute() for p in liberty]  # OpenSTA runs in its run folder
        name = pdk or "custom"
    else:
        name = pdk or DEFAULT_PDK
        sources = find_liberty_files(name, pdk_root)
    files, facts = zip(*(_cached_file(p) for p in sources))
    progress.step(f"library {name}: {len(sources)} Liberty file(s) read")
    units = {json.dumps(f["units"], sort_keys=True) for f in facts}
    if len(units) > 1:
        raise AxhwError(f"{name}: the Liberty files use different units "
                        f"({', '.join(map(str, sources))})")
    return CellLibrary(name, tuple(sources), tuple(files), tuple(facts))
