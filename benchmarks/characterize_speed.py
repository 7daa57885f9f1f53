"""`axhw characterize` speed, and the PPA of exact vs approximate 8x8 designs.

Table 1: wall time of one fresh `axhw characterize` process (LUT + metrics + synthesis + STA +
activity power; --no-cache, Liberty facts already cached) per PDK, for an 8x8 perforated design.
Table 2: area / delay / power / energy / NMED of exact and approximate 8x8 designs per PDK
(default clock 10 ns, 4096 uniform vectors, seed 1).

Usage: .venv/bin/python benchmarks/characterize_speed.py [PDK ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AXHW = str(Path(sys.executable).parent / "axhw")
DESIGNS = [("exact", []), ("perforated", ["start=2", "count=3"]), ("bam", ["h=2", "v=6"]),
           ("truncated", ["mode=column", "cut=6"]), ("rounded", ["mode=roba"])]


def run(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run([AXHW, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"axhw {' '.join(map(str, args))}: {proc.stderr.strip()}")
    return proc


def gen(family: str, params: list[str], outdir: Path) -> str:
    args = ["gen", "--type", family, "--bits", "8", "-o", outdir]
    for p in params:
        args += ["-p", p]
    return run(*args).stdout.strip()


def main(pdks: list[str]) -> None:
    out = Path(tempfile.mkdtemp(prefix="axhw-bench-"))
    designs = {f"{f} {' '.join(p)}".strip(): gen(f, p, out) for f, p in DESIGNS}
    perforated = designs["perforated start=2 count=3"]
    print("| PDK | wall s (fresh process, no result cache) | ppa_seconds (synth+sim+STA) |")
    print("|---|---|---|")
    for pdk in pdks:
        run("characterize", perforated, "--pdk", pdk)  # warm the Liberty facts and the LUT
        t0 = time.perf_counter()
        r = json.loads(run("characterize", perforated, "--pdk", pdk, "--no-cache", "--json").stdout)
        print(f"| {pdk} | {time.perf_counter() - t0:.2f} | {r['ppa_seconds']:.2f} |")
    print()
    print("| PDK | design | area um^2 | cells | delay ns | power mW | dynamic mW | leakage mW "
          "| energy pJ/op | NMED | ER |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for pdk in pdks:
        for name, path in designs.items():
            r = json.loads(run("characterize", path, "--pdk", pdk, "--json").stdout)
            print(f"| {pdk} | {name} | {r['area_um2']:.2f} | {r['cells']} | {r['delay_ns']:.3f} "
                  f"| {r['power_mw']:.4g} | {r['dynamic_mw']:.4g} | {r['leakage_mw']:.3g} "
                  f"| {r['energy_pj']:.4g} | {r['nmed']:.4g} | {r['er']:.4f} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["osu018", "nangate45", "asap7", "sky130hd"])
