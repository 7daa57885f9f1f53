"""assignment.json -> approximate model: ``apply(model, path, calibration)``.

``{"bits": B, "layers": {layer: design | [design per filter] | [[design per kernel]]},
"designs": {design: path of its design JSON (or a .npy LUT), relative to the file}}``; optional
``"weights"``: a state dict (relative path) of tuned weights to load first (``--tune``).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from ..infra.errors import AxhwError
from .energy import unit_designs
from .evaluate import build_model
from .library import Library, LibraryDesign


def load_assignment(path: str | Path) -> tuple[dict, Library]:
    """(the assignment dict, a Library of its designs) with paths resolved and names checked."""
    path = Path(path)
    try:
        a = json.loads(path.read_text())
    except FileNotFoundError:
        raise AxhwError(f"assignment {path}: no such file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise AxhwError(f"cannot read assignment {path}: {exc}") from None
    if not (isinstance(a, dict) and isinstance(a.get("layers"), dict) and isinstance(a.get("designs"), dict)
            and isinstance(a.get("bits"), int)):
        raise AxhwError(f"assignment {path}: expected {{\"bits\": B, \"layers\": {{...}}, \"designs\": {{...}}}}")
    designs = {}
    for name, rel in a["designs"].items():
        p = (path.parent / rel).resolve()
        if not p.is_file():
            raise AxhwError(f"assignment {path}: design {name}: {p} does not exist")
        if p.suffix == ".npy":
            import numpy as np  # noqa: PLC0415

            bits = int(np.load(p, mmap_mode="r").shape[0]).bit_length() - 1
            designs[name] = LibraryDesign(name, bits, False, 0.0, "lut", None, p)
        else:
            from ..design.record import load_design  # noqa: PLC0415

            d = load_design(p)
            designs[name] = LibraryDesign(name, d.bits_a, d.signed, 0.0, d.family, p)
    lib = Library(designs, a["bits"], source=str(path))
    for layer, value in a["layers"].items():
        for d in unit_designs(value):
            if d not in designs:
                raise AxhwError(f"assignment {path}: layer {layer} uses design {d!r}, which is not "
                                "in its \"designs\"")
    if "weights" in a:
        a["weights"] = str((path.parent / a["weights"]).resolve())
    return a, lib


def with_weights(model: nn.Module, assignment: dict) -> nn.Module:
    """`model`, or a copy with the assignment's tuned weights (``--tune``) loaded."""
    if "weights" not in assignment:
        return model
    import copy  # noqa: PLC0415

    model = copy.deepcopy(model)
    try:
        model.load_state_dict(torch.load(assignment["weights"], weights_only=True))
    except (OSError, RuntimeError) as exc:
        raise AxhwError(f"cannot load tuned weights {assignment['weights']}: "
                        f"{str(exc).splitlines()[0]}") from None
    return model


def apply(model: nn.Module, path: str | Path, calibration) -> nn.Module:
    """A copy of `model` approximated as the assignment file says (tuned weights loaded first)."""
    a, lib = load_assignment(path)
    model = with_weights(model, a)
    calib = [b[0] if isinstance(b, (tuple, list)) else b for b in calibration]
    return build_model(model, a["layers"], lib, calib)
