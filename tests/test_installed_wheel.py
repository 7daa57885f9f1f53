"""The installed wheel works on its own: build it from a clean copy of the sources, install it
(not editable) into a fresh venv without system site-packages, and run the pipeline from a folder
outside the checkout with a clean environment (no PYTHONPATH, no AXHW_PDK_ROOT). A run-time file
left out of the wheel (flow script, testbench template, bundled cell library) fails here.

Costs about a minute on an idle 2-core machine: the dependencies come from pip's cache or local
index (no bytecode compilation), and the axhw cache (`AXHW_CACHE_DIR` or ~/.cache/axhw, keyed by
content) is shared with the rest of the suite.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from axhw.gen.families import make
from axhw.design.golden import product_lut

from conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("installed_wheel")]

# Not part of a source tree: the developer's venv, VCS data, build and tool outputs.
SKIP = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__",
                              ".pytest_cache", ".hypothesis", ".axhw-cache", "sim_build", "out",
                              ".whl", ".gl")
RUNTIME_DATA = ["axhw/ppa/flows/synth.ys.tmpl", "axhw/ppa/flows/sta.tcl.tmpl",
                "axhw/sim/rtl_templates/pair_sweep_tb.v", "axhw/sim/rtl_templates/ripple_lcu.v",
                "axhw/ppa/pdks/README.md", "axhw/ppa/pdks/nangate45/nangate45_typ.lib.gz",
                "axhw/ppa/pdks/sky130hd/sky130hd_tt.lib.gz",
                *(f"axhw/ppa/pdks/{p}/LICENSE" for p in ("asap7", "nangate45", "sky130hd"))]


def run(cmd, **kw):
    proc = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, timeout=900, **kw)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, venv, clean environment, work folder outside the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=SKIP, symlinks=True)  # no stale build/ in the wheel
    # pip keeps its own settings (index, cache) but must not see the checkout on PYTHONPATH
    # (it would find axhw there and install nothing).
    pip_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "-q", "--no-deps", "-w", tmp / "dist", src], env=pip_env)
    (wheel,) = (tmp / "dist").glob("axhw-*.whl")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])  # no system site-packages
    run([*pip, "--python", venv / "bin" / "python", "install", "-q", "--no-compile", wheel],
        env=pip_env)
    env = {"PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": os.environ["HOME"],
           "LANG": "C.UTF-8"}
    env.update({k: os.environ[k] for k in ("AXHW_CACHE_DIR", "XDG_CACHE_HOME", "TMPDIR")
                if os.environ.get(k)})
    work = tmp / "work"
    work.mkdir()
    return wheel, venv, env, work


def axhw(installed, *args):
    _, venv, env, work = installed
    return run([venv / "bin" / "axhw", *args], cwd=work, env=env)


def test_wheel_ships_the_runtime_data(installed):
    wheel, venv, env, work = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not [n for n in RUNTIME_DATA if n not in names]
    assert sum(n.startswith("axhw/ppa/pdks/asap7/") and n.endswith(".lib.gz") for n in names) == 5
    assert not [n for n in names if n.startswith(("flows/", "rtl_templates/", "tests/"))]
    where = run([venv / "bin" / "python", "-c", "import axhw; print(axhw.__file__)"],
                cwd=work, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv) and not Path(where).is_relative_to(ROOT)


def test_pdks_come_from_the_package(installed):
    _, venv, _, _ = installed
    entries = {e["name"]: e for e in json.loads(axhw(installed, "pdks", "--json").stdout)}
    for name in ("nangate45", "asap7", "sky130hd"):
        assert entries[name]["origin"] == "bundled"
        assert all(Path(f).is_relative_to(venv) for f in entries[name]["files"])
    assert entries["osu018"]["origin"] == "system"


def test_pipeline_outside_the_checkout(installed):
    """gen -> verify (Icarus, Verilator) -> lut -> metrics -> characterize (bundled nangate45
    and asap7, no --pdk-root) -> sweep, as a user of the installed wheel runs them."""
    _, venv, _, work = installed
    spec = make("perforated", 4, start=1, count=1)
    design = axhw(installed, "gen", "--type", "perforated", "--bits", "4", "-p", "start=1",
                  "-p", "count=1", "-o", "d").stdout.splitlines()[-1]
    verify = axhw(installed, "verify", design, "--sim", "both").stdout
    assert verify.count("PASS") == 2 and "icarus" in verify and "verilator" in verify
    # the algebraic proof needs the ripple techmap shipped in rtl_templates/
    wide = axhw(installed, "gen", "--type", "exact", "--bits", "16", "-p", "final_adder=kogge_stone",
                "-o", "d").stdout.splitlines()[-1]
    proof = axhw(installed, "verify", wide, "--method", "formal", "--engine", "algebraic").stdout
    assert "PASS" in proof and "algebraic" in proof
    axhw(installed, "lut", design, "--format", "npy", "-o", "lut.npy")
    np.testing.assert_array_equal(np.load(work / "lut.npy"), product_lut(spec))
    metrics = json.loads(axhw(installed, "metrics", design, "--json").stdout)
    assert metrics["er"] > 0 and metrics["wce"] > 0
    for pdk in ("nangate45", "asap7"):
        r = json.loads(axhw(installed, "characterize", design, "--pdk", pdk, "--clock-ns", "2",
                            "--vectors", "256", "--no-cache", "--json").stdout)
        assert r["pdk"] == pdk and r["area_um2"] > 0 and r["power_mw"] > 0
        assert r["liberty"] and all(Path(f).is_relative_to(venv) for f in r["liberty"])
    axhw(installed, "sweep", "--type", "perforated", "--bits", "4", "--grid", "start=0..1",
         "--grid", "count=1", "--pdk", "nangate45", "-o", "sweep")
    with open(work / "sweep" / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["top"], r["status"]) for r in rows] == [("mul4u_perf_j0_k1", "ok"),
                                                       ("mul4u_perf_j1_k1", "ok")]
    assert all(float(r["area_um2"]) > 0 for r in rows)


def test_missing_runtime_data_is_one_clear_error(tmp_path, monkeypatch):
    """What an installation without its data files reports (the wheel test above makes sure
    the real wheel has them): the missing path, as an AxhwError, not a traceback."""
    from axhw.ppa.characterize import characterize
    from axhw.design.record import load_design, write_design
    from axhw.infra.errors import AxhwError
    from axhw.ppa.pdk import load_library
    from axhw.sim import cocotb_run

    monkeypatch.setattr("axhw.ppa.synth.FLOWS", tmp_path / "flows")
    design = load_design(write_design(make("exact", 4), tmp_path))
    with pytest.raises(AxhwError, match=r"flows/synth.ys.tmpl is missing"):
        characterize(design, load_library("osu018"), use_cache=False)
    monkeypatch.setattr(cocotb_run, "TEMPLATE", tmp_path / "rtl_templates" / "pair_sweep_tb.v")
    with pytest.raises(AxhwError, match=r"pair_sweep_tb.v is missing from the installation"):
        cocotb_run.testbench("m", ("a", "b", "p"), 4, 4, 8, 16)
