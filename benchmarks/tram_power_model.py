"""TRAM's per-column power model against characterized power (issue 13 §1).

For a sweep of column masks (unsigned 8x8 ``masked`` designs on the Braun array, columns removed
entirely), compare the model Σ_{kept c} Power_c (TRAM's costs AND 1.0 / HA 1.822 / FA 4.470 on
the exact array's per-column gate counts) with ``characterize`` power on nangate45: Spearman rank
correlation, then fit the three costs (plus a constant) to the characterized power by non-negative least
squares.

    AXHW_PDK_ROOT=/work/shared/pdk python benchmarks/tram_power_model.py [--pdk nangate45] [--masks 24]
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import tempfile
import time

import numpy as np
from scipy.optimize import nnls
from scipy.stats import spearmanr

from axhw.ppa.characterize import characterize
from axhw.design.record import load_design, write_design
from axhw.dse.tram_circuit import TRAM_COSTS, column_power
from axhw.gen.families import make
from axhw.gen.families.pruned import array_structure
from axhw.ppa.pdk import load_library

GATES = ("and", "ha", "fa")


def column_masks(count: int, seed: int = 0) -> list[tuple[int, ...]]:
    """Low-column prefixes 0..k-1 (k = 1..10) plus random subsets of columns 0..9."""
    masks = [tuple(range(k)) for k in range(1, 11)]
    rng = np.random.default_rng(seed)
    pool = [m for r in range(1, 10) for m in itertools.combinations(range(10), r) if m not in masks]
    masks += [pool[k] for k in rng.choice(len(pool), max(0, count - len(masks)), replace=False)]
    return masks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pdk", default="nangate45")
    ap.add_argument("--masks", type=int, default=24)
    args = ap.parse_args()
    lib = load_library(args.pdk)
    gates = array_structure(8, 8, "array").column_gates()
    power = column_power(8)
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        designs = [("exact", make("exact", 8, tree="array"), ())]
        designs += [(f"drop{'_'.join(map(str, m))}", make("masked", 8, drop_columns=m, tree="array"), m)
                     for m in column_masks(args.masks)]
        for name, spec, dropped in designs:
            res = characterize(load_design(write_design(spec, tmp)), lib)
            kept = [c for c in range(15) if c not in dropped]
            counts = [sum(gates[c][g] for c in kept) for g in GATES]
            rows.append((name, res["power_mw"], res["area_um2"], sum(power[c] for c in kept), counts))
    measured = np.array([r[1] for r in rows])
    model = np.array([r[3] for r in rows])
    counts = np.array([r[4] for r in rows], dtype=float)
    rho = spearmanr(model, measured).statistic
    design_matrix = np.column_stack([counts, np.ones(len(rows))])  # + a constant (final adder, leakage)
    fit, _ = nnls(design_matrix, measured)
    fitted = design_matrix @ fit
    rho_fit = spearmanr(fitted, measured).statistic
    rel = fit[:3] / fit[0] if fit[0] > 0 else fit[:3]
    print(json.dumps({
        "machine": f"{platform.machine()} {platform.node()}", "pdk": args.pdk, "designs": len(rows),
        "spearman_tram_costs": round(float(rho), 4), "spearman_fitted": round(float(rho_fit), 4),
        "tram_costs": TRAM_COSTS,
        "fitted_mw_per_gate": dict(zip(GATES, map(float, np.round(fit[:3], 6)))),
        "fitted_constant_mw": round(float(fit[3]), 6),
        "fitted_relative_to_and": dict(zip(GATES, map(float, np.round(rel, 3)))),
        "fit_mean_abs_err_pct": round(float(np.mean(np.abs(fitted - measured) / measured) * 100), 2),
        "seconds": round(time.perf_counter() - t0, 1)}))
    for name, mw, area, mod, _ in rows:
        print(f"{name:24s} power_mw={mw:.5f} area_um2={area:.1f} model={mod:.2f}")


if __name__ == "__main__":
    main()
