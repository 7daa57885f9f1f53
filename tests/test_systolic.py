"""Systolic array: parameters, the two Python models (cycle-accurate == functional), design files,
CLI errors. RTL tests are in test_systolic_rtl.py."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from axhw.design.record import load_design
from axhw.infra.errors import AxhwError
from axhw.systolic.array import SystolicArray, parse_multiplier
from axhw.systolic.cocotb_array import draw, operand_range
from axhw.systolic.design import array_from_dict
from axhw.systolic.model import CycleModel, functional, load_weights, stream
from conftest import assert_one_line_error


def make_array(rows, cols, bits=8, signed=False, specs=("exact",), **kw):
    kv = {"rows": str(rows), "cols": str(cols), **{k: str(v) for k, v in kw.items()}}
    if len(specs) == 1:
        kv["multiplier"] = specs[0]
    else:
        kv["column_multipliers"] = ";".join(specs)
    return SystolicArray.from_strings(bits, bits, signed, kv)


def random_operands(arr, rng, m):
    X = draw(rng, (m, arr.rows), arr.bits_a, arr.signed, "extreme")
    W = draw(rng, (arr.rows, arr.cols), arr.bits_b, arr.signed, "extreme")
    return X, W


SPECS = ["exact", "exact:encoding=booth", "perforated:start=0,count=1",
         "perforated:start=1,count=1", "perforated:start=0,count=1,encoding=booth"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(1, 4), cols=st.integers(1, 4), bits=st.integers(3, 6),
       signed=st.booleans(), pipeline=st.integers(0, 1), backpressure=st.integers(0, 1),
       data=st.data(),
       p_stall=st.sampled_from([0.0, 0.3, 0.7]), p_bubble=st.sampled_from([0.0, 0.4]),
       seed=st.integers(0, 2**32 - 1))
def test_cycle_model_agrees_with_functional(rows, cols, bits, signed, pipeline, backpressure,
                                            data, p_stall, p_bubble, seed):
    specs = tuple(data.draw(st.sampled_from(SPECS)) for _ in range(cols))
    try:
        arr = make_array(rows, cols, bits, signed, specs, pipeline=pipeline,
                         backpressure=backpressure)
    except AxhwError:
        assume(False)
    rng = np.random.default_rng(seed)
    X, W = random_operands(arr, rng, int(rng.integers(1, 12)))
    model = CycleModel(arr)
    load_weights(model, W)
    got = stream(model, X, rng, p_stall, p_bubble)
    np.testing.assert_array_equal(got, functional(arr, X, W))


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("rows", [1, 3, 8])
def test_default_accumulator_never_overflows(rows, signed):
    arr = make_array(rows, 3, 8, signed)
    lo, hi = operand_range(8, signed)
    for a, w in [(hi, hi), (lo, lo), (lo, hi), (hi, lo)]:
        X = np.full((1, rows), a)
        W = np.full((rows, 3), w)
        np.testing.assert_array_equal(functional(arr, X, W), X @ W)
    # one bit less would overflow on the worst case
    worst = max(abs(lo * lo), hi * hi) * rows
    assert worst >= 1 << (arr.acc_width - 1 - (1 if signed else 0))


def test_default_acc_bits_values():
    assert make_array(4, 4, 8, False).acc_width == 18  # 4 * 255^2 = 260100 < 2^18
    assert make_array(4, 4, 8, True).acc_width == 18   # 4 * 128^2 = 65536 needs 17 + sign
    assert make_array(1, 1, 8, False).acc_width == 16


def test_narrow_accumulator_wraps():
    arr = make_array(4, 2, 8, True, acc_bits=10)
    rng = np.random.default_rng(3)
    X, W = random_operands(arr, rng, 20)
    exact = X @ W
    wrapped = ((exact + 512) % 1024) - 512
    np.testing.assert_array_equal(functional(arr, X, W), wrapped)
    assert arr.top.endswith("_acc10")


def test_heterogeneous_columns_use_their_own_tables():
    arr = make_array(3, 2, 6, False, ("exact", "perforated:start=0,count=2"))
    rng = np.random.default_rng(5)
    X, W = random_operands(arr, rng, 10)
    Y = functional(arr, X, W)
    np.testing.assert_array_equal(Y[:, 0], X @ W[:, 0])
    np.testing.assert_array_equal(Y[:, 1], X @ (W[:, 1] & ~0b11))  # rows 0,1 of b perforated


def test_fixed_width_multiplier_is_accumulated_at_product_scale():
    arr = make_array(2, 1, 8, False, ("truncated:mode=cct,out_bits=8",))
    m = arr.multipliers[0]
    assert m.out_shift == 8
    lut = arr.luts[0]
    assert not (lut % 256).any()  # the port holds bits 8 and up
    assert abs(int(lut[255, 255]) - 255 * 255) < 8 * 256  # close to the product, not to p


def test_reset_drops_vectors_in_flight():
    arr = make_array(3, 3, 4, True)
    model = CycleModel(arr)
    W = np.arange(9).reshape(3, 3) - 4
    load_weights(model, W)
    for x in ([1, 2, 3], [4, 5, 6]):
        model.step(in_valid=True, in_data=x)
    model.step(rst=True)
    assert not any(model.valid)
    np.testing.assert_array_equal(model.weight, W & 0xF)  # weights survive a reset
    X = np.array([[-8, 7, 1]])
    np.testing.assert_array_equal(stream(model, X), functional(arr, X, W))


def test_stall_holds_the_output_stable():
    arr = make_array(2, 2, 4, False)
    model = CycleModel(arr)
    load_weights(model, np.ones((2, 2), dtype=int))
    model.step(in_valid=True, in_data=[3, 4])
    for _ in range(arr.latency - 1):
        model.step(out_ready=True)
    first = model.step(out_ready=False)
    again = model.step(out_ready=False)
    assert first.out_valid and again == first and not first.in_ready
    assert model.outputs(True).in_ready  # ready combinationally follows out_ready


def test_multiplier_spec_parsing(tmp_path, cli):
    m = parse_multiplier("perforated:start=2, count=3 ,encoding=and", 8, 8, True)
    assert m.top == "mul8s_perf_j2_k3"
    path = cli("gen", "--type", "perforated", "--bits", "8", "--signed", "-p", "start=2",
               "-p", "count=3", "-o", tmp_path).stdout.strip().splitlines()[-1]
    assert parse_multiplier(path, 8, 8, True) == m
    with pytest.raises(AxhwError, match="the array needs 6x6"):
        make_array(2, 2, 6, True, (path,))


def test_gen_writes_array_json(tmp_path, cli):
    proc = cli("gen", "--type", "systolic", "--bits", "6", "-p", "rows=3", "-p", "cols=2",
               "-p", "column_multipliers=exact;perforated:start=1,count=2", "-p", "pipeline=1",
               "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.strip().splitlines()[-1]
    d = json.loads(open(path).read())
    for key in ("top", "verilog", "family", "params", "bits_a", "bits_b", "signed", "clock",
                "reset", "ports", "protocol", "multipliers"):
        assert key in d, key
    assert d["family"] == "systolic" and d["params"]["latency"] == 3 + 2 + 1
    assert [p["name"] for p in d["ports"]][:2] == ["clk", "rst"]
    assert {p["name"]: p["width"] for p in d["ports"]}["out_data"] == 2 * d["params"]["acc_bits"]
    for entry in d["multipliers"]:
        mul = load_design(tmp_path / entry["json"])
        assert mul.top == entry["design"]["top"] and mul.spec is not None
    design = load_design(path)
    assert design.family == "systolic" and design.verilog_path.is_file()
    arr = array_from_dict(d)
    assert arr.top == d["top"] and arr.pipeline == 1
    text = design.verilog_path.read_text()
    assert f"module {arr.top}(" in text and "module mul6u_perf_j1_k2(" in text


@pytest.mark.parametrize("params,message", [
    ([], "needs -p rows"),
    (["rows=0", "cols=2"], "rows=0 is out of range"),
    (["rows=2", "cols=x"], "expected an integer"),
    (["rows=2", "cols=2", "depth=3"], "unknown parameter 'depth'"),
    (["rows=2", "cols=3", "column_multipliers=exact;exact"], "needs one per column"),
    (["rows=2", "cols=2", "multiplier=nosuch"], "unknown type 'nosuch'"),
    (["rows=2", "cols=2", "multiplier=perforated:start=9"], "start=9 is out of range"),
    (["rows=2", "cols=2", "multiplier=exact", "column_multipliers=exact;exact"], "not both"),
    (["rows=2", "cols=2", "multiplier=perforated:count"], "expected KEY=VALUE"),
    (["rows=2", "cols=2", "multiplier=/no/such.json"], "design file not found"),
    (["rows=2", "cols=2", "pipeline=2"], "pipeline=2 is out of range"),
    (["rows=2", "cols=2", "acc_bits=1"], "acc_bits=1 is out of range"),
])
def test_bad_params_one_line_error(tmp_path, cli, params, message):
    args = [a for p in params for a in ("-p", p)]
    proc = cli("gen", "--type", "systolic", "--bits", "8", *args, "-o", tmp_path / "out")
    assert_one_line_error(proc)
    assert message in proc.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.json"))


def test_too_wide_operands_rejected(tmp_path, cli):
    proc = cli("gen", "--type", "systolic", "--bits", "12", "-p", "rows=2", "-p", "cols=2",
               "-o", tmp_path)
    assert_one_line_error(proc)
    assert "too wide" in proc.stderr


def test_lut_of_an_array_is_a_clear_error(tmp_path, cli):
    path = cli("gen", "--type", "systolic", "--bits", "4", "-p", "rows=2", "-p", "cols=2",
               "-o", tmp_path).stdout.strip().splitlines()[-1]
    proc = cli("lut", path, "-o", tmp_path / "x.npy")
    assert_one_line_error(proc)
    assert "systolic array, not a multiplier" in proc.stderr
    assert not (tmp_path / "x.npy").exists()


def test_help_params_lists_every_parameter():
    from axhw.systolic.array import PARAM_KEYS
    from axhw.systolic.gen import PARAMS_HELP

    listed = {line.split()[0] for line in PARAMS_HELP.splitlines()[1:] if line.startswith("  ")}
    assert set(PARAM_KEYS) <= listed, set(PARAM_KEYS) - listed
