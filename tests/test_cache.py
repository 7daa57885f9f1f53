"""axhw.infra.cache: one content-hash cache, one version table, used by every module that caches."""

import re

import pytest

from axhw.infra.cache import VERSIONS, Cache
from conftest import ROOT


def test_entries_round_trip_and_a_version_bump_leaves_old_ones_unread(tmp_path, monkeypatch):
    rows = Cache("sweep", tmp_path)
    key = rows.key("verilog", "osu018", {"clock_ns": 10})
    assert rows.get(key) is None
    rows.put(key, {"area_um2": 1.5})
    assert rows.get(key) == {"area_um2": 1.5}
    monkeypatch.setitem(VERSIONS, "sweep", "bumped")
    assert rows.key("verilog", "osu018", {"clock_ns": 10}) != key  # old entry unreachable


def test_every_field_and_the_kind_move_the_key():
    lut = Cache("lut")
    base = lut.key("a", b"\x00", {"x": 1})
    assert len({base, lut.key("b", b"\x00", {"x": 1}), lut.key("a", b"\x01", {"x": 1}),
                lut.key("a", b"\x00", {"x": 2}), Cache("netsim").key("a", b"\x00", {"x": 1})}) == 5
    assert lut.key("ab", "c") != lut.key("a", "bc")  # fields are length-prefixed
    assert lut.key({"x": 1, "y": 2}) == lut.key({"y": 2, "x": 1})


def test_a_torn_or_missing_entry_is_a_miss(tmp_path):
    c = Cache("ports", tmp_path)
    c.path("k").write_text('{"top": ')
    assert c.get("k") is None and c.get("absent") is None


def test_every_cache_in_axhw_is_in_the_version_table():
    """No module keeps its own version constant: every Cache("kind") is listed in VERSIONS."""
    kinds = set()
    for path in (ROOT / "axhw").rglob("*.py"):
        kinds |= set(re.findall(r'Cache\("([^"]+)"', path.read_text()))
    assert kinds and kinds <= set(VERSIONS), kinds - set(VERSIONS)
    assert len(kinds) >= 10


def test_a_version_bump_rebuilds_a_netlist(tmp_path, monkeypatch):
    """The version is part of a real module's key: bumping it makes netsim run Yosys again."""
    pytest.importorskip("pyosys")
    from axhw.sim.netsim import NETLISTS, generic_netlist

    monkeypatch.setenv("AXHW_CACHE_DIR", str(tmp_path / "cache"))
    v = tmp_path / "m.v"
    v.write_text("module m(input [1:0] a, output [1:0] p); assign p = ~a; endmodule\n")
    generic_netlist(v, "m")
    first = {p.name for p in NETLISTS.dir.glob("*.json")}
    generic_netlist(v, "m")
    assert {p.name for p in NETLISTS.dir.glob("*.json")} == first  # answered from the cache
    monkeypatch.setitem(VERSIONS, "netsim", "bumped")
    generic_netlist(v, "m")
    assert len(list(NETLISTS.dir.glob("*.json"))) == len(first) + 1
