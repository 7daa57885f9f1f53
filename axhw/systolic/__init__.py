"""Weight-stationary systolic MAC arrays built from any multiplier family (``axhw gen --type
systolic``): parameters (array), Verilog (rtl), Python models (model), design files (design),
cocotb verification (verify)."""

from .array import SystolicArray, parse_multiplier

__all__ = ["SystolicArray", "parse_multiplier"]
