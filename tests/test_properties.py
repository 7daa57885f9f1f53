"""Property tests over the parameter space of every registered family (hypothesis).

For random widths, signedness and per-field values (drawn from the field's type and its `range`
text, plus deliberately bad values): construction either fails with a one-line AxhwError, or the
generated Verilog parses in Yosys and equals the golden model on random pairs (gate-level
evaluation with axhw.sim.netsim, no simulator compile), and so does the family's behavioural
reference (``behavioural_verilog()``, the other side of ``verify --method formal``).
"""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from axhw.sim import netsim
from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.gen.families import family_names, get_family
from axhw.design.golden import pair_values, to_raw

FAMILIES = [name for name in family_names() if name != "systolic"]
PAIRS = 512  # random pairs checked per valid design (all pairs when there are fewer)


def _kind(f) -> str:
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def _good_values(f, bits_a: int, bits_b: int):
    """Plausible values for one family field, from its declared type and `range` text."""
    kind = _kind(f)
    ints = st.integers(0, bits_a + bits_b - 1)
    if kind == "bool":
        return st.booleans()
    if kind == "int":
        return ints
    if kind.startswith("int | None"):
        return st.none() | ints
    if kind.startswith("tuple"):
        return st.lists(ints, max_size=4).map(tuple)
    text = f.metadata.get("range", "")
    if "|" in text:
        return st.sampled_from(text.split("|"))
    # free text (e.g. a hex mask of the partial products)
    return st.integers(0, (1 << (bits_a * bits_b)) - 1).map(lambda v: f"{v:x}")


def _bad_values(f, bits_a: int, bits_b: int):
    """Values outside any field's range: negative or too large numbers, unknown words."""
    kind = _kind(f)
    if kind == "bool":
        return st.booleans()
    big = st.sampled_from([-1, bits_a + bits_b, 100])
    if kind == "int" or kind.startswith("int | None"):
        return big
    if kind.startswith("tuple"):
        return big.map(lambda v: (v,))
    return st.sampled_from(["bogus", "zz", "1 2"])


@st.composite
def family_params(draw, name: str, corrupt: bool = True):
    """(class, bits_a, bits_b, signed, params): plausible values and, with `corrupt`, in a
    quarter of the examples one field (or the width) set to a bad value."""
    cls = get_family(name)
    bits_a = draw(st.integers(2, 8))
    bits_b = draw(st.just(bits_a) | st.integers(2, 8))
    signed = draw(st.booleans())
    fields = cls.family_fields()
    params = {f.name: draw(_good_values(f, bits_a, bits_b))
              for f in fields if draw(st.integers(0, 3))}  # a quarter left at the default
    if corrupt and draw(st.integers(0, 3)) == 0:
        target = draw(st.sampled_from(["bits_a", *(f.name for f in fields)]))
        if target == "bits_a":
            bits_a = draw(st.sampled_from([0, 1, cls.max_bits + 1]))
        else:
            f = next(f for f in fields if f.name == target)
            params[target] = draw(_bad_values(f, bits_a, bits_b))
    return cls, bits_a, bits_b, signed, params


@st.composite
def valid_params(draw, name: str):
    """Like family_params, redrawn until the combination is valid (parameters are coupled:
    e.g. a mode needs its own fields), so every family gets designs to check."""
    for _ in range(200):
        cls, bits_a, bits_b, signed, params = draw(family_params(name, corrupt=False))
        try:
            cls(bits_a=bits_a, bits_b=bits_b, signed=signed, **params)
        except AxhwError:
            continue
        return cls, bits_a, bits_b, signed, params
    reject()


def _check(cls, bits_a, bits_b, signed, params):
    try:
        spec = cls(bits_a=bits_a, bits_b=bits_b, signed=signed, **params)
    except AxhwError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, f"multi-line error: {msg!r}"
        return
    with tempfile.TemporaryDirectory() as tmp:
        d = load_design(write_design(spec, tmp))
        n = 1 << (bits_a + bits_b)
        index = np.arange(n) if n <= PAIRS else np.random.default_rng(n).integers(0, n, PAIRS)
        out = netsim.simulate_pairs(d.verilog_path, d.top, d.ports, bits_a, bits_b, d.out_bits,
                                    index)
        A, B = pair_values(index, bits_a, bits_b, signed)
        expected = to_raw(spec.golden(A, B), d.out_bits)
        bad = np.flatnonzero(out != expected)
        assert len(bad) == 0, (f"{d.top} {params}: {len(bad)} of {len(index)} pairs differ, "
                               f"e.g. a={A[bad[0]]} b={B[bad[0]]}")
        # the behavioural reference of `verify --method formal`, where the family has one
        ref = spec.behavioural_verilog()
        if ref is not None:
            path = d.verilog_path.with_name(f"{d.top}_ref.v")
            path.write_text(ref)
            out = netsim.simulate_pairs(path, f"{d.top}_ref", d.ports, bits_a, bits_b,
                                        d.out_bits, index)
            bad = np.flatnonzero(out != expected)
            assert len(bad) == 0, (f"{d.top}_ref {params}: {len(bad)} of {len(index)} pairs "
                                   f"differ from golden, e.g. a={A[bad[0]]} b={B[bad[0]]}")


def _settings(examples: int):
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.mark.parametrize("name", FAMILIES)
def test_family_parameter_space(name):
    """Any combination: a one-line error, or a design that equals its golden model."""
    @_settings(10)
    @given(family_params(name))
    def run(drawn):
        _check(*drawn)

    run()


@pytest.mark.parametrize("name", FAMILIES)
def test_valid_designs_equal_golden(name):
    @_settings(5)
    @given(valid_params(name))
    def run(drawn):
        _check(*drawn)

    run()
