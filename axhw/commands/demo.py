"""`axhw demo [-o DIR]`: the whole pipeline on its embedded defaults, in a few minutes.

Generate a handful of 8-bit designs, verify each exhaustively (Icarus; the first also on
Verilator), characterize them on the bundled nangate45, export their LUTs for the peer tools and
their C models, run a small sweep with its Pareto plots and report, then an `ilp` DSE on the
built-in digits-mlp task with its verified hardware; the closing summary names every file to open
next. Everything is written under DIR (default ./axhw-demo) and the axhw cache; a re-run reuses
both.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import click

from ..ppa.characterize import characterize
from ..design.record import Design, load_design, write_design
from ..infra.errors import AxhwError, VerificationFailed
from ..ppa.export import export_text
from ..gen.families import make
from ..infra.fileio import cache_root, ensure_dir, write_json, write_text
from ..measure.lut import design_lut, write_lut
from ..ppa.pdk import load_library
from ..verify.dispatch import verify_design
from .verify import format_result

__all__ = ["BUDGET", "DEFAULT_OUTDIR", "DESIGNS", "PDK", "STEPS", "SWEEP", "Steps", "TASK", "demo",
           "export_luts", "run_demo", "run_dse", "run_sweep"]

DEFAULT_OUTDIR = "axhw-demo"
PDK = "nangate45"
TASK, BUDGET = "builtin:digits-mlp", 0.3  # the cheapest built-in task
# (family, params, signed): exact, three approximation families, and an asymmetric signed design
DESIGNS = [("exact", {}, False), ("perforated", {"start": 2, "count": 2}, False),
           ("truncated", {"mode": "column", "cut": 6}, False), ("bam", {"h": 2, "v": 6}, False),
           ("perforated", {"start": 0, "count": 2}, True)]
SWEEP = {"name": "demo", "bits": 8, "signed": False, "pdks": [PDK], "clock_ns": 1.0,
         "vectors": 1000, "verify": "random", "verify_samples": 2000,
         "designs": [{"type": "exact"},
                     {"type": "perforated", "grid": {"start": "0..2", "count": "1..2"}},
                     {"type": "truncated", "grid": {"cut": "4..10:2"}, "fixed": {"mode": "column"}},
                     {"type": "bam", "grid": {"v": "5..9:2"}, "fixed": {"h": 0}}]}
STEPS = 7


@click.command()
@click.option("-o", "--outdir", default=DEFAULT_OUTDIR, show_default=True,
              type=click.Path(file_okay=False),
              help="Where every output goes (kept; a re-run reuses it and the cache).")
def demo(outdir):
    """Run the pipeline: gen, verify, characterize, LUT/C export, sweep + report, ilp DSE."""
    run_demo(Path(outdir))


class Steps:
    """Numbered progress lines with the elapsed time."""

    def __init__(self):
        self.t0, self.k = time.perf_counter(), 0

    def start(self, what: str) -> None:
        self.k += 1
        click.echo(f"[{self.k}/{STEPS}] {what}  ({time.perf_counter() - self.t0:.0f} s)")

    @staticmethod
    def say(line: str) -> None:
        click.echo(f"      {line}")


def run_demo(out: Path) -> dict[str, list[Path]]:
    if importlib.util.find_spec("torch") is None:  # before minutes of work, not at step 6
        raise AxhwError("axhw demo ends with a DSE that needs torch: pip install 'axhw[torch]'")
    # torch's compiler cache would otherwise land in /tmp (the demo leaves nothing there)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_root() / "torchinductor"))
    out = ensure_dir(out.resolve())
    steps, files = Steps(), {}
    steps.start(f"generating {len(DESIGNS)} 8-bit designs")
    designs = [load_design(write_design(make(f, 8, signed=s, **p), out / "designs"))
               for f, p, s in DESIGNS]
    steps.say(", ".join(d.top for d in designs) + f" -> {out / 'designs'}")
    files["designs (Verilog + JSON)"] = [out / "designs"]

    steps.start("verifying every input pair against the golden model (cocotb)")
    for i, d in enumerate(designs):
        results = verify_design(d, sim="both" if i == 0 else "icarus")
        for r in results:
            steps.say(f"{d.top:<26} {format_result(r)}")
        if not all(r.ok for r in results):
            raise VerificationFailed(f"demo design {d.top} failed verification")

    steps.start(f"characterizing on {PDK} (Yosys + OpenSTA)")
    library = load_library(PDK)
    ppa = {}
    for d in designs:
        ppa[d.top] = characterize(d, library)
        write_json(out / "characterize" / f"{d.top}.{PDK}.json", ppa[d.top])
        r = ppa[d.top]
        steps.say(f"{d.top:<26} area {r['area_um2']:8.1f} um^2  delay {r['delay_ns']:.3f} ns  "
                  f"power {r['power_mw']:.4f} mW  MRED {r['mre']:.4f}")
    files["characterizations"] = [out / "characterize"]

    steps.start("exporting LUTs for the peer tools and C models")
    files["LUTs (npy, TFApprox, TransAxx/AdaPT, TorchApprox)"] = [out / "luts"]
    files["C models with EvoApproxLib header lines"] = [out / "c"]
    for d in designs:
        export_luts(d, out / "luts", steps)
        write_text(out / "c" / f"{d.top}.c", export_text(d, "c", ppa=ppa[d.top]))
    steps.say(f"C models (// MAE% = ... // NANGATE45_PWR = ...) -> {out / 'c'}")

    steps.start("sweeping a small grid and plotting its Pareto fronts")
    sweep_dir = run_sweep(out / "sweep", steps)
    files["sweep report and Pareto plots"] = [
        sweep_dir / "report.html", sweep_dir / "plots" / "pareto_energy_pj_vs_mred.png",
        sweep_dir / "plots"]
    files["sweep table"] = [sweep_dir / "results.csv"]

    steps.start(f"choosing a multiplier per layer of {TASK} (ilp, energy budget {BUDGET})")
    dse_dir = run_dse(sweep_dir, out / "dse", steps)
    files["DSE report, assignment and verified hardware"] = [
        dse_dir / "report.html", dse_dir / "pareto.png", dse_dir / "assignment.json",
        dse_dir / "hardware"]

    steps.start("summary: files to open next")
    missing = [p for paths in files.values() for p in paths if not p.exists()]
    if missing:
        raise VerificationFailed(f"demo: expected output {missing[0]} is missing")
    for what, paths in files.items():
        click.echo(f"  {what}:")
        for p in paths:
            click.echo(f"    {p}")
    click.echo(f"demo done in {time.perf_counter() - steps.t0:.0f} s; start with "
               f"{sweep_dir / 'report.html'} and {dse_dir / 'report.html'}")
    return files


def export_luts(d: Design, folder: Path, steps: Steps) -> None:
    """The table in every format that holds the design, conv and linear orders for the tools
    whose convolutions index lut[weight][activation] (docs/lut-metrics.md)."""
    lut = design_lut(d)
    write_lut(d, lut, "npy", folder / f"{d.top}.npy")
    written = ["npy"]
    if not d.signed:  # TFApprox: unsigned codes, table[(activation << 8) | weight]
        write_lut(d, lut, "tfapprox", folder / f"{d.top}.tfapprox.bin")
        written.append("tfapprox")
    for order, layer in (("b,a", "conv"), ("a,b", "linear")):
        write_lut(d, lut, "torchapprox", folder / f"{d.top}.torchapprox_{layer}.npy", order=order)
        if d.signed:  # TransAxx/AdaPT quantize to signed int8
            write_lut(d, lut, "transaxx", folder / f"{d.top}.transaxx_{layer}.h", order=order)
    written += ["torchapprox conv/linear"] + (["transaxx conv/linear"] if d.signed else [])
    steps.say(f"{d.top:<26} {', '.join(written)}")


def run_sweep(folder: Path, steps: Steps) -> Path:
    from ..tables.report import write_report  # noqa: PLC0415 - matplotlib only when needed
    from ..sweep import run_sweep as sweep  # noqa: PLC0415
    from ..sweep.spec import spec_from_dict  # noqa: PLC0415

    spec = spec_from_dict(SWEEP)
    df = sweep(spec, folder, progress=False,
               on_start=lambda n: steps.say(f"{n} points on {PDK}: gen, verify, LUT, metrics, "
                                            "characterize"))
    ok = df[df["status"] == "ok"]
    if len(ok) != len(df):
        raise VerificationFailed(f"demo sweep: {len(df) - len(ok)} of {len(df)} points failed "
                                 f"(see {folder / 'results.csv'})")
    report = write_report(folder)
    steps.say(f"{len(ok)} designs; {len(report['png'])} Pareto plots, report {report['html']}")
    return folder


def run_dse(library: Path, folder: Path, steps: Steps) -> Path:
    from scipy.stats import binomtest  # noqa: PLC0415

    from ..dse import search  # noqa: PLC0415
    from ..dse.task import load_task  # noqa: PLC0415

    summary = search(TASK, str(library), folder, method="ilp", pdk=PDK, budget=BUDGET)
    images = sum(len(y) for _, y in load_task(TASK).evaluation)

    def with_ci(accuracy: float) -> str:
        ci = binomtest(round(accuracy / 100 * images), images).proportion_ci(method="wilson")
        return f"{accuracy:.2f} % (95 % CI {100 * ci.low:.1f}-{100 * ci.high:.1f}, {images} images)"

    steps.say(f"exact 8-bit: {with_ci(summary['accuracy_exact'])}")
    steps.say(f"ilp choice:  {with_ci(summary['accuracy'])} at {summary['energy_rel']:.3f} of the "
              "exact multiplier's energy")
    chosen = sorted((folder / "hardware").glob("*.v"))
    steps.say(f"{len(chosen)} chosen designs verified on every pair -> {folder / 'hardware'}")
    return folder
