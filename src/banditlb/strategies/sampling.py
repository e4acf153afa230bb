"""Beta and Gamma draws from a seeded `random.Random`: the one place they are written.

Every Thompson-style strategy (thompson, variance_scaled_thompson, sliding_window_thompson,
discounted_thompson, masked_thompson through thompson) and the planner draw here. Exact, and
about twice as fast as `random.betavariate` (same distributions, a different stream):

- Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b); one Box–Muller pair gives both
  gammas their first standard normal;
- Gamma(shape >= 1) by Marsaglia & Tsang (2000), "A simple method for generating gamma
  variables", ACM TOMS 26(3): a rejection sampler whose squeeze accepts ~98% of first tries;
  the loop is written once, in `gamma_ratio`, which draws one gamma or two (for a Beta);
- a shape below 1 is boosted: Gamma(s) = Gamma(s + 1)·U^(1/s); a Beta shape of exactly 1 (an
  arm with no successes, or no failures) is drawn by inversion.

The order of the uniform draws is part of the contract: a fixed seed gives the same choices
run after run, and `tests/strategies/test_beta_sampler.py` pins the stream.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from math import cos, log, sin, sqrt

TWO_PI = 2.0 * math.pi
"""The angle range of a Box–Muller pair."""


def gamma_constants(shape: float) -> tuple[float, float]:
    """Marsaglia & Tsang's (d, c) for a Gamma(shape) draw with shape >= 1: d = shape - 1/3."""
    d = shape - 1.0 / 3.0
    return d, 1.0 / math.sqrt(9.0 * d)


def normal(random_: Callable[[], float]) -> float:
    """One standard normal from two uniforms (Box–Muller; the pair's other half is dropped)."""
    return math.sqrt(-2.0 * math.log(1.0 - random_())) * math.cos(TWO_PI * random_())


def gamma_ratio(  # noqa: PLR0917 (the hot loop: positional on purpose)
    random_: Callable[[], float],
    d: float,
    c: float,
    x: float,
    e: float = 0.0,
    f: float = 0.0,
    y: float = 0.0,
) -> float:
    """Marsaglia–Tsang: G1 ~ Gamma(d + 1/3) from constants (d, c) and a first normal `x`;
    with a second shape's constants (e, f) and first normal `y`, also G2 ~ Gamma(e + 1/3),
    and the result is G1 / (G1 + G2), a Beta draw. With e = 0 (the default), G1 alone.

    A rejected try draws a fresh normal; G2's loop starts once G1 is accepted.
    """
    first = -1.0
    while True:
        v = 1.0 + c * x
        if v > 0.0:
            v = v * v * v
            u = 1.0 - random_()  # in (0, 1]: log(u) is finite
            xx = x * x
            if u < 1.0 - 0.0331 * xx * xx or log(u) < 0.5 * xx + d * (1.0 - v + log(v)):
                if first >= 0.0:
                    return first / (first + d * v)
                if e <= 0.0:
                    return d * v
                first, x, d, c = d * v, y, e, f
                continue
        x = normal(random_)


class BetaSampler:
    """Exact Beta(a, b) and Gamma(shape) draws from a seeded `random.Random`."""

    __slots__ = ("_random",)

    def __init__(self, rng: random.Random) -> None:
        self._random = rng.random

    def gamma(self, shape: float, x: float | None = None) -> float:
        """A Gamma(shape, 1) draw (shape > 0); `x` is an optional first standard normal."""
        random_ = self._random
        if x is None:
            x = normal(random_)
        if shape < 1.0:
            d, c = gamma_constants(shape + 1.0)
            return gamma_ratio(random_, d, c, x) * math.pow(1.0 - random_(), 1.0 / shape)
        d, c = gamma_constants(shape)
        return gamma_ratio(random_, d, c, x)

    def draw(self, a: float, b: float) -> float:
        """One Beta(a, b) draw (a, b > 0); 0.0 when the first gamma underflows, as Python's."""
        random_ = self._random
        if a == 1.0:  # Beta(1, b) by inversion: 1 - U^(1/b), U in (0, 1]
            return 1.0 - math.pow(1.0 - random_(), 1.0 / b)
        if b == 1.0:  # Beta(a, 1) by inversion: U^(1/a)
            return math.pow(random_(), 1.0 / a)
        radius = sqrt(-2.0 * log(1.0 - random_()))  # one Box–Muller pair for both gammas
        angle = TWO_PI * random_()
        if a < 1.0 or b < 1.0:
            x = self.gamma(a, radius * cos(angle))
            y = self.gamma(b, radius * sin(angle))
            return x / (x + y) if x > 0.0 else 0.0
        d, e = a - 1.0 / 3.0, b - 1.0 / 3.0  # gamma_constants(a), (b), inline: a hot path
        c, f = 1.0 / sqrt(9.0 * d), 1.0 / sqrt(9.0 * e)
        return gamma_ratio(random_, d, c, radius * cos(angle), e, f, radius * sin(angle))
