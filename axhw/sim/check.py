"""Comparing simulator outputs with the golden model (used inside the cocotb test and outside)."""

from __future__ import annotations

import numpy as np

from ..design.record import load_design
from ..design.golden import pair_values, port_value, to_raw

__all__ = ["MAX_REPORTED", "read_hex_outputs", "check_outputs", "compare_values"]

MAX_REPORTED = 10


def read_hex_outputs(path: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse one hex word per line; X/Z digits are flagged (value set to 0)."""
    with open(path) as fh:
        lines = fh.read().split()
    if len(lines) != count:
        raise RuntimeError(f"simulator wrote {len(lines)} outputs, expected {count}")
    vals = np.zeros(count, dtype=np.uint64)  # 64-bit output words need all 64 bits
    bad = np.zeros(count, dtype=bool)
    for k, s in enumerate(lines):
        try:
            vals[k] = int(s, 16)
        except ValueError:
            bad[k] = True
    return vals, bad


def check_outputs(design_json: str, index: np.ndarray, p_raw: np.ndarray,
                  bad: np.ndarray | None = None) -> dict:
    """Compare raw output words for pair indices with golden(A, B) mod 2^out_bits."""
    d = load_design(design_json, allow_edited=True)  # the caller checked it
    A, B = pair_values(index, d.bits_a, d.bits_b, d.signed)
    return compare_values(d, A, B, p_raw, bad)


def compare_values(d, A: np.ndarray, B: np.ndarray, p_raw: np.ndarray,
                   bad: np.ndarray | None = None) -> dict:
    """Compare raw output words for operand values A, B with golden(A, B) mod 2^out_bits."""
    expected = to_raw(d.golden(A, B), d.out_bits)
    wrong = (p_raw != expected)
    if bad is not None:
        wrong |= bad
    idx = np.flatnonzero(wrong)
    first = []
    for k in idx[:MAX_REPORTED]:
        first.append({
            "a": int(A[k]), "b": int(B[k]),
            "expected": int(port_value(expected[k], d.out_bits, d.out_signed)),
            "got": None if (bad is not None and bad[k]) else
            int(port_value(p_raw[k], d.out_bits, d.out_signed)),
        })
    return {"checked": int(len(A)), "mismatches": int(len(idx)), "first_mismatches": first}
