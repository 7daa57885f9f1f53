"""Verification past 8 bits: the exhaustive Verilator harness and the formal (SAT) proof."""

from __future__ import annotations

import numpy as np
import pytest

from axhw.cli import main
from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError, VerificationFailed
from axhw.gen.families import make
from axhw.gen.hdl.reference import ref_module
from axhw.verify.formal import prove
from axhw.sim.netsim import generic_netlist
from axhw.verify.harness import sliced_verilog
from axhw.verify.dispatch import verify_design



def _design(tmp_path, *args, **kw):
    return load_design(write_design(make(*args, **kw), tmp_path))


def _break(design) -> None:
    """Turn the first AND of the design into an OR (the JSON stays: golden is unchanged)."""
    text = design.verilog_path.read_text()
    design.verilog_path.write_text(text.replace(" & ", " | ", 1))


def test_exhaustive_passes_10x10_signed_booth(tmp_path):
    d = _design(tmp_path, "perforated", 10, signed=True, start=1, count=2, encoding="booth")
    (r,) = verify_design(d, sim="verilator", method="exhaustive")
    assert (r.method, r.sim, r.checked, r.mismatches, r.exhaustive) == \
        ("exhaustive", "verilator", 1 << 20, 0, True)


def test_exhaustive_catches_a_broken_design(tmp_path, capsys):
    d = _design(tmp_path, "exact", 7, 5)
    _break(d)
    (r,) = verify_design(d, sim="both", method="exhaustive")
    assert r.checked == 1 << 12 and r.mismatches > 0
    m = r.first_mismatches[0]
    assert m["expected"] == m["a"] * m["b"] != m["got"]
    assert main(["verify", str(d.json_path), "--method", "exhaustive",
                 "--allow-edited"]) == VerificationFailed.exit_code
    assert "RTL differs" in capsys.readouterr().err


def test_exhaustive_needs_verilator(tmp_path):
    d = _design(tmp_path, "exact", 4)
    with pytest.raises(AxhwError, match="Verilator harness"):
        verify_design(d, sim="icarus", method="exhaustive")


def test_sliced_model_covers_asymmetric_ports(tmp_path):
    d = _design(tmp_path, "exact", 3, 5)
    text = sliced_verilog(generic_netlist(d.verilog_path, d.top, optimize=False), d.ports, 5)
    assert "input [63:0] i7," in text and "input [63:0] i8" not in text
    assert "output [63:0] o7" in text and "o8" not in text


@pytest.mark.slow
def test_exhaustive_12x12(tmp_path):
    d = _design(tmp_path, "perforated", 12, start=3, count=4)
    (r,) = verify_design(d, sim="verilator", method="exhaustive")
    assert r.checked == 1 << 24 and r.mismatches == 0


@pytest.mark.slow
def test_exhaustive_16x16(tmp_path):
    """All 2^32 pairs (about a minute on 2 cores; benchmarks/verify_wide.py times it)."""
    d = _design(tmp_path, "exact", 16)
    (r,) = verify_design(d, sim="verilator", method="exhaustive")
    assert r.checked == 1 << 32 and r.mismatches == 0


# -- formal ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("family,bits,signed,params", [
    ("exact", 5, False, {}),
    ("exact", 5, True, {"encoding": "booth"}),
    ("perforated", 6, False, {"start": 2, "count": 2}),
    ("perforated", 5, True, {"start": 0, "count": 1, "encoding": "booth"}),
    ("perforated", 6, False, {"start": 1, "count": 1, "encoding": "booth"}),
])
def test_formal_proves(tmp_path, family, bits, signed, params):
    d = _design(tmp_path, family, bits, signed=signed, **params)
    (r,) = verify_design(d, method="formal")
    assert r.ok and r.checked == 1 << (2 * bits) and r.sim == "yosys-sat"


def test_formal_counterexample(tmp_path):
    d = _design(tmp_path, "exact", 5, signed=True)
    _break(d)
    with pytest.raises(VerificationFailed) as exc:
        prove(d, timeout=120)
    msg = str(exc.value)
    assert "counterexample" in msg and "\n" not in msg
    # the reported pair really is a counterexample of the broken RTL
    fields = dict(kv.split("=") for kv in msg.split("counterexample ")[1].split(" (")[0].split())
    a, b = int(fields["a"]), int(fields["b"])
    assert int(fields["reference"]) == a * b != int(fields["design"])


def test_formal_reference_must_be_right(tmp_path):
    """A wrong reference fails the proof (the proof compares, it does not trust)."""
    d = _design(tmp_path, "exact", 4)
    wrong = ref_module(d.spec, "sa * sb + (sa == 3 && sb == 5 ? 1 : 0)")
    d.spec = type("Wrong", (), {"behavioural_verilog": lambda self: wrong})()
    with pytest.raises(VerificationFailed, match="a=3 b=5 design=15 reference=16"):
        prove(d, timeout=120)


def test_formal_without_reference_and_timeout(tmp_path, capsys):
    d = _design(tmp_path, "exact", 4)
    d.spec = type("NoRef", (), {"behavioural_verilog": lambda self: None})()
    with pytest.raises(AxhwError, match="no behavioural reference"):
        prove(d)
    d8 = _design(tmp_path, "exact", 8, signed=True)
    assert main(["verify", str(d8.json_path), "--method", "formal", "--engine", "sat",
                 "--timeout", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "did not finish within 1 s" in err and "\n" not in err


def test_reference_modules_equal_golden(tmp_path):
    """The behavioural references themselves, simulated with the gate evaluator, equal golden."""
    from axhw.sim import netsim  # noqa: PLC0415
    from axhw.design.golden import all_pairs, to_raw  # noqa: PLC0415

    for spec in (make("exact", 5, 4, signed=True),
                 make("perforated", 6, signed=True, start=1, count=2, encoding="booth"),
                 make("perforated", 7, start=0, count=2, encoding="booth")):
        path = tmp_path / f"{spec.top}_ref.v"
        path.write_text(spec.behavioural_verilog())
        out = netsim.simulate_pairs(path, f"{spec.top}_ref", ("a", "b", "p"), spec.bits_a,
                                    spec.bits_b, spec.out_bits,
                                    np.arange(1 << (spec.bits_a + spec.bits_b)))
        A, B = all_pairs(spec.bits_a, spec.bits_b, spec.signed)
        np.testing.assert_array_equal(out, to_raw(spec.golden(A, B), spec.out_bits))


def test_row_golden_broadcasts_or_falls_back(tmp_path):
    from axhw.design.golden import pair_values, to_raw, to_value  # noqa: PLC0415
    from axhw.verify.harness import RowGolden  # noqa: PLC0415

    d = _design(tmp_path, "perforated", 6, 5, signed=True, start=1, count=2, encoding="booth")
    a = to_value(np.arange(64), 6, True)  # every row of a, in pair-index order
    A, B = pair_values(np.arange(1 << 11), 6, 5, True)
    want = to_raw(d.golden(A, B), d.out_bits)
    rg = RowGolden(d)
    assert all(np.array_equal(rg.expected(a), want) for _ in range(2)) and rg.broadcast
    # a golden model written for flat arrays only (iterates pairs) is detected and used flat
    spec = d.spec
    d.golden = lambda X, Y: np.array([int(spec.golden(np.array([x]), np.array([y]))[0])
                                      for x, y in zip(X.ravel(), Y.ravel())])
    rg = RowGolden(d)
    assert all(np.array_equal(rg.expected(a), want) for _ in range(2)) and rg.broadcast is False
