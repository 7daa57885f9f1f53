"""Fidelity of axhw's power and area ranks against EvoApproxLib's published PDK45 numbers.

For each of the 35 non-constant unsigned 8x8 EvoApproxLib circuits (benchmarks/data/evoapprox,
MIT licence; `mul8u_E9R` has constant outputs, published power and area 0, and is left out), run
`axhw characterize --verilog X.v --pdk nangate45 --clock-ns 2 --json --no-cache` once per activity
model and rank power and area against the library's `pwr_mw` / `area_um2` (Spearman rho).
Baseline, same run and netlists: OpenSTA's own vectorless power (its activity propagation from the
input ports at 0.5 toggles per period, duty 0.5; what `power_mw` was before axhw fed it the
simulated activity).

Usage: .venv/bin/python benchmarks/evoapprox_ppa.py [--models zero-delay,glitch]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

DATA = Path(__file__).parent / "data" / "evoapprox"
AXHW = [str(Path(sys.executable).parent / "axhw")]
VECTORLESS = ("set_power_activity -input -activity 0.5 -duty 0.5\n"
              "puts \"axhw vectorless [sta::design_power [sta::cmd_corner]]\"\n")


def characterize(verilog: Path, model: str, env: dict) -> dict:
    cmd = [*AXHW, "characterize", "--verilog", str(verilog), "--pdk", "nangate45", "--clock-ns",
           "2", "--json", "--no-cache", "--activity-model", model]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def vectorless_mw(result: dict) -> float:
    """OpenSTA's own total power of the kept run (the old axhw figure), in mW."""
    from axhw.infra.tools.opensta import run_tcl  # noqa: PLC0415

    workdir = Path(result["netlist"]).parent
    script = (workdir / "sta.tcl").read_text().split("set_power_activity -global")[0] + VECTORLESS
    text = run_tcl(script, workdir / "vectorless.log")
    line = next(x for x in text.splitlines() if x.startswith("axhw vectorless"))
    return float(line.split()[5]) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="zero-delay,glitch")
    args = ap.parse_args()
    models = args.models.split(",")
    published = pd.read_csv(DATA / "mul8u.csv")
    circuits = published[(published.pwr_mw > 0) & (published.area_um2 > 0)]
    env = {**os.environ, "AXHW_CACHE_DIR": tempfile.mkdtemp(prefix="axhw-evo-")}
    rows = []
    t0 = time.perf_counter()
    for name, pwr, area in zip(circuits.name, circuits.pwr_mw, circuits.area_um2):
        row = {"name": name, "pub_pwr_mw": pwr, "pub_area_um2": area}
        for model in models:
            t = time.perf_counter()
            r = characterize(DATA / f"{name}.v", model, env)
            row[f"{model}_mw"] = r["power_mw"]
            row[f"{model}_s"] = time.perf_counter() - t
            row["area_um2"] = r["area_um2"]
            row.setdefault("vectorless_mw", vectorless_mw(r))
        rows.append(row)
        print(f"{name}: " + ", ".join(f"{k} {v:.4g}" for k, v in row.items()
                                      if k != "name"), flush=True)
    df = pd.DataFrame(rows)
    rho = lambda col, ref: df[col].corr(df[ref], method="spearman")  # noqa: E731
    print(f"\n{len(df)} circuits, nangate45, clock 2 ns, {time.perf_counter() - t0:.0f} s")
    print("| figure | Spearman rho vs EvoApproxLib PDK45 | mean s per circuit |")
    print("|---|---:|---:|")
    print(f"| area (`area_um2`) | {rho('area_um2', 'pub_area_um2'):.4f} | |")
    print(f"| power, OpenSTA vectorless (old `power_mw`) | {rho('vectorless_mw', 'pub_pwr_mw'):.4f} | |")
    for model in models:
        print(f"| power, `--activity-model {model}` | {rho(f'{model}_mw', 'pub_pwr_mw'):.4f} | "
              f"{df[f'{model}_s'].mean():.2f} |")
    exact = df[df.name == "mul8u_1JFF"].iloc[0]
    print("\nexact mul8u_1JFF (mW): published " + f"{exact.pub_pwr_mw:.4g}, vectorless "
          f"{exact.vectorless_mw:.4g}, " + ", ".join(f"{m} {exact[f'{m}_mw']:.4g}" for m in models))


if __name__ == "__main__":
    main()
