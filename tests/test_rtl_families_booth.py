"""RTL == golden on every input pair for the rounding-based and ROUP families (cocotb on Icarus
and Verilator), and formal equivalence with their behavioural references (Yosys SAT)."""

import pytest

from axhw.design.record import load_design, write_design
from axhw.gen.families import make
from axhw.verify.dispatch import verify_design

ICARUS_MATRIX = [
    ("rounded", 4, 4, False, dict(mode="roba", tree="array")),
    ("rounded", 4, 4, True, dict(mode="roba", tree="wallace")),
    ("rounded", 4, 4, False, dict(mode="operand", round=1, tree="wallace")),
    ("rounded", 4, 4, True, dict(mode="operand", round=2, tree="array")),
    ("roup", 4, 4, True, dict(perforate=1, round=3, tree="array")),
    ("roup", 4, 4, True, dict(q=(2, 1), tree="wallace")),
    ("rounded", 8, 8, False, dict(mode="roba")),
    ("rounded", 8, 8, True, dict(mode="roba", tree="array")),
    ("rounded", 8, 8, False, dict(mode="operand", round=3, tree="array")),
    ("rounded", 8, 8, True, dict(mode="operand", round=3)),
    ("rounded", 8, 8, True, dict(mode="rad", k=6, tree="wallace")),
    ("rounded", 7, 8, True, dict(mode="rad", k=6, tree="array")),
    ("roup", 8, 8, True, dict(perforate=1, round=6)),
    ("roup", 8, 8, True, dict(perforate=1, q=(3, 3, 3), tree="array")),
    ("roup", 8, 7, True, dict(perforate=0, round=5, tree="wallace")),
]

VERILATOR_MATRIX = [
    ("rounded", 4, 4, True, dict(mode="roba", tree="dadda")),
    ("rounded", 8, 8, True, dict(mode="rad", k=6, tree="dadda")),
    ("roup", 8, 8, True, dict(perforate=2, round=8, tree="wallace")),
]

FORMAL_MATRIX = [
    ("rounded", 4, 4, False, dict(mode="roba")),
    ("rounded", 4, 4, True, dict(mode="roba")),
    ("rounded", 4, 4, False, dict(mode="operand", round=2)),
    ("rounded", 7, 7, True, dict(mode="rad", k=6)),
    ("roup", 5, 5, True, dict(q=(1, 3, 2))),
]


def _ids(v):
    return "-".join(f"{k}{x}" for k, x in v.items()) if isinstance(v, dict) else str(v)


def _design(tmp_path, family, na, nb, signed, params):
    return load_design(write_design(make(family, na, nb, signed=signed, **params), tmp_path))


@pytest.mark.parametrize("family,na,nb,signed,params", ICARUS_MATRIX, ids=_ids)
def test_icarus_all_pairs(tmp_path, family, na, nb, signed, params):
    (result,) = verify_design(_design(tmp_path, family, na, nb, signed, params), sim="icarus",
                              method="cocotb")
    assert result.exhaustive and result.checked == 1 << (na + nb)
    assert result.ok, result.first_mismatches


@pytest.mark.parametrize("family,na,nb,signed,params", VERILATOR_MATRIX, ids=_ids)
def test_verilator_all_pairs(tmp_path, family, na, nb, signed, params):
    (result,) = verify_design(_design(tmp_path, family, na, nb, signed, params), sim="verilator",
                              method="cocotb")
    assert result.exhaustive and result.checked == 1 << (na + nb)
    assert result.ok, result.first_mismatches


@pytest.mark.parametrize("family,na,nb,signed,params", FORMAL_MATRIX, ids=_ids)
def test_formal_against_behavioural_reference(tmp_path, family, na, nb, signed, params):
    (result,) = verify_design(_design(tmp_path, family, na, nb, signed, params), method="formal")
    assert result.ok, result.detail


def test_wrong_rounding_bit_is_caught(tmp_path):
    """A test that can fail: feed the ROUP row the wrong rounding bit; simulation must see it."""
    design = _design(tmp_path, "roup", 6, 6, True, dict(q=(2, 0, 0)))
    text = design.verilog_path.read_text()
    assert "a[3] ^ a[1]" in text  # A_H* = A_H xor a_{q-1}, q = 2
    design.verilog_path.write_text(text.replace("a[3] ^ a[1]", "a[3] ^ a[0]"))
    (result,) = verify_design(design, sim="icarus", method="cocotb")
    assert not result.ok and result.mismatches > 0
