"""Running a sweep: every point through gen → verify → LUT → metrics → characterize (per PDK).

Resumable: each finished (design, PDK) row is cached as JSON under OUTDIR/cache, keyed by the
content hash of the Verilog, the flow version, the PDK and the options; a re-run after Ctrl-C or
kill -9 recomputes nothing already finished. Tables are written atomically at the end.
Parallel on local cores (process pool) or on a Dask cluster (``dask_scheduler``).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..infra.errors import AxhwError
from ..infra.cache import VERSIONS, Cache
from ..infra.fileio import atomic_path, ensure_dir, write_json
from ..infra.outdir import claim
from ..infra.runner import Runner, interruptible
from .points import Point, count_points, expand, make_spec
from .spec import SweepSpec

__all__ = ["FLOW_VERSION", "MAX_POINTS", "METRIC_KEYS", "PPA_KEYS", "preflight", "run_point",
           "run_sweep"]

FLOW_VERSION = VERSIONS["sweep"]  # reported in the manifest
MAX_POINTS = 10_000  # a bigger SPEC needs --max-points (a typo like 0..1000000 is not a job)
METRIC_KEYS = ("er", "mae", "wce", "mse", "rmse", "mre", "wcre", "nmed", "mred", "bias",
               "mean_error")
PPA_KEYS = ("area_um2", "delay_ns", "power_mw", "dynamic_mw", "leakage_mw", "energy_pj", "cells",
            "clock_ns", "vectors", "activity_model")


def _point_key(verilog_text: str, pdk: str, options: dict) -> str:
    return Cache("sweep").key(__version__, verilog_text, pdk, options)


def _load_design(point: Point, outdir: Path):
    from ..design.record import load_design, write_design  # noqa: PLC0415
    from ..design.external import load_external  # noqa: PLC0415

    if point.kind == "external":
        return load_external(point.verilog, top=point.top, bits=point.bits_a, bits_b=point.bits_b,
                             signed=point.signed, ports=point.ports, out_shift=point.out_shift)
    return load_design(write_design(make_spec(point), outdir / "designs"))


def _identity(point: Point, design=None) -> dict[str, Any]:
    row: dict[str, Any] = {"point": point.index, "kind": point.kind, "family": point.family,
                           "top": point.top, "bits_a": point.bits_a, "bits_b": point.bits_b,
                           "signed": point.signed, "params": json.dumps(point.params, sort_keys=True)}
    if design is not None:
        row.update(top=design.top, bits_a=design.bits_a, bits_b=design.bits_b,
                   signed=design.signed, out_bits=design.out_bits,
                   verilog_sha256=design.verilog_sha256)
        if design.spec is not None:
            row["params"] = json.dumps(design.spec.params(), sort_keys=True)
            for k, v in design.spec.params().items():
                row[f"p_{k}"] = ",".join(map(str, v)) if isinstance(v, list) else v
    return row


def _verify(design, options: dict) -> dict[str, Any]:
    from ..verify.dispatch import verify_design  # noqa: PLC0415

    mode = options["verify"]
    if mode == "off" or design.spec is None:
        return {"verify": "off" if mode == "off" else "n/a (external)"}
    if mode == "random":
        results = verify_design(design, sim="icarus", method="random",
                                samples=options["verify_samples"], seed=options["seed"])
    else:
        wide = design.bits_a + design.bits_b > 16
        results = verify_design(design, sim="verilator" if wide else "icarus")
    bad = sum(r.mismatches for r in results)
    return {"verify": f"{results[0].method}:{sum(r.checked for r in results)}",
            "verify_mismatches": bad}


def _lut(design, options: dict, outdir: Path) -> dict[str, Any]:
    """Write luts/<top>.npy (RTL-simulated, cross-checked against the golden model by axhw.measure.lut).

    Off for designs over 16 input bits unless the SPEC says ``lut: always`` (2^32 entries)."""
    from ..measure.lut import design_lut  # noqa: PLC0415

    want = options["lut"] == "always" or (options["lut"] == "auto" and
                                          design.bits_a + design.bits_b <= 16)
    if not want:
        return {}
    lut = design_lut(design)
    path = outdir / "luts" / f"{design.top}.npy"
    ensure_dir(path.parent)
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, lut)
    return {"lut_path": str(path.relative_to(outdir))}


def _characterize(design, pdk: str, options: dict) -> dict[str, Any]:
    """Metrics + PPA of one design on one PDK (axhw.ppa.characterize caches it by content)."""
    from ..ppa.characterize import characterize  # noqa: PLC0415
    from ..ppa.pdk import load_library  # noqa: PLC0415

    library = load_library(None if pdk == "custom" else pdk, options["pdk_root"],
                           options["liberty"] or ())
    activity = None if options["activity"] == "uniform" else options["activity"]
    r = characterize(design, library, clock_ns=options["clock_ns"], vectors=options["vectors"],
                     seed=options["seed"], activity_file=activity,
                     activity_model=options["activity_model"])
    row = {k: r.get(k) for k in METRIC_KEYS + PPA_KEYS}
    row["nmed_norm"] = r.get("nmed_norm")
    for tool, ver in (r.get("tools") or {}).items():
        row[f"version_{tool}"] = ver
    return row


def run_point(point: Point, pdks: list[str], options: dict, outdir: str) -> list[dict[str, Any]]:
    """All rows of one point (one per PDK). Never raises: failures become status rows."""
    out = Path(outdir)
    if point.invalid:
        return [{**_identity(point), "pdk": pdk, "status": "invalid", "reason": point.invalid}
                for pdk in pdks]
    try:
        design = _load_design(point, out)
    except AxhwError as exc:
        return [{**_identity(point), "pdk": pdk, "status": "failed", "reason": str(exc)}
                for pdk in pdks]
    ident = _identity(point, design)
    text = design.verilog_path.read_text()
    finished = Cache("sweep", out / "cache")  # OUTDIR's own cache: the rows it holds
    rows, todo = [], []
    for pdk in pdks:
        key = _point_key(text, pdk, options)
        cached = finished.get(key)
        if cached is not None:
            rows.append({**cached, "point": point.index})
            continue
        todo.append((pdk, key))
    if not todo:
        return rows
    try:
        common = {**_verify(design, options), **_lut(design, options, out)}
        if common.get("verify_mismatches"):
            common["status"] = "verify_failed"
    except AxhwError as exc:
        return rows + [{**ident, "pdk": pdk, "status": "failed", "reason": str(exc)}
                       for pdk, _ in todo]
    for pdk, key in todo:
        row = {**ident, "pdk": pdk, **common}
        try:
            row.update(_characterize(design, pdk, options))
            row.setdefault("status", "ok")
            row["reason"] = ""
            finished.put(key, row)
        except AxhwError as exc:
            row.update(status="failed", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad point must not stop a sweep
            row.update(status="failed", reason=f"{type(exc).__name__}: {exc}".splitlines()[0])
            row["traceback"] = traceback.format_exc(limit=3)
        rows.append(row)
    return rows


class _Spool:
    """Finished rows, one JSON line each, in an unnamed temporary file in OUTDIR (gone however
    the sweep ends): memory stays flat while a large grid streams through."""

    def __init__(self, directory: Path):
        self._file = tempfile.TemporaryFile("w+", dir=directory)
        self.points = 0

    def add(self, rows: list[dict]) -> None:
        for row in rows:
            self._file.write(json.dumps(row, default=_plain) + "\n")
        self.points += 1

    def rows(self) -> list[dict]:
        """All rows, by point (PDK order kept within a point); closes the spool."""
        self._file.seek(0)
        rows = [json.loads(line) for line in self._file]
        self.close()
        return sorted(rows, key=lambda r: r["point"])

    def close(self) -> None:
        self._file.close()


def _plain(value):
    """numpy scalars in a row, as JSON."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def preflight(spec: SweepSpec) -> None:
    """What would fail every point, checked once before any work: PDK names and Liberty files,
    the activity file, the simulators verification needs."""
    from ..ppa.pdk import load_library  # noqa: PLC0415
    from ..sim.simulators import sim_env  # noqa: PLC0415

    for pdk in spec.pdks:
        load_library(None if pdk == "custom" else pdk, spec.pdk_root, spec.liberty)
    if spec.activity != "uniform" and not Path(spec.activity).is_file():
        raise AxhwError(f"activity file not found: {spec.activity}")
    if spec.verify == "off" or not spec.designs:
        return
    widths = {a + (a if b is None else b) for g in spec.designs for a in g.bits for b in g.bits_b}
    sims = {"icarus" if spec.verify == "random" or w <= 16 else "verilator" for w in widths}
    for sim in sorted(sims):
        sim_env(sim)


