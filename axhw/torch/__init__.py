"""PyTorch integration: run a model's multiplications through approximate-multiplier LUTs.

``approximate(model, assign, calibration_data)`` runs every multiplication site (Linear, Conv1d /
Conv2d / ConvTranspose2d, attention products, functional calls) through LUT-emulated layers
(axhw.emu kernels, exact integer accumulation); ``coverage`` lists the sites;
``finetune`` retrains with the straight-through or the LUT-difference (Meng et al. DATE'25)
gradient. See docs/torch.md.
"""

import os

import numba

# torch and numba each run an OpenMP pool; numba's workers spin after every emulator kernel and
# starve torch's next ops (a digits-CNN forward measured ~15x slower). numba's workqueue layer
# sleeps instead. Only when the user has not picked a layer (NUMBA_THREADING_LAYER).
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

from .api import (approx_layers, approximate, candidate_layers, coverage, finetune,  # noqa: E402
                  set_gradient)
from .gradients import lut_difference_gradients  # noqa: E402
from .multipliers import Lut, resolve  # noqa: E402
from .quant import QuantConfig  # noqa: E402

__all__ = ["Lut", "QuantConfig", "approx_layers", "approximate", "candidate_layers", "coverage",
           "finetune",
           "lut_difference_gradients", "resolve", "set_gradient"]
