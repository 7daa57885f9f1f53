"""TRAM (DAC 2026, spec dse.md §4): train the multiplier structure together with the network.

Phase 1 trains the weights and every layer's column vector θ (axhw.torch.tram) on task loss +
λ·MAC-weighted f(θ); phase 2 maps each layer's θ to a circuit (axhw.dse.tram_circuit.map_theta:
a ``pruned`` or the exact array multiplier); phase 3 puts those circuits' LUTs into the network
(``axhw.torch.approximate``) and retrains it with the LUT-difference gradient. Without labelled
training data the task's calibration inputs are used with the float model's outputs as targets
(distillation), so any ``Task`` works.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..infra.errors import AxhwError
from ..gen.families.base import Multiplier
from ..infra.fileio import cache_root, ensure_dir
from ..torch import approximate, finetune
from ..torch.tram import float_model, train_tram, tram_layers, tram_model
from .library import Library, LibraryDesign
from .search import Search, register_method
from .tram_circuit import Mapping, column_power, map_theta, relative_power

__all__ = ["TramResult", "add_to_library", "distillation_data", "distillation_loss",
           "float_model_of", "run_tram", "tram"]


def distillation_loss(out: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """KL(teacher ‖ student) of the softmax outputs: labels are not needed."""
    return F.kl_div(F.log_softmax(out, -1), F.softmax(teacher, -1), reduction="batchmean")


def distillation_data(model: nn.Module, inputs: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    with torch.no_grad():
        model.eval()
        return [(x, model(x)) for x in inputs]


@dataclass
class TramResult:
    lam: float
    thetas: dict[str, np.ndarray]       # layer -> trained θ (clamped)
    mappings: dict[str, Mapping]        # layer -> phase-2 circuit
    macs: dict[str, int]                # layer -> MACs per sample (last forward)
    power_model: float                  # MAC-weighted f(θ) of the trained θ
    model: nn.Module                    # phase-3 network (LUT-emulated)

    @property
    def designs(self) -> dict[str, Multiplier]:
        return {name: m.spec for name, m in self.mappings.items()}


def run_tram(model: nn.Module, calibration: list[torch.Tensor], *, lam: float, columns: int = 8,
             bits: int = 8, epochs: int = 3, finetune_epochs: int = 2, lr: float = 5e-4,
             theta_lr: float = 5e-2, half_window: int = 4, costs: dict[str, float] | None = None,
             train: list | None = None) -> TramResult:
    """All three phases for one λ. `train`: (x, y) batches with labels (cross-entropy); default:
    distillation from `model` on the calibration inputs."""
    if lam < 0:
        raise AxhwError(f"--lambda {lam}: lambda must be >= 0")
    data, loss_fn = (train, None) if train is not None else \
        (distillation_data(model, calibration), distillation_loss)
    power = column_power(bits, costs)
    tm = tram_model(model, calibration, columns, bits=bits)
    train_tram(tm, data, power, lam=lam, epochs=epochs, lr=lr, theta_lr=theta_lr, loss_fn=loss_fn)
    layers = tram_layers(tm)
    thetas = {n: layer.clamped_theta().detach().numpy().astype(np.float64) for n, layer in layers.items()}
    macs = {n: layer.macs for n, layer in layers.items()}
    cache: dict[tuple, Mapping] = {}
    mappings = {}
    for name, theta in thetas.items():
        key = tuple(np.round(theta, 6))
        if key not in cache:
            cache[key] = map_theta(theta, bits)
        mappings[name] = cache[key]
    total = sum(macs.values())
    power_model = sum(relative_power(thetas[n], power) * macs[n] for n in thetas) / total
    trained = float_model(tm)
    q = approximate(trained, {n: m.spec for n, m in mappings.items()}, calibration, bits=bits,
                    gradient="lut", half_window=half_window)
    if finetune_epochs:
        finetune(q, data, epochs=finetune_epochs, lr=lr, loss_fn=loss_fn)
    return TramResult(lam, thetas, mappings, macs, float(power_model), q)


def add_to_library(spec: Multiplier, library: Library) -> str:
    """Write, characterize and add a phase-2 circuit to `library`; its name. Energy = the library
    reference's energy × (this design's power / the reference's power), both characterized here
    with the same flow, so it is consistent with the table whatever clock the sweep used."""
    from ..ppa.characterize import characterize  # noqa: PLC0415
    from ..design.record import load_design, write_design  # noqa: PLC0415
    from ..ppa.pdk import load_library as load_pdk  # noqa: PLC0415

    if spec.family == "exact":
        return library.require_reference()
    if spec.top in library.designs:
        return spec.top
    ref = library[library.require_reference()]
    if ref.design_path is None:
        raise AxhwError(f"library reference {ref.name} has no design JSON: TRAM needs it to scale "
                        "the power of its own circuits")
    cells = load_pdk(library.pdk or None)
    path = write_design(spec, ensure_dir(cache_root() / "dse" / "tram"))
    ratio = characterize(load_design(path), cells)["power_mw"] / \
        characterize(load_design(ref.design_path), cells)["power_mw"]
    library.add(LibraryDesign(spec.top, spec.bits_a, False, ref.energy_pj * ratio, spec.family, path))
    return spec.top


@register_method("tram")
def tram(search: Search) -> dict | None:
    """One TRAM run per --lambda; each phase-3 network is a record (its retrained weights are kept
    for assignment.json); the goal picks among them."""
    from .evaluate import build_model  # noqa: PLC0415

    if search.granularity != "layer":
        raise AxhwError("--method tram works at --granularity layer (one θ per layer)")
    opts, ev, lib = search.options, search.evaluator, search.library
    lambdas = tuple(opts.get("lambdas") or (0.5,))
    if any(lam < 0 for lam in lambdas):
        raise AxhwError(f"--lambda {' '.join(map(str, lambdas))}: lambda must be >= 0")
    task = ev.task
    weights = search.cache.setdefault("weights", {})
    for lam in lambdas:
        torch.manual_seed(search.seed)
        r = run_tram(task.model, task.calibration, lam=lam, columns=int(opts.get("columns", 8)),
                     bits=lib.bits, epochs=int(opts.get("epochs", 3)),
                     finetune_epochs=int(opts.get("finetune_epochs", 2)))
        layers = {name: add_to_library(spec, lib) for name, spec in r.designs.items()}
        retrained = float_model_of(r.model, task.model)
        acc, out = task.score(build_model(retrained, layers, lib, task.calibration))
        pj, rel = ev.energy(layers)
        measured = {"correct": ev.packed_outcomes(out)}
        key = f"tram-lambda{lam}"
        weights[key] = retrained.state_dict()
        search.records.append({"method": "tram", "granularity": "layer", "accuracy": acc,
                               "output_error": None, "energy_pj": pj, "energy_rel": rel,
                               "tuned": False, "estimated_dl": None, "layers": layers,
                               **measured, **ev.statistics(measured),
                               "weights": key, "lambda": lam, "power_model": r.power_model})
    search.notes["tram_runs"] = [{k: r[k] for k in ("lambda", "power_model", "energy_rel", "accuracy",
                                                     "accuracy_ci", "p_vs_exact")}
                                 for r in search.records if r["method"] == "tram"]
    return None


def float_model_of(approx: nn.Module, like: nn.Module) -> nn.Module:
    """`like` (a float model) with the weights of its approximated copy `approx`."""
    out = copy.deepcopy(like)
    state = approx.state_dict()
    out.load_state_dict({k: state[k] for k in like.state_dict()})
    return out.eval()
