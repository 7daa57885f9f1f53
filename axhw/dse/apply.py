"""assignment.json -> approximate model: ``apply(model, path, calibration)``.

``{"bits": B, "layers": {layer: design | [design per filter] | [[design per kernel]]},
"designs": {design: path of its design JSON (or a .npy LUT), relative to the file}}``; optional
``"weights"``: a state dict (relative path) of tuned weights to load first (``--tune``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import torch
from torch import nn

from ..design.record import MAX_JSON_BYTES, load_design
from ..infra.errors import AxhwError
from ..infra.fileio import MAX_INPUT_BYTES, read_input
from .energy import unit_designs
from .evaluate import build_model
from .library import Library, LibraryDesign, read_lut_file

__all__ = ["MAX_WEIGHTS_BYTES", "apply", "load_assignment", "with_weights"]

MAX_WEIGHTS_BYTES = 4 * MAX_INPUT_BYTES  # a state dict of a model the emulator runs


def load_assignment(path: str | Path) -> tuple[dict, Library]:
    """(the assignment dict, a Library of its designs) with paths resolved and names checked."""
    path = Path(path)
    try:
        a = json.loads(read_input(path, "assignment", MAX_JSON_BYTES))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AxhwError(f"cannot read assignment {path}: not JSON ({exc})") from None
    if not (isinstance(a, dict) and isinstance(a.get("layers"), dict) and isinstance(a.get("designs"), dict)
            and isinstance(a.get("bits"), int)):
        raise AxhwError(f"assignment {path}: expected {{\"bits\": B, \"layers\": {{...}}, \"designs\": {{...}}}}")
    for layer, value in a["layers"].items():
        _check_layer_value(path, layer, value)
    for key, rel in [*a["designs"].items(), *([("weights", a["weights"])] if "weights" in a else [])]:
        if not isinstance(rel, str) or not rel:
            raise AxhwError(f"assignment {path}: {key}: {json.dumps(rel)[:60]} is not a file path")
    designs = {}
    for name, rel in a["designs"].items():
        p = (path.parent / rel).resolve()
        if not p.is_file():
            raise AxhwError(f"assignment {path}: design {name}: {p} does not exist")
        if p.suffix == ".npy":
            bits = read_lut_file(p).shape[0].bit_length() - 1
            designs[name] = LibraryDesign(name, bits, False, 0.0, "lut", None, p)
        else:
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


def _check_layer_value(path: Path, layer: str, value) -> None:
    """A layer maps to a design name, a list of them (per filter) or a list of such lists (per
    kernel)."""
    def names(v) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(d, str) for d in v)

    if not (isinstance(value, str) or names(value)
            or (isinstance(value, list) and value and all(names(row) for row in value))):
        raise AxhwError(f"assignment {path}: layer {layer}: {json.dumps(value)[:60]} is not a design "
                        "name, a list of names or a list of lists of names")


def with_weights(model: nn.Module, assignment: dict) -> nn.Module:
    """`model`, or a copy with the assignment's tuned weights (``--tune``) loaded."""
    if "weights" not in assignment:
        return model
    import copy  # noqa: PLC0415

    model = copy.deepcopy(model)
    data = io.BytesIO(read_input(assignment["weights"], "tuned weights", MAX_WEIGHTS_BYTES))
    try:
        state = torch.load(data, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types on a file that is no state dict
        raise AxhwError(f"cannot load tuned weights {assignment['weights']}: not a PyTorch state "
                        f"dict ({type(exc).__name__})") from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise AxhwError(f"tuned weights {assignment['weights']} do not fit the task's model: "
                        f"{str(exc).splitlines()[0][:200]}") from None
    for name, t in model.state_dict().items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise AxhwError(f"tuned weights {assignment['weights']}: {name} holds inf or NaN")
    return model


def apply(model: nn.Module, path: str | Path, calibration) -> nn.Module:
    """A copy of `model` approximated as the assignment file says (tuned weights loaded first)."""
    a, lib = load_assignment(path)
    model = with_weights(model, a)
    calib = [b[0] if isinstance(b, (tuple, list)) else b for b in calibration]
    return build_model(model, a["layers"], lib, calib)
