"""PyTorch integration: run a model's multiplications through approximate-multiplier LUTs.

``approximate(model, assign, calibration_data)`` swaps nn.Linear, nn.Conv2d and attention
matmuls for LUT-emulated layers (axhw.emu kernels, exact integer accumulation);
``finetune`` retrains with the straight-through or the LUT-difference (Meng et al. DATE'25)
gradient. See docs/torch.md.
"""

from .api import approx_layers, approximate, candidate_layers, finetune, set_gradient
from .gradients import lut_difference_gradients
from .multipliers import Lut, resolve
from .quant import QuantConfig

__all__ = ["Lut", "QuantConfig", "approx_layers", "approximate", "candidate_layers", "finetune",
           "lut_difference_gradients", "resolve", "set_gradient"]
