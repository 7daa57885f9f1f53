"""PPA and error of the rounding-based / ROUP families next to the exact baselines.

Each design is generated, synthesized with Yosys onto a cell library, timed and power-estimated
with OpenSTA (uniform random activity) through `axhw.characterize`, and its error metrics are
computed exhaustively. Run:

    AXHW_PDK_ROOT=../shared/pdk .venv/bin/python benchmarks/rounding_ppa.py [--bits 8|16] [--pdk nangate45]

Prints a markdown table (area um^2, critical delay ns, energy pJ/op at the 10 ns clock, MRED %,
NMED (2^2n-1) and the generation time of the Verilog).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from axhw.characterize import characterize
from axhw.design import load_design, write_design
from axhw.families import make
from axhw.pdk import load_library


def configs(n: int) -> list[tuple[str, str, bool, dict]]:
    half = n // 2
    rows = [
        ("exact AND (Dadda)", "exact", False, {}),
        ("U-RoBA", "rounded", False, dict(mode="roba")),
        (f"operand round r={n // 4}", "rounded", False, dict(mode="operand", round=n // 4)),
        ("exact AND signed (BW, Dadda)", "exact", True, {}),
        ("exact radix-4 Booth signed", "exact", True, dict(encoding="booth")),
        ("S-RoBA", "rounded", True, dict(mode="roba")),
        (f"RAD{2 ** (n - 2 if n <= 8 else 8)}", "rounded", True,
         dict(mode="rad", k=n - 2 if n <= 8 else 8)),
        ("PR|2,4", "roup", True, dict(perforate=2, q=(4,) * (half - 2))),
        ("ROUP P=1 R=6", "roup", True, dict(perforate=1, round=6)),
        ("ROUP P=2 R=8", "roup", True, dict(perforate=2, round=8)),
    ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--pdk", default="nangate45")
    args = ap.parse_args()
    library = load_library(args.pdk)
    tmp = Path(tempfile.mkdtemp(prefix="axhw-rounding-ppa-"))
    print(f"{args.bits}x{args.bits}, {args.pdk}, 10 ns clock, 4096 uniform vectors; "
          f"{platform.node()} {platform.machine()}, {date.today()}\n")
    print("| design | type | area um^2 | delay ns | energy pJ | MRED % | NMED | gen s |")
    print("|---|---|---|---|---|---|---|---|")
    for label, family, signed, params in configs(args.bits):
        t0 = time.perf_counter()
        spec = make(family, args.bits, signed=signed, **params)
        design = load_design(write_design(spec, tmp))
        gen_s = time.perf_counter() - t0
        r = characterize(design, library)
        print(f"| {label} | {spec.top} | {r['area_um2']:.1f} | {r['delay_ns']:.3f} | "
              f"{r['energy_pj']:.3f} | {100 * r['mred']:.4f} | {r['nmed']:.3e} | {gen_s:.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
