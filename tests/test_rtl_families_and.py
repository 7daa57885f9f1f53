"""RTL of the AND-array families == golden model on every input pair (cocotb on Icarus and
Verilator), and formally on small widths."""

import pytest

from axhw.design.record import load_design, write_design
from axhw.infra.errors import VerificationFailed
from axhw.gen.families import make
from axhw.verify.dispatch import verify_design

ICARUS_MATRIX = [
    ("truncated", 8, 8, False, dict(cut=6)),
    ("truncated", 8, 8, True, dict(cut=9, correction="constant", tree="wallace")),
    ("truncated", 4, 4, True, dict(cut=3, correction="constant", tree="array")),
    ("truncated", 8, 8, True, dict(mode="operand", cut=2, tree="array")),
    ("truncated", 4, 4, False, dict(mode="operand", cut=1, tree="wallace")),
    ("truncated", 8, 8, False, dict(mode="cct", out_bits=8, guard=4)),
    ("truncated", 8, 8, False, dict(mode="vct", out_bits=8, guard=2, tree="array")),
    ("truncated", 4, 4, False, dict(mode="cct", out_bits=4, guard=1, tree="wallace")),
    ("truncated", 6, 4, False, dict(mode="vct", out_bits=5, guard=1, tree="wallace")),
    ("bam", 8, 8, True, dict(h=6, v=11, row_operand="a", tree="array")),
    ("bam", 8, 8, False, dict(h=2, v=6, tree="wallace")),
    ("bam", 4, 4, True, dict(h=1, v=3)),
    ("bam", 5, 7, False, dict(h=2, v=5, row_operand="a", tree="array")),
    ("masked", 8, 8, False, dict(mask="0x00ff00f00f0f3f7f", compensation="constant")),
    ("masked", 8, 8, True, dict(drop_columns=(0, 1, 2, 3, 4, 5, 6), compensation="constant",
                                tree="wallace")),
    ("masked", 4, 4, True, dict(mask="0x8421", tree="array")),
    ("masked", 6, 4, True, dict(mask="0x3c0f3f", compensation="constant")),
]

VERILATOR_MATRIX = [
    ("truncated", 8, 8, False, dict(mode="vct", out_bits=8, guard=2, tree="array")),
    ("bam", 8, 8, True, dict(h=6, v=11, row_operand="a", tree="wallace")),
    ("masked", 6, 4, True, dict(mask="0x3c0f3f", compensation="constant", tree="array")),
]

FORMAL_MATRIX = [
    ("truncated", 4, 4, False, dict(mode="vct", out_bits=4, guard=1)),
    ("truncated", 5, 4, False, dict(mode="cct", out_bits=4, guard=2, tree="array")),
    ("truncated", 4, 4, True, dict(cut=4, correction="constant", tree="wallace")),
    ("truncated", 5, 4, True, dict(mode="operand", cut=2)),
    ("bam", 4, 5, True, dict(h=1, v=4, row_operand="a")),
    ("bam", 8, 8, True, dict(h=6, v=11, row_operand="a", tree="array")),
    ("masked", 5, 4, True, dict(mask="0x3a5c1", compensation="constant", tree="array")),
]


def _ids(v):
    return "-".join(f"{k}{x}" for k, x in v.items()) if isinstance(v, dict) else str(v)


def _verify(tmp_path, family, na, nb, signed, params, sim, method="cocotb"):
    spec = make(family, na, nb, signed=signed, **params)
    design = load_design(write_design(spec, tmp_path))
    (result,) = verify_design(design, sim=sim, method=method)
    assert result.exhaustive and result.checked == 1 << (na + nb)
    assert result.ok, result.first_mismatches


@pytest.mark.parametrize("family,na,nb,signed,params", ICARUS_MATRIX, ids=_ids)
def test_icarus_all_pairs(tmp_path, family, na, nb, signed, params):
    _verify(tmp_path, family, na, nb, signed, params, "icarus")


@pytest.mark.parametrize("family,na,nb,signed,params", VERILATOR_MATRIX, ids=_ids)
def test_verilator_all_pairs(tmp_path, family, na, nb, signed, params):
    _verify(tmp_path, family, na, nb, signed, params, "verilator")


@pytest.mark.parametrize("family,na,nb,signed,params", FORMAL_MATRIX, ids=_ids)
def test_formal_equivalence(tmp_path, family, na, nb, signed, params):
    _verify(tmp_path, family, na, nb, signed, params, "icarus", method="formal")


def _corrupt(tmp_path, spec, old, new):
    path = write_design(spec, tmp_path)
    v = tmp_path / f"{spec.top}.v"
    text = v.read_text()
    assert old in text
    v.write_text(text.replace(old, new))
    return load_design(path, allow_edited=True)  # edited on purpose


def test_wrong_port_slice_is_caught(tmp_path):
    """Tests that can fail: the CCT port taken one bit too low must mismatch in simulation, and
    the formal proof must produce a counterexample."""
    spec = make("truncated", 4, mode="cct", out_bits=4, guard=1)
    design = _corrupt(tmp_path, spec, "full_sum[7:4]", "full_sum[6:3]")
    (result,) = verify_design(design, sim="icarus")
    assert not result.ok and result.mismatches > 0
    with pytest.raises(VerificationFailed, match="counterexample"):
        verify_design(design, method="formal")


def test_missing_constant_is_caught(tmp_path):
    """The compensated design's JSON with the uncompensated structure must fail everywhere."""
    comp = make("masked", 4, mask="0x000f", compensation="constant")
    plain = make("masked", 4, mask="0x000f")
    assert comp.constant() == 4  # (1+2+4+8)/4 = 3.75, at the lowest kept column (2^0)
    path = write_design(comp, tmp_path)
    (tmp_path / f"{comp.top}.v").write_text(plain.verilog().replace(plain.top, comp.top))
    (result,) = verify_design(load_design(path, allow_edited=True), sim="icarus")
    assert result.mismatches == result.checked == 256


@pytest.mark.parametrize("family,na,nb,signed,params", [
    ("truncated", 16, 12, False, dict(mode="vct", out_bits=14, guard=3, tree="wallace")),
    ("masked", 16, 16, True, dict(mask="0x" + "ffff0000" * 8, drop_columns=(30,),
                                  compensation="constant")),
], ids=_ids)
def test_wide_random_pairs(tmp_path, family, na, nb, signed, params):
    """Widths up to 16: 64-bit constants and masks, checked on random pairs."""
    spec = make(family, na, nb, signed=signed, **params)
    (result,) = verify_design(load_design(write_design(spec, tmp_path)), sim="icarus",
                              method="random", samples=3000)
    assert result.checked == 3000 and result.ok, result.first_mismatches
