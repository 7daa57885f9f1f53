"""RTL == golden on every input pair, through cocotb on Icarus and Verilator."""

import pytest

from axhw.design.record import load_design, write_design
from axhw.gen.families import make
from axhw.verify.dispatch import verify_design

ICARUS_MATRIX = [
    ("exact", 8, 8, False, dict(encoding="and", tree="dadda")),
    ("exact", 8, 8, True, dict(encoding="and", tree="wallace")),
    ("exact", 8, 8, True, dict(encoding="booth", tree="array")),
    ("exact", 7, 5, False, dict(encoding="booth", tree="dadda")),
    ("exact", 5, 7, True, dict(encoding="booth", tree="wallace")),
    ("perforated", 8, 8, False, dict(start=2, count=3)),
    ("perforated", 8, 8, True, dict(start=2, count=3, tree="array")),
    ("perforated", 8, 8, True, dict(start=1, count=2, encoding="booth")),
    ("perforated", 8, 8, False, dict(start=1, count=2, encoding="booth", tree="wallace")),
    ("perforated", 8, 8, False, dict(start=0, count=2, encoding="booth", tree="array")),
    ("perforated", 6, 4, False, dict(start=1, count=2)),
    ("perforated", 4, 6, True, dict(start=0, count=3, tree="wallace")),
    ("perforated", 4, 4, False, dict(start=3, count=1, tree="array")),
    ("perforated", 2, 2, True, dict(start=0, count=1)),
    ("exact", 2, 3, False, dict(encoding="booth")),
]

VERILATOR_MATRIX = [
    ("perforated", 8, 8, False, dict(start=2, count=3)),
    ("perforated", 8, 8, True, dict(start=1, count=2, encoding="booth", tree="wallace")),
    ("perforated", 6, 4, True, dict(start=0, count=2, tree="array")),
    ("exact", 8, 8, False, dict(encoding="booth", tree="dadda")),
]


def _check(tmp_path, family, na, nb, signed, params, sim):
    spec = make(family, na, nb, signed=signed, **params)
    design = load_design(write_design(spec, tmp_path))
    (result,) = verify_design(design, sim=sim)
    assert result.exhaustive and result.checked == 1 << (na + nb)
    assert result.ok, result.first_mismatches


@pytest.mark.parametrize("family,na,nb,signed,params", ICARUS_MATRIX,
                         ids=lambda v: str(v) if not isinstance(v, dict) else
                         "-".join(f"{k}{x}" for k, x in v.items()))
def test_icarus_all_pairs(tmp_path, family, na, nb, signed, params):
    _check(tmp_path, family, na, nb, signed, params, "icarus")


@pytest.mark.parametrize("family,na,nb,signed,params", VERILATOR_MATRIX,
                         ids=lambda v: str(v) if not isinstance(v, dict) else
                         "-".join(f"{k}{x}" for k, x in v.items()))
def test_verilator_all_pairs(tmp_path, family, na, nb, signed, params):
    _check(tmp_path, family, na, nb, signed, params, "verilator")


def test_broken_rtl_is_caught(tmp_path):
    """A test that can fail: corrupt one gate of a verified design and verify must report it."""
    spec = make("perforated", 6, start=1, count=2)
    path = write_design(spec, tmp_path)
    v = tmp_path / f"{spec.top}.v"
    text = v.read_text()
    assert "wire pp_r0_a3 = a[3] & b[0];" in text
    v.write_text(text.replace("wire pp_r0_a3 = a[3] & b[0];", "wire pp_r0_a3 = a[3] | b[0];"))
    (result,) = verify_design(load_design(path, allow_edited=True), sim="icarus")
    assert not result.ok and result.mismatches > 0
    m = result.first_mismatches[0]
    assert m["expected"] != m["got"]


def test_verilator_build_is_keyed_by_the_cocotb_it_links(tmp_path, monkeypatch):
    """A Verilator testbench links cocotb's libraries by RUNPATH; a build cached by another
    environment (a deleted venv) failed to start with exit 127. The cache key must move with them."""
    import subprocess

    from axhw.infra.fileio import cache_root
    from axhw.sim import cocotb_run

    spec = make("perforated", 3, start=0, count=1)
    design = load_design(write_design(spec, tmp_path))
    (result,) = verify_design(design, sim="verilator")
    assert result.ok
    built = [d for d in (cache_root() / "sim" / "verilator").iterdir()
             if (d / "dut.v").is_file() and (d / "dut.v").read_text() == design.verilog_path.read_text()]
    assert built
    dynamic = subprocess.run(["readelf", "-d", built[0] / "axhw_tb"], capture_output=True,
                             text=True, check=True).stdout
    assert cocotb_run.cocotb_libs().split()[0] in dynamic
    runs = set((built[0] / "runs").iterdir())
    assert verify_design(design, sim="verilator")[0].ok  # the cached build, run again
    assert set((built[0] / "runs").iterdir()) == runs  # a passed run leaves no folder behind
    here = cocotb_run.build_dir("verilator", "tb", "dut")
    monkeypatch.setattr(cocotb_run, "cocotb_libs", lambda: "/elsewhere/cocotb/libs")
    assert cocotb_run.build_dir("verilator", "tb", "dut") != here
