"""Statistics of accuracies measured on a finite test set (docs/dse.md, "Statistics").

An accuracy is k correct images out of n: its 95 % interval is Wilson's score interval. Two models
scored on the same images are compared with the exact McNemar test: only the discordant images
count (b: A right and B wrong, c: A wrong and B right), and under "no difference" b ~ Binomial(b + c,
1/2), so p is that two-sided binomial test. p >= 0.05 is reported as "not significant".

Per-image outcomes travel as :func:`pack`-ed hex strings (one bit per image), so they fit the
JSON evaluation cache and the Pareto table.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest

__all__ = ["CONFIDENCE", "ALPHA", "wilson_interval", "accuracy_interval", "mcnemar_p", "verdict",
           "pack", "unpack"]

CONFIDENCE = 0.95
ALPHA = 0.05


def wilson_interval(correct: int, n: int, confidence: float = CONFIDENCE) -> list[float]:
    """[low, high] of the Wilson score interval of correct/n, in percent (like the accuracies)."""
    ci = binomtest(int(correct), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return [100.0 * float(ci.low), 100.0 * float(ci.high)]


def accuracy_interval(correct: np.ndarray) -> list[float]:
    """Wilson interval of a per-image correctness vector."""
    return wilson_interval(int(np.count_nonzero(correct)), len(correct))


def mcnemar_p(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """Exact (binomial) McNemar p-value of two correctness vectors over the same images."""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if a.shape != b.shape:
        raise ValueError(f"paired outcomes differ in length ({a.shape} vs {b.shape})")
    only_a, only_b = int(np.count_nonzero(a & ~b)), int(np.count_nonzero(~a & b))
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def verdict(p: float | None) -> str:
    """How a comparison reads: "significant" (p < 0.05), "not significant", or "no paired test"."""
    if p is None:
        return "no paired test"
    return "significant" if p < ALPHA else "not significant"


def pack(correct: np.ndarray) -> str:
    """Per-image correctness -> hex string (8 images a byte)."""
    return np.packbits(np.asarray(correct, bool)).tobytes().hex()


def unpack(packed: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(packed), np.uint8), count=n).astype(bool)
