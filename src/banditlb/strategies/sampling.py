"""Beta and Gamma draws from a seeded `random.Random`: the one place they are written.

Every Thompson-style strategy (thompson, variance_scaled_thompson, sliding_window_thompson,
discounted_thompson, masked_thompson through thompson) and the planner draw here. Exact, and
about twice as fast as `random.betavariate` (same distributions, a different stream):

- Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b); one Box–Muller pair gives both
  gammas their first standard normal;
- Gamma(shape >= 1) by Marsaglia & Tsang (2000), "A simple method for generating gamma
  variables", ACM TOMS 26(3): a rejection sampler whose squeeze accepts ~98% of first tries;
  the loop lives in `beta_argmax` only (once per gamma of a Beta pair), which draws one gamma
  or two, for one arm or the best of several;
- a shape below 1 is boosted: Gamma(s) = Gamma(s + 1)·U^(1/s); a Beta shape of exactly 1 (an
  arm with no successes, or no failures) is drawn by inversion.

The order of the uniform draws is part of the contract: a fixed seed gives the same choices
run after run, and `tests/strategies/test_beta_sampler.py` pins the stream.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from math import cos, log, sin, sqrt

TWO_PI = 2.0 * math.pi
"""The angle range of a Box–Muller pair."""
_ONE = (0,)
_NONE = (0.0,)


def gamma_constants(shape: float) -> tuple[float, float]:
    """Marsaglia & Tsang's (d, c) for a Gamma(shape) draw with shape >= 1: d = shape - 1/3."""
    d = shape - 1.0 / 3.0
    return d, 1.0 / math.sqrt(9.0 * d)


def normal(random_: Callable[[], float]) -> float:
    """One standard normal from two uniforms (Box–Muller; the pair's other half is dropped)."""
    return math.sqrt(-2.0 * math.log(1.0 - random_())) * math.cos(TWO_PI * random_())


def beta_argmax(  # noqa: PLR0917 (the hot loop: positional on purpose)
    random_: Callable[[], float],
    arms: Sequence[int],
    d_alpha: Sequence[float],
    c_alpha: Sequence[float],
    d_beta: Sequence[float],
    c_beta: Sequence[float],
    given: tuple[float, float] | None = None,
) -> tuple[int, float]:
    """The arm of `arms` with the largest Beta(a, b) draw, and that draw (the first, on a tie).

    Arm k's shapes are given by their Marsaglia–Tsang constants: (d_alpha[k], c_alpha[k]) for
    a and (d_beta[k], c_beta[k]) for b (`gamma_constants`, shapes >= 1); d_beta[k] = 0 draws
    Gamma(a) alone instead. Each arm takes a fresh Box–Muller pair (radius, angle) for its two
    first normals, radius·cos(angle) and radius·sin(angle), unless `given` is that pair (one
    arm only; (x, 0.0) gives the first normal x exactly). G1 ~ Gamma(a) is accepted before G2's loop
    starts; a rejected try draws a fresh normal. The draw is G1 / (G1 + G2).
    """
    log, sqrt, cos, sin = math.log, math.sqrt, math.cos, math.sin
    best_arm, best = arms[0], -1.0
    for arm in arms:
        if given is None:
            radius = sqrt(-2.0 * log(1.0 - random_()))
            angle = TWO_PI * random_()
        else:
            radius, angle = given
        # G1 ~ Gamma(a). The loop is spelled out again for G2 below, not shared through a
        # call or a flag: this runs for every arm of every choice, where either costs ~10%.
        x, d, c = radius * cos(angle), d_alpha[arm], c_alpha[arm]
        while True:
            v = 1.0 + c * x
            if v > 0.0:
                v = v * v * v
                u = 1.0 - random_()  # in (0, 1]: log(u) is finite
                xx = x * x
                if u < 1.0 - 0.0331 * xx * xx or log(u) < 0.5 * xx + d * (1.0 - v + log(v)):
                    break
            x = normal(random_)
        value = d * v
        d = d_beta[arm]
        if d > 0.0:  # G2 ~ Gamma(b), the same loop; the draw is G1 / (G1 + G2)
            x, c = radius * sin(angle), c_beta[arm]
            while True:
                v = 1.0 + c * x
                if v > 0.0:
                    v = v * v * v
                    u = 1.0 - random_()
                    xx = x * x
                    if u < 1.0 - 0.0331 * xx * xx or log(u) < 0.5 * xx + d * (1.0 - v + log(v)):
                        break
                x = normal(random_)
            value = value / (value + d * v)
        if value > best:
            best_arm, best = arm, value
    return best_arm, best


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
        d, c = gamma_constants(shape + 1.0 if shape < 1.0 else shape)
        value = beta_argmax(random_, _ONE, (d,), (c,), _NONE, _NONE, (x, 0.0))[1]  # cos 0 = 1
        return value * math.pow(1.0 - random_(), 1.0 / shape) if shape < 1.0 else value

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
        return beta_argmax(random_, _ONE, (d,), (c,), (e,), (f,), (radius, angle))[1]
