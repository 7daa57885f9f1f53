"""click parameter types that validate numbers where they are parsed: NaN and infinities pass
click's own FloatRange (every comparison with NaN is false), and a negative seed reaches numpy as
an internal error."""

from __future__ import annotations

import math

import click

__all__ = ["FINITE", "FiniteFloat", "SEED"]

# Seeds go to numpy's generators, which take non-negative integers only.
SEED = click.IntRange(min=0)


class FiniteFloat(click.FloatRange):
    """A finite float (NaN and +-inf refused), optionally within [min, max]."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


FINITE = FiniteFloat()
