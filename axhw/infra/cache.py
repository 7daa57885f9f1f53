"""One content-hash cache for every derived artefact (LUTs, netlists, characterizations, simulator
builds, Liberty facts, port lists, sweep rows, DSE evaluations, trained built-in models).

An entry's key is the SHA-256 of its kind, the kind's version (one table, :data:`VERSIONS`) and
every input that can change it. Bumping a version makes that kind's old entries unreachable: they
are never read again (stale entries of other versions are ignored, not trusted). Entries are
written atomically (a torn entry cannot exist), so a re-run after Ctrl-C or kill -9 recomputes
nothing that finished. Entries live under ``<axhw cache>/<kind>/`` (``AXHW_CACHE_DIR``, default
``~/.cache/axhw``), or under a root the caller chooses (a sweep keeps its rows in OUTDIR/cache).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fileio import cache_root, ensure_dir, write_json

__all__ = ["VERSIONS", "Cache"]

# kind -> version. Bump a kind's version when what its entries mean changes (its history here).
VERSIONS: dict[str, str] = {
    "lut": "2",  # product-scale LUT of a design's RTL; 2: X/undriven outputs refused
    "netsim": "1",  # Yosys gate netlist (JSON) of a Verilog file
    "characterize": "4",  # 3: power from the simulated activity; 4: ABC area recovery (&nf -R 20)
    "systolic": "systolic-2",  # systolic-array characterization flow; 2: simulated power
    "liberty": "1",  # facts parsed from a Liberty file (and its decompressed copy)
    "ports": "2",  # top module and ports of external Verilog (Yosys); 2: one top or --top
    "harness": "1",  # Verilator bit-sliced exhaustive harness build
    "sim": "1",  # cocotb testbench build per simulator
    "sweep": "sweep-3",  # sweep rows; 2: power from the simulated activity; 3: flow 4
    "dse/evals": "dse-eval-4",  # DSE measurements (not energy); 3: task fingerprint; 4: per-sample
    "dse/builtins": "v1",  # trained built-in task models (model, data split, training)
}


def _bytes(field: Any) -> bytes:
    if isinstance(field, bytes):
        return field
    if isinstance(field, (dict, list, tuple)):
        return json.dumps(field, sort_keys=True).encode()
    return str(field).encode()


@dataclass(frozen=True)
class Cache:
    """The entries of one kind, under ``root`` (default: the axhw cache's ``<kind>/`` folder)."""

    kind: str
    root: Path | None = None

    @property
    def version(self) -> str:
        return VERSIONS[self.kind]

    @property
    def dir(self) -> Path:
        return ensure_dir(Path(self.root) if self.root is not None else cache_root() / self.kind)

    def key(self, *fields: Any, length: int = 32) -> str:
        """Hex digest of the kind, its version and `fields` (str, bytes, JSON-able containers or
        anything with a stable str), each length-prefixed so that no two field lists collide."""
        h = hashlib.sha256()
        for field in (self.kind, self.version, *fields):
            data = _bytes(field)
            h.update(len(data).to_bytes(8, "little"))
            h.update(data)
        return h.hexdigest()[:length]

    def path(self, key: str, suffix: str = ".json") -> Path:
        return self.dir / f"{key}{suffix}"

    def get(self, key: str) -> Any | None:
        """The JSON entry `key`, or None when there is none (or it cannot be read)."""
        try:
            return json.loads(self.path(key).read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: Any) -> Any:
        """Store the JSON entry `key` atomically; returns `value`."""
        write_json(self.path(key), value)
        return value
