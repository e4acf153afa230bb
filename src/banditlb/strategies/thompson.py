"""Thompson sampling with Beta–Bernoulli posteriors (the blog's V4).

Thompson (1933); Agrawal & Goyal, "Analysis of Thompson Sampling" (2012).

Each arm's success probability has a Beta(alpha, beta) posterior; choose draws one sample per
candidate and takes the largest. By default a 429 counts as a failed attempt, as in the blog's V4:
the attempt was spent and nothing was accepted. `masked_thompson` (V6) treats 429s differently.

`choose` is the simulator's hottest strategy code: each Beta draw is `sampling.gamma_ratio`
(exact, Marsaglia & Tsang) with the arm's gamma constants cached and refreshed when `observe`
changes its posterior.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import cos, log, sin, sqrt
from types import MappingProxyType
from typing import ClassVar

from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.strategies.base import ArmCounts, ArmSnapshot, Range, check_positive, check_ranges
from banditlb.strategies.sampling import TWO_PI, BetaSampler, gamma_constants, gamma_ratio


@dataclass(frozen=True, slots=True)
class ThompsonConfig:
    name: ClassVar[str] = "thompson"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {"prior_alpha": Range(0.001, 1e6), "prior_beta": Range(0.001, 1e6)}
    )
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    rate_limit_is_failure: bool = True

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        check_positive("prior_alpha", self.prior_alpha)
        check_positive("prior_beta", self.prior_beta)

    def build(self, n_arms: int, rng: random.Random) -> Thompson:
        return Thompson(n_arms, rng, self)


class Thompson:
    """Beta–Bernoulli Thompson sampling.

    `alpha` and `beta` are the posteriors; change them only through `observe`, which keeps
    the cached gamma constants in step.
    """

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, config: ThompsonConfig) -> None:
        self._rng = rng
        self._random = rng.random
        self._sampler = BetaSampler(rng)
        self._config = config
        self.alpha = [config.prior_alpha] * n_arms
        self.beta = [config.prior_beta] * n_arms
        self._counts = ArmCounts(n_arms)
        # Marsaglia–Tsang (d, c) per arm and shape; d < 0 marks a shape below 1 (slow path).
        self._d_alpha, self._c_alpha = self._constants(config.prior_alpha, n_arms)
        self._d_beta, self._c_beta = self._constants(config.prior_beta, n_arms)

    @staticmethod
    def _constants(shape: float, n_arms: int) -> tuple[list[float], list[float]]:
        d, c = gamma_constants(shape) if shape >= 1.0 else (-1.0, 0.0)
        return [d] * n_arms, [c] * n_arms

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        """The candidate with the largest Beta(alpha, beta) draw (the first, on a tie)."""
        random_, draw = self._random, self._sampler.draw
        d_alpha, c_alpha = self._d_alpha, self._c_alpha
        d_beta, c_beta = self._d_beta, self._c_beta
        best_arm, best = candidates[0], -1.0
        for arm in candidates:
            d, e = d_alpha[arm], d_beta[arm]
            if d < 0.0 or e < 0.0:  # a shape below 1: the general sampler
                value = draw(self.alpha[arm], self.beta[arm])
            else:  # BetaSampler.draw with this arm's cached constants
                radius = sqrt(-2.0 * log(1.0 - random_()))
                angle = TWO_PI * random_()
                x, y = radius * cos(angle), radius * sin(angle)
                value = gamma_ratio(random_, d, c_alpha[arm], x, e, c_beta[arm], y)
            if value > best:
                best_arm, best = arm, value
        return best_arm

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        if outcome.kind is OutcomeKind.ACCEPTED:
            shape = self.alpha[arm] = self.alpha[arm] + 1.0
            if shape >= 1.0:
                self._d_alpha[arm], self._c_alpha[arm] = gamma_constants(shape)
        elif outcome.kind is not OutcomeKind.RATE_LIMITED or self._config.rate_limit_is_failure:
            shape = self.beta[arm] = self.beta[arm] + 1.0
            if shape >= 1.0:
                self._d_beta[arm], self._c_beta[arm] = gamma_constants(shape)

    def estimate(self, arm: int, now: float) -> float:
        return self.alpha[arm] / (self.alpha[arm] + self.beta[arm])

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [
            self._counts.snapshot(a, self.estimate(a, now), alpha=self.alpha[a], beta=self.beta[a])
            for a in range(len(self.alpha))
        ]
