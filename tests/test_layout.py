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


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(package: Path) -> dict[str, Path]:
    return {module_name(p, package): p for p in package.rglob("*.py")}


def import_targets(path: Path, name: str, modules: dict[str, Path]):
    """(line, module, imported name or None, local name) for each import of a module of `modules`
    in `path`, lazy imports inside functions included; `from pkg import sub` names the submodule."""
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            target = ".".join(base + (node.module.split(".") if node.module else []))
            for alias in node.names:
                if f"{target}.{alias.name}" in modules:
                    yield node.lineno, f"{target}.{alias.name}", None, alias.asname or alias.name
                elif target in modules:
                    yield node.lineno, target, alias.name, alias.asname or alias.name
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name, None, a.asname or a.name.split(".")[0])
                        for a in node.names if a.name in modules)


def module_imports(package: Path) -> dict[str, set[str]]:
    """module -> the modules of the package it imports."""
    modules = package_modules(package)
    return {name: {target for _, target, _, _ in import_targets(path, name, modules)}
            for name, path in modules.items()}


def folder_imports(package: Path) -> dict[str, set[str]]:
    """folder -> the folders its modules import (lazy imports inside functions included)."""
    graph: dict[str, set[str]] = {}
    for name, targets in module_imports(package).items():
        here = name.split(".")
        if len(here) < 3 and not (package / here[-1]).is_dir():  # axhw/__init__, axhw/cli: on top
            continue
        for target in targets:
            folder = target.split(".")[1:2]
            if folder and (package / folder[0]).is_dir() and folder[0] != here[1]:
                graph.setdefault(here[1], set()).add(folder[0])
    return graph


def import_circles(package: Path) -> list[list[str]]:
    """The import circles: modules that import each other, directly or through others (Tarjan's
    strongly connected components of more than one module)."""
    graph, index, low, stack, circles = module_imports(package), {}, {}, [], []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            circle = stack[stack.index(module):]
            del stack[stack.index(module):]
            if len(circle) > 1:
                circles.append(sorted(circle))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(circles)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(package: Path) -> list[str]:
    """`from m import _name` and `m._name` where m is another module of the package."""
    modules, uses = package_modules(package), []
    for name, path in modules.items():
        where = path.relative_to(package.parent)
        bound = {}  # local name -> the module it is (`import axhw.x.y` binds axhw to axhw)
        for line, target, imported, local in import_targets(path, name, modules):
            if imported is None:
                bound[local] = target if local != target.split(".")[0] else local
            elif is_private(imported) and target != name:
                uses.append(f"{where}:{line}: {target}.{imported}")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and is_private(node.attr):
                chain, value = [], node.value
                while isinstance(value, ast.Attribute):
                    chain.append(value.attr)
                    value = value.value
                if isinstance(value, ast.Name):
                    dotted = ".".join([bound.get(value.id, value.id)] + chain[::-1])
                    if dotted in modules and dotted != name:
                        uses.append(f"{where}:{node.lineno}: {dotted}.{node.attr}")
    return uses


def declared_all(path: Path) -> list[str] | None:
    """A module's `__all__` (a literal list at top level), or None."""
    for node in ast.parse(path.read_text()).body:
        targets = getattr(node, "targets", [])
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in targets):
            return list(ast.literal_eval(node.value))
    return None


def unlisted_imports(package: Path, exempt=()) -> list[str]:
    """Names one module imports from another that the other's `__all__` does not list."""
    modules, unlisted = package_modules(package), []
    for name, path in modules.items():
        for line, target, imported, _ in import_targets(path, name, modules):
            if imported is None or target == name or target in exempt or imported.startswith("__"):
                continue
            listed = declared_all(modules[target])
            if listed is None or imported not in listed:
                unlisted.append(f"{path.relative_to(package.parent)}:{line}: {target}.{imported}")
    return unlisted


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


# The one known circle, lazy: dse.task.load_task imports dse.builtins inside the function
# (--task builtin:NAME), and dse.builtins builds its tasks with dse.task.Task.
KNOWN_CIRCLES = [["axhw.dse.builtins", "axhw.dse.task"]]


def test_no_import_circle():
    assert import_circles(PACKAGE) == KNOWN_CIRCLES


def test_the_circle_check_sees_a_lazy_circle_through_a_package(tmp_path):
    pkg = tmp_path / "axhw"
    (pkg / "emu").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "emu" / "__init__.py").write_text("from .gemm import matmul\n")
    (pkg / "emu" / "gemm.py").write_text("from . import luts\n")
    (pkg / "emu" / "luts.py").write_text("def f():\n    from ..emu import matmul\n")
    (pkg / "emu" / "cpu.py").write_text("from .luts import f\n")
    assert import_circles(pkg) == [["axhw.emu", "axhw.emu.gemm", "axhw.emu.luts"]]


def test_no_module_uses_another_modules_private_names():
    assert not private_uses(PACKAGE)


def test_the_private_check_sees_an_import_and_an_attribute(tmp_path):
    pkg = tmp_path / "axhw"
    (pkg / "sim").mkdir(parents=True)
    for init in (pkg / "__init__.py", pkg / "sim" / "__init__.py"):
        init.write_text("")
    (pkg / "sim" / "netsim.py").write_text("def _run():\n    pass\n\n\ndef run():\n    _run()\n")
    (pkg / "ppa.py").write_text("import axhw.sim.netsim\nfrom .sim import netsim as ns\n"
                                "from .sim.netsim import _run, run\n\n\n"
                                "def f():\n"
                                "    return ns._run, axhw.sim.netsim._run, ns.run, ns.__name__\n")
    assert private_uses(pkg) == ["axhw/ppa.py:3: axhw.sim.netsim._run",
                                 "axhw/ppa.py:7: axhw.sim.netsim._run",
                                 "axhw/ppa.py:7: axhw.sim.netsim._run"]


# Being changed on another branch; their names get an __all__ there.
UNLISTED_EXEMPT = ()


def test_every_name_imported_from_another_module_is_in_its_all():
    assert not unlisted_imports(PACKAGE, UNLISTED_EXEMPT)


def test_the_all_check_sees_an_unlisted_name(tmp_path):
    pkg = tmp_path / "axhw"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("__version__ = '0'\n")
    (pkg / "lut.py").write_text("__all__ = ['write_lut']\n\n\ndef write_lut():\n    pass\n\n\n"
                                "def format_for():\n    pass\n")
    (pkg / "none.py").write_text("def f():\n    pass\n")
    (pkg / "cli.py").write_text("from . import __version__, lut\nfrom .lut import format_for, "
                                "write_lut\nfrom .none import f\n")
    assert unlisted_imports(pkg) == ["axhw/cli.py:2: axhw.lut.format_for",
                                     "axhw/cli.py:3: axhw.none.f"]


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
