"""Pareto fronts and hypervolumes: ``axhw.pareto(df, objectives=["power_mw", "mred"])``."""

from __future__ import annotations

import numpy as np

__all__ = ["pareto_mask", "pareto", "hypervolume_2d"]


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


def hypervolume_2d(cost, gain, ref_cost: float, ref_gain: float) -> float:
    """Area dominated by points (cost minimized, gain maximized) and bounded by the reference point
    (ref_cost, ref_gain); points beyond the reference contribute nothing (pymoo's HV)."""
    from pymoo.indicators.hv import HV  # noqa: PLC0415 - only the DSE needs it

    pts = np.column_stack([np.asarray(cost, float), -np.asarray(gain, float)])
    pts = pts[(pts[:, 0] < ref_cost) & (-pts[:, 1] > ref_gain)]
    if len(pts) == 0:
        return 0.0
    return float(HV(ref_point=np.array([ref_cost, -ref_gain]))(pts))
