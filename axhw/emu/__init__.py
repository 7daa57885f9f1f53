"""DNN emulation with approximate multipliers: exact integer GEMM/conv over product LUTs.

Public API (all results exact integers, bit-for-bit identical across backends and paths):

* ``lut_matmul(a, b, lut, lut_index=None, *, backend=None)``:
  ``C[m, n] = Σ_k lut[a[m, k], b[k, n]]``
  with per-output-column (filter-level) or per-element (kernel-level) LUT selection from a stack.
* ``lut_conv2d(x, w, lut, stride, padding, dilation, groups, *, lut_index=None, pad_code=0,
  backend=None)``: implicit-GEMM convolution over raw codes.
* ``prepare_luts(lut, fast_path=False) -> LutStack``: validate/flatten once, reuse across calls
  (caches the GPU copy); fast_path=True routes bit-linear stacks to the dense-GEMM path.
* ``fit_bit_linear(lut) -> BitLinearForm``, ``bitlinear_matmul``, ``bitlinear_conv2d``: the dense
  GEMM (tensor-core) path for bit-linear designs, verified against the whole LUT.
* ``emulator_for(design) -> Emulator``: picks the path from the design JSON's ``bit_linear`` key.

Backends: "cpu" (numba, parallel) and "cuda" (numba-cuda, optional: ``pip install 'axhw[cuda]'``).
See docs/emulator.md.
"""

from .bitlinear import BitLinearForm, bitlinear_conv2d, bitlinear_matmul, fit_bit_linear
from .conv import lut_conv2d
from .emulator import Emulator, emulator_for
from .backends import BACKENDS
from .gemm import lut_matmul
from .luts import LutStack, prepare_luts

__all__ = [
    "BACKENDS", "BitLinearForm", "Emulator", "LutStack", "bitlinear_conv2d", "bitlinear_matmul",
    "emulator_for", "fit_bit_linear", "lut_conv2d", "lut_matmul", "prepare_luts",
]
