"""PDK registry: finding Liberty files, unit normalization against the library text, errors."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from axhw.design import write_design
from axhw.errors import AxhwError
from axhw.families import make
from axhw.pdk import PDKS, find_liberty_files, load_library

from conftest import assert_one_line_error

OSU018 = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")
PDK_ROOT = Path(os.environ["AXHW_PDK_ROOT"]) if os.environ.get("AXHW_PDK_ROOT") else None


def pdk_dir(name: str) -> Path:
    if PDK_ROOT is None or not (PDK_ROOT / name).is_dir():
        pytest.skip(f"AXHW_PDK_ROOT does not hold {name}")
    return PDK_ROOT / name


requires_osu018 = pytest.mark.skipif(not OSU018.is_file(), reason="qflow-tech-osu018 not installed")


def lib_text(path: Path) -> str:
    return (gzip.open(path, "rt") if path.name.endswith(".gz") else open(path)).read()


def group(text: str, kind: str, name: str) -> str:
    """The text from a group header (``cell (X) {``, spacing as the file has it) to the next
    group of that kind: plain string search, independent of the Liberty parser."""
    for header in (f"{kind} ({name}) {{", f"{kind}({name})  {{", f"{kind}({name}) {{",
                   f'{kind} ("{name}") {{'):
        start = text.find(header)
        if start >= 0:
            end = min((i for i in (text.find(f"\n{kind} (", start + 1),
                                   text.find(f" {kind} (", start + 1),
                                   text.find(f" {kind}(", start + 1)) if i > 0), default=None)
            return text[start:end]
    raise AssertionError(f"{kind} {name} not found")


def attribute(block: str, name: str) -> float:
    for line in block.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return float(value.strip().rstrip(";").strip('"'))
    raise AssertionError(f"{name} not in block")


def pin_cap(cell_text: str, pin: str) -> float:
    return attribute(group(cell_text, "pin", pin), "capacitance")


def test_asap7_units_ps_ff_pw():
    """ASAP7: ps, fF, pW in the file -> ns, fF, mW (one of its five files, the small INVBUF)."""
    path = next(pdk_dir("asap7").glob("*INVBUF*.lib*"))
    text = lib_text(path)
    assert 'time_unit : "1ps"' in text and 'leakage_power_unit : "1pW"' in text
    lib = load_library("asap7", liberty=[path])
    assert lib.time_unit_ns == pytest.approx(1e-3)
    assert lib.cap_unit_ff == pytest.approx(1.0)
    assert lib.leakage_unit_mw == pytest.approx(1e-9)
    block = group(text, "cell", "INVx1_ASAP7_75t_R")
    cell = lib.cells["INVx1_ASAP7_75t_R"]
    assert cell["inputs"]["A"] == pytest.approx(pin_cap(block, "A"))
    assert cell["area"] == pytest.approx(attribute(block, "area"))
    assert lib.inverter[0] == "INVx1_ASAP7_75t_R"


def test_asap7_needs_all_five_files(tmp_path):
    src = pdk_dir("asap7")
    (tmp_path / "asap7").mkdir()
    for f in src.glob("*INVBUF*.lib*"):
        (tmp_path / "asap7" / f.name).symlink_to(f)
    with pytest.raises(AxhwError, match="SIMPLE"):
        find_liberty_files("asap7", tmp_path)
    assert len(find_liberty_files("asap7", src.parent)) == 5


def test_sky130_pf_to_ff():
    path = next(pdk_dir("sky130hd").glob("*.lib*"))
    lib = load_library("sky130hd")
    assert lib.sources == (path,) and lib.files[0].suffix == ".lib"  # decompressed for OpenSTA
    assert lib.cap_unit_ff == pytest.approx(1000.0) and lib.time_unit_ns == pytest.approx(1.0)
    block = group(lib_text(path), "cell", "sky130_fd_sc_hd__inv_1")
    assert lib.cells["sky130_fd_sc_hd__inv_1"]["inputs"]["A"] == pytest.approx(
        pin_cap(block, "A") * 1000.0)
    assert lib.tie_hi == ("sky130_fd_sc_hd__conb_1", "HI")
    assert lib.tie_lo == ("sky130_fd_sc_hd__conb_1", "LO")
    assert lib.cells["sky130_fd_sc_hd__lpflow_isobufsrc_1"]["dont_use"]  # the PDK's list
    assert not lib.cells["sky130_fd_sc_hd__nand2_1"]["dont_use"]


def test_nangate45_units_and_roles():
    lib = load_library("nangate45")
    assert (lib.time_unit_ns, lib.cap_unit_ff, lib.leakage_unit_mw) == pytest.approx((1, 1, 1e-6))
    assert lib.inverter == ("INV_X1", "A", "ZN") and lib.buffer == ("BUF_X1", "A", "Z")
    assert lib.tie_hi == ("LOGIC1_X1", "Z") and lib.tie_lo == ("LOGIC0_X1", "Z")
    path = next(pdk_dir("nangate45").glob("*.lib*"))
    block = group(lib_text(path), "cell", "NAND2_X1")
    assert lib.cells["NAND2_X1"]["area"] == pytest.approx(attribute(block, "area"))
    # nW in the file -> mW
    assert lib.cells["NAND2_X1"]["leakage_mw"] == pytest.approx(
        attribute(block, "cell_leakage_power") * 1e-6)


@requires_osu018
def test_osu018_is_the_default_without_configuration(monkeypatch):
    monkeypatch.delenv("AXHW_PDK_ROOT", raising=False)
    lib = load_library()
    assert lib.pdk == "osu018" and lib.sources == (OSU018,)
    text = lib_text(OSU018)
    assert lib.cap_unit_ff == pytest.approx(1000.0)  # capacitive_load_unit (1,pf)
    block = group(text, "cell", "INVX1")
    assert lib.inverter_input_cap_ff == pytest.approx(pin_cap(block, "A") * 1000.0)
    assert lib.tie_hi is None and lib.tie_lo is None  # no tie cells: constants stay literal
    assert "INVX1" in lib.cell_functions() and "DFFPOSX1" not in lib.cell_functions()


def test_registry_and_errors(tmp_path, monkeypatch):
    assert set(PDKS) == {"nangate45", "asap7", "sky130hd", "osu018"}
    with pytest.raises(AxhwError, match="unknown PDK 'tsmc5'"):
        load_library("tsmc5")
    monkeypatch.delenv("AXHW_PDK_ROOT", raising=False)
    with pytest.raises(AxhwError, match="AXHW_PDK_ROOT is not set"):
        load_library("nangate45")
    with pytest.raises(AxhwError, match="does not exist"):
        load_library("nangate45", pdk_root=tmp_path)
    with pytest.raises(AxhwError, match="not found"):
        load_library(liberty=[tmp_path / "none.lib"])
    bad = tmp_path / "bad.lib"
    bad.write_text("library (x) { time_unit : ")
    with pytest.raises(AxhwError, match="does not parse"):
        load_library(liberty=[bad])


@pytest.mark.parametrize("args,expect", [
    (["--pdk", "tsmc5"], "unknown PDK"),
    (["--liberty", "/nonexistent/x.lib"], "Liberty file not found"),
    (["--pdk", "nangate45", "--pdk-root", "/nonexistent"], "does not exist"),
])
def test_cli_library_errors_are_one_line(cli, tmp_path, args, expect):
    design = write_design(make("exact", 4), tmp_path)
    proc = cli("characterize", design, *args)
    assert_one_line_error(proc)
    assert expect in proc.stderr
