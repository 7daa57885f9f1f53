"""numba-cuda kernels under the CUDA simulator (tiny shapes), bit-for-bit against the CPU backend.

The simulator must be chosen before numba.cuda is imported, so the checks run in a subprocess.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

from axhw.infra.errors import AxhwError

needs_numba_cuda = pytest.mark.skipif(importlib.util.find_spec("numba_cuda") is None,
                                      reason="numba-cuda not installed")

SIM_CHECK = textwrap.dedent("""
    import numpy as np, torch
    from axhw.emu import lut_conv2d, lut_matmul, prepare_luts
    from axhw.infra.errors import AxhwError
    rng = np.random.default_rng(0)
    luts = rng.integers(-1000, 1000, (3, 16, 8))
    a, b = rng.integers(0, 16, (2, 9, 21)), rng.integers(0, 8, (21, 40))  # one 128x64 tile
    def same(f, *args, **kw):
        got, want = f(*args, backend="cuda", **kw), f(*args, backend="cpu", **kw)
        assert type(got) is type(want) and got.dtype == want.dtype, (got, want)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    same(lut_matmul, a, b, luts[0])                                   # shared-memory int16 table
    same(lut_matmul, a, b, luts[0] * 2**21)                            # int64 table: global memory
    ta, tb = torch.from_numpy(a).to(torch.uint8), torch.from_numpy(b)  # torch in, torch out
    same(lut_matmul, ta, tb, luts, torch.from_numpy(rng.integers(0, 3, (21, 40))))  # per element
    x, w = rng.integers(0, 16, (2, 4, 6, 5)), rng.integers(0, 8, (6, 2, 3, 2))
    same(lut_conv2d, x, w, luts, 2, (1, 2), (1, 2), 2, lut_index=rng.integers(0, 3, (6, 2)),
         pad_code=3)                                                   # per kernel, groups=2
    big = prepare_luts(rng.integers(-30000, 30000, (3, 256, 256)))  # too big for shared memory:
    a8, b8 = rng.integers(0, 256, (9, 20)), rng.integers(0, 256, (20, 40))  # one launch per LUT
    same(lut_matmul, a8, b8, big, rng.integers(0, 3, 40))
    try:
        lut_matmul(a - 17, b, luts[0], backend="cuda")
        raise SystemExit("out-of-range codes were not reported")
    except AxhwError as exc:
        assert "outside" in str(exc)
    print("SIM OK")
""")


@needs_numba_cuda
def test_cuda_kernels_match_cpu_under_simulator():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    proc = subprocess.run([sys.executable, "-c", SIM_CHECK], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0 and "SIM OK" in proc.stdout, proc.stdout + proc.stderr[-3000:]


def test_cuda_backend_without_gpu_is_a_clear_error():
    import numpy as np

    from axhw.emu import backends, lut_matmul

    if backends.gpu_present() or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("a GPU (or the simulator) is present")
    with pytest.raises(AxhwError, match="backend 'cuda'"):
        lut_matmul(np.zeros((2, 2), int), np.zeros((2, 2), int), np.zeros((4, 4), int),
                   backend="cuda")
