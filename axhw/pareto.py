"""Pareto fronts of sweep tables: ``axhw.pareto(df, objectives=["power_mw", "mred"])``."""

from __future__ import annotations

import numpy as np


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Rows of `values` (n × k, all minimized) that no other row dominates. NaN rows never are."""
    v = np.asarray(values, dtype=float)
    ok = ~np.isnan(v).any(axis=1)
    mask = np.zeros(len(v), dtype=bool)
    idx = np.flatnonzero(ok)
    pts = v[idx]
    for k, i in enumerate(idx):
        others = pts
        dominated = np.any(np.all(others <= pts[k], axis=1) & np.any(others < pts[k], axis=1))
        mask[i] = not dominated
    return mask


def pareto(df, objectives: list[str], maximize: list[str] | tuple = ()):
    """The non-dominated rows of DataFrame `df` for `objectives` (minimized unless in `maximize`)."""
    missing = [c for c in objectives if c not in df.columns]
    if missing:
        raise KeyError(f"pareto: no column {missing[0]!r}")
    vals = np.column_stack([(-1.0 if c in maximize else 1.0) * df[c].astype(float).to_numpy()
                            for c in objectives]) if len(df) else np.zeros((0, len(objectives)))
    return df[pareto_mask(vals)]


def hypervolume_2d(cost: np.ndarray, gain: np.ndarray, ref_cost: float, ref_gain: float) -> float:
    """Area dominated by points (cost minimized, gain maximized) and bounded by the reference point
    (ref_cost, ref_gain); points beyond the reference contribute nothing."""
    pts = sorted((c, g) for c, g in zip(np.asarray(cost, float), np.asarray(gain, float))
                 if c < ref_cost and g > ref_gain)
    area, best = 0.0, ref_gain
    for c, g in pts:  # by increasing cost: each improvement adds a slab out to ref_cost
        if g > best:
            area += (g - best) * (ref_cost - c)
            best = g
    return area
