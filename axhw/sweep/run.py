"""Running a sweep: every point through gen → verify → LUT → metrics → characterize (per PDK).

Resumable: each finished (design, PDK) row is cached as JSON under OUTDIR/cache, keyed by the
content hash of the Verilog, the flow version, the PDK and the options; a re-run after Ctrl-C or
kill -9 recomputes nothing already finished. Tables are written atomically at the end.
Parallel on local cores (process pool) or on a Dask cluster (``dask_scheduler``).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import AxhwError
from ..fileio import atomic_path, ensure_dir, sha256_text, write_json
from .points import Point, expand, make_spec
from .spec import SweepSpec

FLOW_VERSION = "sweep-2"  # 2: power from the simulated activity (characterize flow 3)
METRIC_KEYS = ("er", "mae", "wce", "mse", "rmse", "mre", "wcre", "nmed", "mred", "bias",
               "mean_error")
PPA_KEYS = ("area_um2", "delay_ns", "power_mw", "dynamic_mw", "leakage_mw", "energy_pj", "cells",
            "clock_ns", "vectors", "activity_model")


def _point_key(verilog_text: str, pdk: str, options: dict) -> str:
    return sha256_text("\0".join([FLOW_VERSION, __version__, verilog_text, pdk,
                                  json.dumps(options, sort_keys=True)]))[:32]


def _load_design(point: Point, outdir: Path):
    from ..design import load_design, write_design  # noqa: PLC0415
    from ..inputs import load_external  # noqa: PLC0415

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
    from ..verify import verify_design  # noqa: PLC0415

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
    """Write luts/<top>.npy (RTL-simulated, cross-checked against the golden model by axhw.lut).

    Off for designs over 16 input bits unless the SPEC says ``lut: always`` (2^32 entries)."""
    from ..lut import design_lut  # noqa: PLC0415

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
    """Metrics + PPA of one design on one PDK (axhw.characterize caches it by content)."""
    from ..characterize import characterize  # noqa: PLC0415
    from ..pdk import load_library  # noqa: PLC0415

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
    rows, todo = [], []
    for pdk in pdks:
        cached = out / "cache" / f"{_point_key(text, pdk, options)}.json"
        if cached.exists():
            try:
                rows.append({**json.loads(cached.read_text()), "point": point.index})
                continue
            except (OSError, json.JSONDecodeError):
                pass  # a torn cache file cannot exist (atomic writes), but be robust
        todo.append((pdk, cached))
    if not todo:
        return rows
    try:
        common = {**_verify(design, options), **_lut(design, options, out)}
        if common.get("verify_mismatches"):
            common["status"] = "verify_failed"
    except AxhwError as exc:
        return rows + [{**ident, "pdk": pdk, "status": "failed", "reason": str(exc)}
                       for pdk, _ in todo]
    for pdk, cached in todo:
        row = {**ident, "pdk": pdk, **common}
        try:
            row.update(_characterize(design, pdk, options))
            row.setdefault("status", "ok")
            row["reason"] = ""
            write_json(cached, row)
        except AxhwError as exc:
            row.update(status="failed", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad point must not stop a sweep
            row.update(status="failed", reason=f"{type(exc).__name__}: {exc}".splitlines()[0])
            row["traceback"] = traceback.format_exc(limit=3)
        rows.append(row)
    return rows


def _progress(total: int, desc: str):
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=total, desc=desc, unit="pt", dynamic_ncols=True, disable=None)


def run_sweep(spec: SweepSpec, outdir: Path | str, jobs: int | None = None,
              dask_scheduler: str | None = None, progress: bool = True):
    """Run every point; returns the results DataFrame (also written to OUTDIR)."""
    import pandas as pd  # noqa: PLC0415

    out = ensure_dir(Path(outdir).resolve())
    for sub in ("cache", "luts", "designs"):
        ensure_dir(out / sub)
    points = expand(spec)
    options = spec.options()
    pdks = spec.pdks
    t0 = time.time()
    results: dict[int, list[dict]] = {}
    bar = _progress(len(points), spec.name) if progress else None
    failed = 0

    def collect(idx: int, rows: list[dict]):
        nonlocal failed
        results[idx] = rows
        failed += sum(r.get("status") not in ("ok",) for r in rows)
        if bar is not None:
            bar.set_postfix(failed=failed)
            bar.update(1)

    if dask_scheduler:
        try:
            from distributed import Client, as_completed  # noqa: PLC0415
        except ImportError:
            raise AxhwError("--dask-scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
        try:
            client = Client(dask_scheduler, timeout="20s") if isinstance(dask_scheduler, str) \
                else Client(dask_scheduler)
        except (OSError, TimeoutError) as exc:
            raise AxhwError(f"cannot reach Dask scheduler {dask_scheduler}: {exc}") from None
        try:
            futs = {client.submit(run_point, p, pdks, options, str(out), pure=False): p.index
                    for p in points}
            for fut in as_completed(futs):
                collect(futs[fut], fut.result())
        finally:
            if isinstance(dask_scheduler, str):
                client.close()
    elif (jobs or os.cpu_count() or 1) == 1 or len(points) == 1:
        for p in points:
            collect(p.index, run_point(p, pdks, options, str(out)))
    else:
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=jobs or os.cpu_count(), mp_context=ctx) as pool:
            futs = {pool.submit(run_point, p, pdks, options, str(out)): p.index for p in points}
            try:
                for fut in cf.as_completed(futs):
                    collect(futs[fut], fut.result())
            except KeyboardInterrupt:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    if bar is not None:
        bar.close()
    rows = [r for idx in sorted(results) for r in results[idx]]
    df = pd.DataFrame(rows)
    df = df[[c for c in _column_order(df.columns)]]
    for c in df.columns:  # integer columns stay integers (nullable) despite invalid rows' gaps
        vals = [r[c] for r in rows if r.get(c) is not None]
        if vals and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
            df[c] = df[c].astype("Int64")
    _write_tables(df, out)
    counts = df["status"].value_counts().to_dict() if len(df) else {}
    write_json(out / "manifest.json", {
        "name": spec.name, "axhw_version": __version__, "flow_version": FLOW_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(time.time() - t0, 2),
        "points": len(points), "rows": len(df), "status": counts, "pdks": pdks, "options": options,
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
