"""The package layout (docs/architecture.md): stage folders import only the stages below them, no
stage names a kind of design, and a kind registered in axhw.design.kinds is what the stages call."""

import ast
import json
import re
from pathlib import Path

import pytest

from axhw.design import kinds
from axhw.design.kinds import MULTIPLIER, DesignKind, kind_for_family, register_kind
from axhw.design.record import load_design, write_design
from axhw.gen.families import make
from axhw.infra.errors import AxhwError
from axhw.measure.lut import design_lut
from axhw.ppa.export import export_text

PACKAGE = Path(__file__).resolve().parents[1] / "axhw"
# Bottom to top: a folder may import the folders before it (and axhw/__init__: __version__).
STAGES = ["infra", "gen", "design", "sim", "verify", "measure", "ppa", "systolic", "tables",
          "sweep", "emu", "torch", "dse", "commands"]


def folder_imports(package: Path) -> dict[str, set[str]]:
    """folder -> the folders its modules import (lazy imports inside functions included)."""
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if len(parts) < 3:  # axhw/__init__.py, axhw/cli.py: above every stage
            continue
        here = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[:len(here) - (node.level - 1)]
                    target = base + (node.module.split(".") if node.module else [])
                else:
                    target = (node.module or "").split(".")
                names = [target + [a.name] for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name.split(".") for a in node.names]
            else:
                continue
            for t in names:
                if t[0] == "axhw" and len(t) > 2 and (package / t[1]).is_dir() and t[1] != parts[1]:
                    graph.setdefault(parts[1], set()).add(t[1])
    return graph


def test_stage_folders_import_only_the_stages_below():
    graph = folder_imports(PACKAGE)
    upward = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                    if a in STAGES and b in STAGES and STAGES.index(b) > STAGES.index(a))
    assert not upward


def test_the_layout_check_sees_an_upward_import(tmp_path):
    pkg = tmp_path / "axhw"
    for folder, text in (("gen", "def f():\n    from ..verify import formal\n"), ("verify", "")):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
        (pkg / folder / "mod.py").write_text(text)
    assert folder_imports(pkg) == {"gen": {"verify"}}


def test_no_stage_names_a_kind_of_design():
    """Only a kind's own package compares a design's family with the kind's families."""
    named = []
    for kind in kinds.kinds().values():
        families = "|".join(map(re.escape, kind.families))
        compare = re.compile(r"[!=]=\s*[\"'](" + families + r")[\"']")
        home = kind.hooks["load"].split(":")[0].split(".")[1]  # e.g. systolic
        named += [f"{p.relative_to(PACKAGE.parent)}:{i}" for p in PACKAGE.rglob("*.py")
                  if kind.families and home not in p.relative_to(PACKAGE).parts
                  for i, line in enumerate(p.read_text().splitlines(), 1) if compare.search(line)]
    assert len(kinds.kinds()) > 1 and not named


# -- a kind registered from outside is what the stages call -------------------------------------
def toy_load(path, d, allow_edited):
    design = load_design(d["multiplier"])  # a toy: an exact multiplier seen as another kind
    design.family = d["family"]
    return design


def toy_lut(design, sim, use_cache):
    return "toy lut"


def toy_refuse(*args):
    raise AxhwError("the toy kind has no such stage")


@pytest.fixture
def toy_kind(monkeypatch):
    monkeypatch.setattr(kinds, "_KINDS", dict(kinds.kinds()))
    hooks = {h: f"{__name__}:toy_refuse" for h in kinds.STAGE_HOOKS}
    return register_kind(DesignKind("toy", ("toy",), {**hooks, "load": f"{__name__}:toy_load",
                                                      "lut": f"{__name__}:toy_lut"}))


def test_a_registered_kind_gets_its_hooks_called(toy_kind, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"family": "toy", "multiplier": str(write_design(make("exact", 4),
                                                                                tmp_path))}))
    design = load_design(path)
    assert kind_for_family("toy") is toy_kind and kind_for_family("exact") is MULTIPLIER
    assert design_lut(design) == "toy lut"
    with pytest.raises(AxhwError, match="toy kind has no such stage"):
        export_text(design, "c")
    design.family = "exact"  # the same design as a multiplier: the multiplier's hooks
    assert design_lut(design).shape == (16, 16)


def test_a_kind_cannot_claim_another_kinds_family(toy_kind):
    with pytest.raises(ValueError, match="family toy belongs to another kind"):
        register_kind(DesignKind("toy2", ("toy",), toy_kind.hooks))
    with pytest.raises(ValueError, match="missing hooks"):
        DesignKind("half", ("half",), {"load": f"{__name__}:toy_load"})
