"""`axhw gen --type systolic`: parse the -p parameters, write the array, describe it."""

from __future__ import annotations

from pathlib import Path

from .array import SystolicArray
from .design import write_array

__all__ = ["PARAMS_HELP", "gen", "params_help", "summary"]

PARAMS_HELP = """systolic: weight-stationary R x C MAC array built from any multiplier family
  rows                N (1..64, required)   activation rows = length of the dot products
  cols                N (1..64, required)   columns = outputs per vector
  acc_bits            N (default: enough for rows products, never overflows)
  pipeline            0|1 (default 0)       1: product register in every PE (+1 cycle latency)
  backpressure        0|1 (default 1)       1: valid/ready handshake (in_ready, out_ready),
                                        the array stalls while a result waits; 0: valid only
  multiplier          SPEC (default exact)  one multiplier for every PE
  column_multipliers  SPEC;SPEC;...         one per column (heterogeneous array)
  SPEC = FAMILY[:KEY=VALUE,KEY=VALUE] (e.g. perforated:start=2,count=3) or a design JSON path
  (--bits: activation width, --bits-b: weight width, --signed; bits + bits-b <= 16)"""


def gen_array(bits_a: int, bits_b: int, signed: bool, kv: dict[str, str],
              outdir) -> tuple[SystolicArray, Path]:
    """Validate everything first, then write; return the array and its JSON path."""
    arr = SystolicArray.from_strings(bits_a, bits_b, signed, kv)
    return arr, write_array(arr, Path(outdir))


def gen(bits_a: int, bits_b: int, signed: bool, kv: dict[str, str], outdir) -> tuple[str, Path]:
    """The `gen` hook of the systolic kind: write the array; its one-line summary and JSON path."""
    arr, path = gen_array(bits_a, bits_b, signed, kv, outdir)
    return summary(arr), path


def params_help() -> str:
    return PARAMS_HELP


def summary(arr: SystolicArray) -> str:
    return (f"{arr.top}: {arr.rows}x{arr.cols} array, {arr.bits_a}x{arr.bits_b} "
            f"{'signed' if arr.signed else 'unsigned'}, acc_bits={arr.acc_width}, "
            f"latency={arr.latency}")
