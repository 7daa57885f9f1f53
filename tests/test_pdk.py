"""PDK registry: finding Liberty files (bundled first-class: nothing here skips for lack of a
library), unit normalization against the library text, errors, `axhw pdks`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from axhw.design.record import write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import make
from axhw.ppa.pdk import (BUNDLED_ROOT, PDKS, find_liberty_files, load_library, locate_pdk,
                          read_header)

from conftest import assert_one_line_error

OSU018 = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")
BUNDLED = ("nangate45", "asap7", "sky130hd")


def pdk_dir(name: str) -> Path:
    return BUNDLED_ROOT / name


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
    with pytest.raises(AxhwError, match="is not a folder"):
        load_library("nangate45", pdk_root=tmp_path / "typo")
    (tmp_path / "nangate45").mkdir()
    with pytest.raises(AxhwError, match="has no file matching"):  # incomplete: no fallback
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
    (["--pdk", "nangate45", "--pdk-root", "/nonexistent"], "is not a folder"),
])
def test_cli_library_errors_are_one_line(cli, tmp_path, args, expect):
    design = write_design(make("exact", 4), tmp_path)
    proc = cli("characterize", design, *args)
    assert_one_line_error(proc)
    assert expect in proc.stderr


def test_search_order_root_then_bundled_then_system(tmp_path, monkeypatch):
    monkeypatch.delenv("AXHW_PDK_ROOT", raising=False)
    bundled = locate_pdk("nangate45")
    assert bundled.origin == "bundled" and bundled.files[0].parent == BUNDLED_ROOT / "nangate45"
    assert locate_pdk("osu018").files == (OSU018,) and locate_pdk("osu018").origin == "system"
    for root in ("flag", "env"):
        (tmp_path / root / "nangate45").mkdir(parents=True)
        (tmp_path / root / "nangate45" / "n.lib.gz").symlink_to(bundled.files[0])
    monkeypatch.setenv("AXHW_PDK_ROOT", str(tmp_path / "env"))
    env = locate_pdk("nangate45")
    assert env.origin == "$AXHW_PDK_ROOT" and env.files == (tmp_path / "env/nangate45/n.lib.gz",)
    flag = locate_pdk("nangate45", tmp_path / "flag")  # the flag beats the variable
    assert flag.origin == "--pdk-root" and flag.files == (tmp_path / "flag/nangate45/n.lib.gz",)
    assert locate_pdk("asap7", tmp_path / "flag").origin == "bundled"  # root without asap7/
    assert load_library("nangate45", pdk_root=tmp_path / "flag").sha256 == \
        load_library("nangate45").sha256  # same file, found two ways
    monkeypatch.setattr("axhw.ppa.pdk.BUNDLED_ROOT", tmp_path / "gone")  # a broken installation
    monkeypatch.delenv("AXHW_PDK_ROOT")
    with pytest.raises(AxhwError, match=r"gone/sky130hd does not exist.*--pdk-root"):
        locate_pdk("sky130hd")


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_library_has_licence_and_notice(name):
    files = locate_pdk(name).files
    assert files and all(f.name.endswith(".lib.gz") and f.parent == pdk_dir(name) for f in files)
    assert "licen" in (pdk_dir(name) / "LICENSE").read_text().lower()
    notice = (BUNDLED_ROOT / "README.md").read_text()
    assert f"`{name}/`" in notice and PDKS[name].source.split(",")[0] in notice


@pytest.mark.parametrize("name,time_s,cap_f,leak_w,volts", [
    ("nangate45", 1e-9, 1e-15, 1e-9, 1.1), ("asap7", 1e-12, 1e-15, 1e-12, 0.7),
    ("sky130hd", 1e-9, 1e-12, 1e-9, 1.8), ("osu018", 1e-9, 1e-12, 1e-9, 1.8)])
def test_read_header_agrees_with_the_file(name, time_s, cap_f, leak_w, volts):
    """The fast header read (axhw pdks) gives the units the full parse finds."""
    path = sorted(locate_pdk(name).files, key=lambda p: p.stat().st_size)[0]  # smallest file
    head = read_header(path)
    assert (head["time_s"], head["cap_f"], head["leakage_w"], head["nom_voltage"]) == \
        pytest.approx((time_s, cap_f, leak_w, volts))
    full = load_library(name, liberty=[path]).facts[0]
    assert full["units"] == pytest.approx({k: head[k] for k in ("time_s", "cap_f", "leakage_w")})
    assert full["nom_voltage"] == head["nom_voltage"]


def test_cli_pdks_lists_every_library(cli, tmp_path):
    proc = cli("pdks", "--json", env={"AXHW_PDK_ROOT": ""})
    assert proc.returncode == 0, proc.stderr
    entries = {e["name"]: e for e in json.loads(proc.stdout)}
    assert list(entries) == list(PDKS)
    for name in BUNDLED:
        e = entries[name]
        assert e["found"] and e["origin"] == "bundled" and e["fix"] is None
        assert [Path(f).parent for f in e["files"]] == [pdk_dir(name)] * len(e["files"])
        assert e["licence_file"] == str(pdk_dir(name) / "LICENSE") and e["source"] and e["licence"]
    assert entries["osu018"]["origin"] == "system" and entries["osu018"]["files"] == [str(OSU018)]
    units = {n: (e["units"]["time"], e["units"]["capacitance"], e["units"]["leakage_power"],
                 e["units"]["internal_energy"], e["nom_voltage_v"]) for n, e in entries.items()}
    assert units == {"nangate45": ("1 ns", "1 fF", "1 nW", "1 fJ", 1.1),
                     "asap7": ("1 ps", "1 fF", "1 pW", "1 fJ", 0.7),
                     "sky130hd": ("1 ns", "1 pF", "1 nW", "1 pJ", 1.8),
                     "osu018": ("1 ns", "1 pF", "1 nW", "1 pJ", 1.8)}
    human = cli("pdks", env={"AXHW_PDK_ROOT": ""}).stdout
    assert all(f"{n}: {PDKS[n].description}" in human for n in PDKS)
    assert "bundled: 5 files in" in human and "time 1 ps, capacitance 1 fF" in human


def test_cli_pdks_shows_the_root_and_what_is_missing(cli, tmp_path):
    """A root holding an incomplete asap7/ (and nothing else): asap7 is 'not found' with the
    reason, the others still come from the bundled copy; --pdk-root beats AXHW_PDK_ROOT."""
    (tmp_path / "root" / "asap7").mkdir(parents=True)
    (tmp_path / "root" / "nangate45").mkdir()
    (tmp_path / "root" / "nangate45" / "n.lib.gz").symlink_to(pdk_dir("nangate45") /
                                                               "nangate45_typ.lib.gz")
    for args, env in ((["--pdk-root", tmp_path / "root"], {"AXHW_PDK_ROOT": str(tmp_path)}),
                      ([], {"AXHW_PDK_ROOT": str(tmp_path / "root")})):
        proc = cli("pdks", "--json", *args, env=env)
        assert proc.returncode == 0, proc.stderr
        e = {x["name"]: x for x in json.loads(proc.stdout)}
        assert not e["asap7"]["found"] and "has no file matching" in e["asap7"]["fix"]
        assert e["nangate45"]["origin"] == ("--pdk-root" if args else "$AXHW_PDK_ROOT")
        assert e["nangate45"]["files"] == [str(tmp_path / "root/nangate45/n.lib.gz")]
        assert e["sky130hd"]["origin"] == "bundled"
    assert "asap7: " in (out := cli("pdks", *args, env=env).stdout) and "not found: " in out
    assert_one_line_error(cli("pdks", "--pdk-root", tmp_path / "typo"))
