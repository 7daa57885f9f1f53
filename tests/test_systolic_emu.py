"""Issue 7 × issue 8: the emulator's LUT GEMM with the array's per-column LUTs gives the array's
outputs bit for bit. The RTL is checked cycle by cycle against the same functional model by the
cocotb array test; here both are run on one heterogeneous array to close the chain."""

import numpy as np
import pytest

from axhw.emu import lut_matmul, prepare_luts
from axhw.design.golden import port_value, to_raw
from axhw.systolic.array import SystolicArray
from axhw.systolic.cocotb_array import draw
from axhw.systolic.model import functional

COLUMNS = ("exact", "perforated:start=2,count=3", "truncated:cut=6",
           "perforated:start=0,count=1,encoding=booth")


def heterogeneous(signed: bool) -> SystolicArray:
    return SystolicArray.from_strings(8, 8, signed, {"rows": "4", "cols": "4",
                                                     "column_multipliers": ";".join(COLUMNS)})


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("fast_path", [False, True])
def test_emulator_equals_array_functional_model(signed, fast_path):
    arr = heterogeneous(signed)
    rng = np.random.default_rng(5)
    X = draw(rng, (256, arr.rows), arr.bits_a, arr.signed, "extreme")
    W = draw(rng, (arr.rows, arr.cols), arr.bits_b, arr.signed, "extreme")
    want = functional(arr, X, W)
    stack = prepare_luts(np.stack(arr.luts), fast_path=fast_path)
    got = lut_matmul(to_raw(X, arr.bits_a), to_raw(W, arr.bits_b), stack,
                     lut_index=np.arange(arr.cols))
    got = port_value(to_raw(np.asarray(got, dtype=np.int64), arr.acc_width), arr.acc_width,
                     arr.acc_signed)
    np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_same_array_rtl_passes_against_functional_model(tmp_path):
    from axhw.design.record import load_design
    from axhw.systolic.design import write_array
    from axhw.verify.dispatch import verify_design

    design = load_design(write_array(heterogeneous(True), tmp_path))
    (result,) = verify_design(design, sim="icarus")
    assert result.ok and result.checked > 0
