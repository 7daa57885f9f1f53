"""`verify --method formal` at 16×16 and 32×32: the algebraic engine against the SAT baseline.

For each design (exact signed and unsigned, truncated, bam, perforated, masked), with the default
final adder (`synth`, the behavioural '+') and with a prefix adder (`kogge_stone`, proved by
adder substitution), in the same run:

- ``algebraic``: ``verify_design(..., method="formal", engine="algebraic")`` with a fresh cache
  (the Yosys lowering included), its seconds and the peak number of monomials;
- ``sat``: the Yosys miter + SAT engine on the same design, bounded by ``--sat-timeout``.

    AXHW_PDK_ROOT=../shared/pdk .venv/bin/python benchmarks/wide_formal.py [--sat-timeout 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.verify.dispatch import verify_design

DESIGNS = [("exact", True, {}), ("exact", False, {}),
           ("truncated", False, {"cut": 30, "correction": "constant"}),
           ("bam", True, {"h": 3, "v": 20}), ("perforated", False, {"start": 4, "count": 3}),
           ("masked", False, {"drop_columns": (0, 1, 2, 40)})]


def scaled(params: dict, bits: int) -> dict:
    """The 32-bit parameters scaled to `bits` (columns past the lowest three halve at 16 bits)."""
    if bits == 32:
        return params
    out = dict(params)
    for key in ("cut", "v"):
        if key in out:
            out[key] = out[key] * bits // 32
    if "drop_columns" in out:
        out["drop_columns"] = tuple(c if c < 3 else c * bits // 32 for c in out["drop_columns"])
    return out


def run(design, engine: str, timeout: float) -> str:
    try:
        (r,) = verify_design(design, method="formal", engine=engine, timeout=timeout)
    except AxhwError as exc:
        return "did not finish" if "did not finish" in str(exc) else f"error: {exc}"
    peak = re.search(r"peak ([\d,]+) monomials", r.detail)
    sat = re.search(r"by SAT \(([\d.]+) s", r.detail)
    extra = [f"peak {peak.group(1)} monomials"] if peak else []
    extra += [f"SAT adder substitution {sat.group(1)} s"] if sat else []
    return f"{r.seconds:.1f} s" + (f" ({', '.join(extra)})" if extra else "")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sat-timeout", type=float, default=30)
    ap.add_argument("--bits", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--adders", nargs="+", default=["synth", "kogge_stone"])
    ap.add_argument("--families", nargs="+", default=sorted({f for f, _, _ in DESIGNS}))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="axhw-wide-formal-"))
    os.environ["AXHW_CACHE_DIR"] = str(work / "cache")  # cold: the Yosys lowering is timed too
    print(f"{platform.node()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}\n")
    print(f"| design | algebraic engine | SAT engine (timeout {args.sat_timeout:.0f} s) |")
    print("|---|---|---|")
    for bits in args.bits:
        for family, signed, params in (d for d in DESIGNS if d[0] in args.families):
            for adder in args.adders:
                spec = make(family, bits, signed=signed, final_adder=adder,
                            **scaled(params, bits))
                design = load_design(write_design(spec, work))
                print(f"| {spec.top} | {run(design, 'algebraic', 600)} | "
                      f"{run(design, 'sat', args.sat_timeout)} |", flush=True)


if __name__ == "__main__":
    main()
