"""The Pareto table of every evaluated configuration, its hypervolume, a PNG and a self-contained
HTML report (plotly.js embedded)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from ..infra.fileio import write_text
from ..tables.pareto import hypervolume_2d, pareto_mask
from ..tables.report import pyplot, save_png
from .stats import verdict

__all__ = ["COLUMNS", "DERIVED", "hypervolume", "pareto_table", "write_html", "write_png"]

COLUMNS = ["method", "granularity", "energy_rel", "energy_pj", "accuracy", "accuracy_ci_low",
           "accuracy_ci_high", "p_vs_exact", "vs_exact", "output_error", "estimated_dl", "tuned",
           "on_front", "chosen", "config", "correct"]
DERIVED = ("accuracy_ci_low", "accuracy_ci_high", "vs_exact", "on_front", "chosen", "config")


def pareto_table(records: list[dict], chosen: dict | None = None):
    """One row per evaluated configuration; `on_front`: not dominated in (energy_rel ↓, accuracy ↑).
    accuracy_ci_low/high: its Wilson 95 % interval; p_vs_exact / vs_exact: the paired McNemar test
    against the exact model; correct: the packed per-sample outcomes (axhw.dse.stats.unpack)."""
    import pandas as pd  # noqa: PLC0415

    rows = [{**{k: r.get(k) for k in COLUMNS if k not in DERIVED},
             "accuracy_ci_low": (r.get("accuracy_ci") or [None])[0],
             "accuracy_ci_high": (r.get("accuracy_ci") or [None, None])[1],
             "vs_exact": verdict(r.get("p_vs_exact")),
             "chosen": r is chosen, "config": json.dumps(r["layers"], sort_keys=True)} for r in records]
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "on_front"])
    vals = np.column_stack([df["energy_rel"].astype(float), -df["accuracy"].astype(float)]) \
        if len(df) else np.zeros((0, 2))
    df.insert(COLUMNS.index("on_front"), "on_front", pareto_mask(vals))
    df["estimated_dl"] = df["estimated_dl"].astype(float)
    for col in ("output_error", "accuracy_ci_low", "accuracy_ci_high", "p_vs_exact"):
        df[col] = df[col].astype(float)
    return df


def hypervolume(energy_rel, accuracy, ref_accuracy: float = 0.0) -> float:
    """Hypervolume of (energy_rel ↓, accuracy ↑) points w.r.t. (energy_rel = 1, ref_accuracy)."""
    return hypervolume_2d(energy_rel, accuracy, 1.0, ref_accuracy)


def write_png(df, path: Path, title: str) -> Path:
    fig, ax = pyplot().subplots(figsize=(6.4, 4.6))
    for (method, gran), g in df.groupby(["method", "granularity"], sort=False):
        dots = ax.scatter(g["energy_rel"], g["accuracy"], s=16, alpha=0.6, label=f"{method} ({gran})")
        ax.errorbar(g["energy_rel"], g["accuracy"], fmt="none", alpha=0.3, lw=0.8,
                    ecolor=dots.get_facecolor()[0],
                    yerr=[g["accuracy"] - g["accuracy_ci_low"], g["accuracy_ci_high"] - g["accuracy"]])
    front = df[df["on_front"]].sort_values("energy_rel")
    ax.step(front["energy_rel"], front["accuracy"], "k-", where="post", lw=1.1, label="Pareto front")
    pick = df[df["chosen"]]
    ax.scatter(pick["energy_rel"], pick["accuracy"], s=160, marker="*", c="red", label="chosen", zorder=5)
    ax.set_xlabel("energy relative to the exact multiplier everywhere")
    ax.set_ylabel("accuracy (bars: Wilson 95 % interval)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_png(fig, path)


def write_html(df, path: Path, title: str, summary: dict) -> Path:
    import plotly.graph_objects as go  # noqa: PLC0415

    fig = go.Figure()
    for (method, gran), g in df.groupby(["method", "granularity"], sort=False):
        fig.add_trace(go.Scatter(x=g["energy_rel"], y=g["accuracy"], mode="markers",
                                 name=f"{method} ({gran})", text=g["config"].str.slice(0, 300),
                                 error_y=dict(type="data", symmetric=False, thickness=0.8,
                                              array=g["accuracy_ci_high"] - g["accuracy"],
                                              arrayminus=g["accuracy"] - g["accuracy_ci_low"]),
                                 hovertemplate="energy %{x:.4f}<br>accuracy %{y:.2f}<br>%{text}<extra></extra>"))
    front = df[df["on_front"]].sort_values("energy_rel")
    fig.add_trace(go.Scatter(x=front["energy_rel"], y=front["accuracy"], mode="lines+markers",
                             name="Pareto front", line=dict(color="black", shape="hv")))
    pick = df[df["chosen"]]
    fig.add_trace(go.Scatter(x=pick["energy_rel"], y=pick["accuracy"], mode="markers", name="chosen",
                             marker=dict(symbol="star", size=16, color="red")))
    fig.update_layout(template="plotly_white", xaxis_title="energy_rel", yaxis_title="accuracy",
                      title=title, height=520)
    facts = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v))}</td></tr>"
                    for k, v in summary.items() if k != "macs")
    exact = summary.get("macs_exact_fraction") or 0.0
    scope = ("<p>energy_rel and energy_pj count the emulated multiplications only"
             + (f": {100 * exact:.2f} % of the model's MACs are at sites axhw cannot emulate; they "
                "run exact float and are in no energy figure.</p>" if exact > 0 else
                " (every multiplication of this model is emulated).</p>"))
    table = df.drop(columns=["config", "correct"]).to_html(index=False, border=0, na_rep="",
                                                float_format=lambda v: f"{v:.5g}")
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse;font-size:12px}}
td,th{{padding:2px 6px;border-bottom:1px solid #ddd;text-align:left}}</style></head><body>
<h1>{html.escape(title)}</h1><table>{facts}</table>{scope}
{fig.to_html(full_html=False, include_plotlyjs=True)}
<h2>Every evaluated configuration</h2>{table}
</body></html>
"""
    return write_text(path, page)
