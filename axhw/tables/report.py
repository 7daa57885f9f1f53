"""`axhw report OUTDIR`: Pareto plots (PNG) and a self-contained interactive HTML of a sweep.

Plots: every cost (power, area, delay, energy) against every error metric (MRED, NMED, WCE), one
colour per family, Pareto front (both minimized) highlighted, one panel per PDK. The HTML embeds
plotly.js (no network needed to view it) with the same scatter plots and the full table.
"""

from __future__ import annotations

import html
from pathlib import Path


from ..infra.errors import AxhwError
from ..infra.fileio import atomic_path, ensure_dir, write_text
from .pareto import pareto_mask

__all__ = ["pyplot", "save_png", "write_report", "screenshot"]

COSTS = [("power_mw", "power [mW]"), ("area_um2", "area [µm²]"), ("delay_ns", "delay [ns]"),
         ("energy_pj", "energy/op [pJ]")]
ERRORS = [("mred", "MRED"), ("nmed", "NMED"), ("wce", "WCE")]


def load_results(outdir: Path):
    import pandas as pd  # noqa: PLC0415

    path = Path(outdir) / "results.parquet"
    if not path.is_file():
        raise AxhwError(f"{outdir}: no results.parquet (run `axhw sweep ... -o {outdir}` first)")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
        raise AxhwError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    ok = df[df["status"] == "ok"] if "status" in df else df
    if ok.empty:
        raise AxhwError(f"{path}: no successful rows to plot")
    return df, ok


def _pairs(df):
    return [(c, cl, e, el) for c, cl in COSTS for e, el in ERRORS
            if c in df and e in df and df[c].notna().any() and df[e].notna().any()]


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display here or in CI)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def save_png(fig, path: Path) -> Path:
    """Write the figure atomically (a killed run leaves no half-written PNG) and free it."""
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    pyplot().close(fig)
    return path


def pareto_png(ok, cost: str, cost_label: str, err: str, err_label: str, path: Path) -> Path:
    plt = pyplot()
    pdks = sorted(ok["pdk"].dropna().unique()) if "pdk" in ok else [None]
    fig, axes = plt.subplots(1, len(pdks), figsize=(5.2 * len(pdks), 4.2), squeeze=False)
    for ax, pdk in zip(axes[0], pdks):
        sub = ok[ok["pdk"] == pdk] if pdk is not None else ok
        for fam, g in sub.groupby("family"):
            ax.scatter(g[err], g[cost], s=22, alpha=0.75, label=fam)
        vals = sub[[err, cost]].astype(float).to_numpy()
        front = sub[pareto_mask(vals)].sort_values(err)
        ax.plot(front[err], front[cost], "k-", lw=1.2, marker="o", mfc="none", ms=9,
                label="Pareto front")
        if (sub[err] > 0).sum() > 1 and sub[err][sub[err] > 0].max() / sub[err][sub[err] > 0].min() > 100:
            ax.set_xscale("symlog", linthresh=float(sub[err][sub[err] > 0].min()))
        ax.set_xlabel(err_label)
        ax.set_ylabel(cost_label)
        ax.set_title(f"{cost_label} vs {err_label}" + (f" — {pdk}" if pdk else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)


def report_html(df, ok, outdir: Path) -> str:
    import plotly.graph_objects as go  # noqa: PLC0415
    from plotly.subplots import make_subplots  # noqa: PLC0415

    from plotly.colors import qualitative  # noqa: PLC0415

    pairs = _pairs(ok)
    families = sorted(ok["family"].dropna().unique())
    colour = {f: qualitative.Plotly[k % len(qualitative.Plotly)] for k, f in enumerate(families)}
    parts = []
    for pdk in sorted(ok["pdk"].dropna().unique()):
        sub = ok[ok["pdk"] == pdk]
        cols = 3
        rows = max(1, -(-len(pairs) // cols))
        fig = make_subplots(rows=rows, cols=cols,
                            subplot_titles=[f"{cl} vs {el}" for _, cl, _, el in pairs])
        for k, (c, cl, e, el) in enumerate(pairs):
            r, col = k // cols + 1, k % cols + 1
            for fam, g in sub.groupby("family"):
                fig.add_trace(go.Scatter(x=g[e], y=g[c], mode="markers", name=fam,
                                         legendgroup=fam, showlegend=k == 0, text=g["top"],
                                         marker=dict(color=colour[fam]),
                                         hovertemplate="%{text}<br>" + el + " %{x:.4g}<br>" + cl
                                         + " %{y:.4g}<extra></extra>"), row=r, col=col)
            front = sub[pareto_mask(sub[[e, c]].astype(float).to_numpy())].sort_values(e)
            fig.add_trace(go.Scatter(x=front[e], y=front[c], mode="lines+markers",
                                     name="Pareto front", legendgroup="front",
                                     showlegend=k == 0, line=dict(color="black"),
                                     marker=dict(symbol="circle-open", size=10),
                                     text=front["top"], hoverinfo="text"), row=r, col=col)
            fig.update_xaxes(title_text=el, row=r, col=col)
            fig.update_yaxes(title_text=cl, row=r, col=col)
        fig.update_layout(height=330 * rows, title=f"PDK {pdk}", template="plotly_white")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=not parts))
    table = df.to_html(index=False, classes="results", border=0, na_rep="",
                       float_format=lambda v: f"{v:.6g}")
    status = df["status"].value_counts().to_dict() if "status" in df else {}
    summary = ", ".join(f"{v} {html.escape(str(k))}" for k, v in sorted(status.items()))
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>axhw sweep report — {html.escape(outdir.name)}</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table.results{{border-collapse:collapse;
font-size:12px}} table.results td,table.results th{{padding:2px 6px;border-bottom:1px solid #ddd}}
</style></head><body>
<h1>axhw sweep report</h1><p>{len(df)} rows ({summary}). Pareto fronts minimize both axes.</p>
{''.join(parts)}
<h2>Results table</h2>{table}
</body></html>
"""


def write_report(outdir: Path | str) -> dict[str, list[Path] | Path]:
    outdir = Path(outdir)
    df, ok = load_results(outdir)
    plots = ensure_dir(outdir / "plots")
    pngs = [pareto_png(ok, c, cl, e, el, plots / f"pareto_{c}_vs_{e}.png")
            for c, cl, e, el in _pairs(ok)]
    if not pngs:
        raise AxhwError(f"{outdir}: results have no cost/error columns to plot")
    page = write_text(outdir / "report.html", report_html(df, ok, outdir))
    return {"png": pngs, "html": page}


def screenshot(html_path: Path, png_path: Path, width: int = 1400, height: int = 1800) -> Path:
    """Render a page in headless Chromium (Debian `chromium`) to a PNG; for checks and docs."""
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise AxhwError("chromium not found: install it with `apt-get install chromium`")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", "--hide-scrollbars",
               f"--window-size={width},{height}", "--virtual-time-budget=5000",
               f"--screenshot={png_path}", Path(html_path).resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not Path(png_path).is_file():
        raise AxhwError(f"chromium could not render {html_path}: exit {proc.returncode}")
    return Path(png_path)
