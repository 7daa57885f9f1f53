"""Per-shape choice among exact implementations by measured time.

Every candidate computes the same integers (each is exact for the operands it is offered), so
the choice changes speed only. The first call with a new key times every candidate twice (the
first run warms caches and compiles) and keeps the one with the least process CPU time for that
key (CPU time, not wall time: on a loaded machine wall times swing by 5x between runs, CPU time
hardly; threads add their CPU time, so a candidate that parallelizes is not favoured); later
calls run it directly. Shapes under ``MEASURE_MIN_MACS`` are not worth timing: the first candidate runs.
Why measure: the fastest exact engine depends on the CPU (int8 ``torch._int_mm`` is 20x faster
than fp32 with VNNI/AMX and 15x slower without) and on the shape (depthwise convolutions, tiny
GEMMs), which no fixed order gets right.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

__all__ = ["MEASURE_MIN_MACS", "choices", "fastest"]

MEASURE_MIN_MACS = 1 << 22
_CHOSEN: dict[Hashable, str] = {}


def fastest(key: Hashable, candidates: dict[str, Callable[[], object]], macs: int):
    """The result of the candidate measured fastest for `key` (dict order = preference order)."""
    names = list(candidates)
    if len(names) == 1 or macs < MEASURE_MIN_MACS:
        return candidates[names[0]]()
    name = _CHOSEN.get(key)
    if name in candidates:
        return candidates[name]()
    best, result = None, None
    for name in names:
        for _ in range(2):
            t = time.process_time()
            result_n = candidates[name]()
            t = time.process_time() - t
            if best is None or t < best[0]:
                best, result = (t, name), result_n
    _CHOSEN[key] = best[1]
    return result


def choices() -> dict[Hashable, str]:
    """What was chosen so far, per key (benchmarks report it)."""
    return dict(_CHOSEN)
