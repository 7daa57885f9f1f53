"""`axhw dse search --method mcts|tram`, `--granularity expert`: the pipeline on a tiny task and
library (LUTs from generated designs, made-up energies), and the one-line errors."""

import json

import pytest
import torch
from torch import nn

from axhw.cli import main
from axhw.design.record import write_design
from axhw.dse import Library, LibraryDesign, Task, search
from axhw.dse.moe import MoE
from axhw.infra.errors import AxhwError
from axhw.gen.families import make

ENERGY = {("exact", ()): 1.0, ("truncated", (("cut", 8),)): 0.5, ("truncated", (("cut", 10),)): 0.3}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("lib")
    designs = {}
    for (family, params), energy in ENERGY.items():
        spec = make(family, 8, **dict(params))
        designs[spec.top] = LibraryDesign(spec.top, 8, False, energy, family, write_design(spec, root))
    return designs


def _task(model):
    torch.manual_seed(0)
    x = torch.randn(64, 8)
    with torch.no_grad():
        y = model(x).argmax(-1)  # the float model is 100 % right: approximation can only lose
    return Task(model, [x], [(x, y)])


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def test_mcts_search_writes_the_usual_outputs(library, tmp_path):
    lib = Library(dict(library), 8)
    out = search(_task(_mlp()), lib, tmp_path / "o", method="mcts", evals=12, max_drop=100.0,
                 verify_hardware=False, options={"lambdas": [0.5], "c": 0.3})
    assert out["mcts_predictor_evaluations"] == 9 and out["mcts_lambdas"] == [0.5]  # 3^2 < evals
    a = json.loads((tmp_path / "o" / "assignment.json").read_text())
    assert set(a["layers"]) == {"0", "2"}
    assert (tmp_path / "o" / "pareto.csv").is_file()


def test_expert_granularity_ties_an_experts_layers(library, tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(MoE(8, 16, num_experts=2, routing="soft", out=4))
    out = search(_task(model), Library(dict(library), 8), tmp_path / "o", method="ilp",
                 granularity="expert", budget=0.6, verify_hardware=False)
    layers = json.loads((tmp_path / "o" / "assignment.json").read_text())["layers"]
    for e in range(2):
        assert layers[f"0.experts.{e}.fc1"] == layers[f"0.experts.{e}.fc2"]
    assert out["energy_rel"] <= 0.6 + 1e-9
    with pytest.raises(AxhwError, match="no expert modules"):
        search(_task(_mlp()), Library(dict(library), 8), tmp_path / "p", method="ilp",
               granularity="expert", budget=0.6, verify_hardware=False)
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("args, message", [
    (["--method", "mcts", "--lambda", "-1"], "lambda must be >= 0"),
    (["--method", "tram", "--lambda", "0.5", "--lambda", "-0.1"], "lambda must be >= 0"),
    (["--method", "tram", "--columns", "16"], "columns P=16 is larger than the multiplier"),
])
def test_bad_input_is_one_line(tmp_path, capsys, args, message):
    rc = main(["dse", "search", "--task", "builtin:digits-mlp", "--library", str(tmp_path / "none.csv"),
               "-o", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert rc != 0 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
