"""The hardware of a chosen assignment: every distinct design as Verilog + design JSON under
OUTDIR/hardware/, each verified against its golden model (axhw.verify.dispatch, Icarus) and its LUT checked
against the table the search used."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..infra.errors import AxhwError, VerificationFailed
from ..infra.fileio import ensure_dir, write_json
from .energy import unit_designs
from .library import Library

__all__ = ["designs_of", "emit_hardware"]


def designs_of(layers: dict) -> list[str]:
    return sorted({d for v in layers.values() for d in unit_designs(v)})


def emit_hardware(layers: dict, library: Library, outdir: Path, verify: bool = True) -> dict[str, dict]:
    """Copy and verify every design of `layers` into `outdir`; {design: {json, verilog, verify}}."""
    from ..design.record import load_design  # noqa: PLC0415
    from ..measure.lut import design_lut  # noqa: PLC0415
    from ..verify.dispatch import verify_design  # noqa: PLC0415

    ensure_dir(outdir)
    out = {}
    for name in designs_of(layers):
        src = library[name].design_path
        if src is None:
            raise AxhwError(f"design {name}: the library has only its LUT, no Verilog to emit")
        design = load_design(src)
        # copyfile, not copy2: the copies get the umask's permissions, not the library's
        shutil.copyfile(design.verilog_path, outdir / design.verilog_path.name)
        shutil.copyfile(src, outdir / Path(src).name)
        local = load_design(outdir / Path(src).name)
        entry = {"json": Path(src).name, "verilog": design.verilog_path.name}
        if not np.array_equal(design_lut(local), library.lut(name).table):
            raise VerificationFailed(f"design {name}: its RTL's LUT differs from the table the search used")
        if verify and local.spec is not None:
            results = verify_design(local, sim="icarus")
            bad = sum(r.mismatches for r in results)
            entry["verify"] = {"method": results[0].method, "checked": sum(r.checked for r in results),
                               "mismatches": bad}
            if bad:
                raise VerificationFailed(f"design {name}: {bad} mismatches against its golden model")
        else:
            entry["verify"] = {"method": "lut-vs-netlist only (external Verilog has no golden model)"}
        out[name] = entry
    write_json(outdir / "verification.json", out)
    return out