def run_sweep(spec: SweepSpec, outdir: Path | str, jobs: int | None = None,
              dask_scheduler: str | None = None, progress: bool = True,
              max_points: int | None = MAX_POINTS,
              on_start: Callable[[int], None] | None = None):
    """Run every point; returns the results DataFrame (also written to OUTDIR).

    Refuses a SPEC of more than `max_points` points, a configuration that would fail every
    point, and an OUTDIR another run is writing, before any work; then calls
    ``on_start(number of points)``. Ctrl-C / SIGTERM raise :class:`axhw.infra.runner.Interrupted`."""
    import pandas as pd  # noqa: PLC0415

    total = count_points(spec)
    if max_points is not None and total > max_points:
        raise AxhwError(f"the sweep has {total:,} points, over the limit of {max_points:,}: "
                        "narrow the grid, or raise the limit with --max-points N")
    preflight(spec)
    runner = Runner(jobs=jobs or os.cpu_count() or 1, dask_scheduler=dask_scheduler,
                    progress=progress, unit="pt")
    with runner, claim(outdir) as out:
        if on_start is not None:
            on_start(total)
        for sub in ("cache", "luts", "designs"):
            ensure_dir(out / sub)
        options = spec.options()
        t0 = time.time()
        spool = _Spool(out)
        failed = 0

        def collect(point: Point, rows: list[dict]) -> None:
            nonlocal failed
            spool.add(rows)
            failed += sum(r.get("status") != "ok" for r in rows)

        with interruptible(lambda: f"{spool.points:,} of {total:,} points done"):
            try:
                runner.run(partial(run_point, pdks=spec.pdks, options=options, outdir=str(out)),
                           expand(spec), collect, total=total, desc=spec.name,
                           here=lambda p: bool(p.invalid),  # invalid points need no worker
                           postfix=lambda: {"failed": failed})
            except BaseException:
                spool.close()
                raise
            rows = spool.rows()
            df = pd.DataFrame(rows)
            df = df[[c for c in _column_order(df.columns)]]
            for c in df.columns:  # integer columns stay integers (nullable) despite invalid rows' gaps
                vals = [r[c] for r in rows if r.get(c) is not None]
                if vals and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                for v in vals):
                    df[c] = df[c].astype("Int64")
            _write_tables(df, out)
            counts = df["status"].value_counts().to_dict() if len(df) else {}
            write_json(out / "manifest.json", {
                "name": spec.name, "axhw_version": __version__, "flow_version": FLOW_VERSION,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "seconds": round(time.time() - t0, 2), "points": spool.points, "rows": len(df),
                "status": counts, "pdks": spec.pdks, "options": options,
                "columns": list(df.columns), "tables": ["results.parquet", "results.csv"],
                "luts": "luts/<top>.npy", "designs": "designs/<top>.{v,json}",
            })
    return df


def _column_order(cols) -> list[str]:
    first = ["point", "kind", "family", "top", "pdk", "status", "reason", "bits_a", "bits_b",
             "signed", "out_bits", "params"]
    params = sorted(c for c in cols if c.startswith("p_"))
    metrics = [c for c in METRIC_KEYS if c in cols]
    ppa = [c for c in PPA_KEYS if c in cols]
    rest = sorted(c for c in cols if c not in set(first + params + metrics + ppa))
    return [c for c in first if c in cols] + params + metrics + ppa + rest


def _write_tables(df, out: Path) -> None:
    df = df.copy()
    for c in df.columns:  # parquet needs one type per column
        if df[c].dtype == object:
            df[c] = df[c].map(lambda v: v if v is None or isinstance(v, str) else json.dumps(v)
                              if isinstance(v, (list, dict)) else str(v))
    with atomic_path(out / "results.parquet", suffix=".parquet") as tmp:
        df.to_parquet(tmp, index=False)
    with atomic_path(out / "results.csv", suffix=".csv") as tmp:
        df.to_csv(tmp, index=False)
