"""Design-space sweeps: grids of designs × PDKs → one table for DSE tools (issue 6)."""

from .run import run_sweep
from .spec import SweepSpec, load_spec, spec_from_cli

__all__ = ["SweepSpec", "load_spec", "run_sweep", "spec_from_cli"]
