"""Discounted Thompson sampling.

Raj & Kalyani, "Taming Non-stationary Bandits: A Bayesian Approach" (2017). After every
observation all arms' success and failure counts are multiplied by the discount γ and the played
arm adds its result, so old evidence fades geometrically and the posterior
Beta(prior_alpha + S_i, prior_beta + F_i) widens again for arms not played lately. A 429 counts as
a failure, so an arm that starts rate limiting loses its share quickly. Draws come from
`BetaSampler` (exact Marsaglia–Tsang gamma ratio).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.strategies.base import (
    ArmCounts,
    ArmSnapshot,
    Range,
    check_positive,
    check_ranges,
    unit,
)
from banditlb.strategies.sampling import BetaSampler


@dataclass(frozen=True, slots=True)
class DiscountedThompsonConfig:
    name: ClassVar[str] = "discounted_thompson"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {"discount": unit(), "prior_alpha": Range(0.001, 1e6), "prior_beta": Range(0.001, 1e6)}
    )
    discount: float = 0.99
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    rate_limit_is_failure: bool = True

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        if not 0 < self.discount <= 1:
            raise ConfigError(f"parameter discount must be in (0, 1], got {self.discount!r}")
        check_positive("prior_alpha", self.prior_alpha)
        check_positive("prior_beta", self.prior_beta)

    def build(self, n_arms: int, rng: random.Random) -> DiscountedThompson:
        return DiscountedThompson(n_arms, rng, self)


class DiscountedThompson:
    """Thompson sampling on geometrically discounted success and failure counts."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, config: DiscountedThompsonConfig) -> None:
        self._rng = rng
        self._draw = BetaSampler(rng).draw
        self._config = config
        self.successes = [0.0] * n_arms
        self.failures = [0.0] * n_arms
        self._counts = ArmCounts(n_arms)

    def _alpha(self, arm: int) -> float:
        return self._config.prior_alpha + self.successes[arm]

    def _beta(self, arm: int) -> float:
        return self._config.prior_beta + self.failures[arm]

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        """The candidate with the largest posterior draw (the first, on a tie)."""
        draw, successes, failures = self._draw, self.successes, self.failures
        prior_alpha, prior_beta = self._config.prior_alpha, self._config.prior_beta
        best_arm, best = candidates[0], -1.0
        for arm in candidates:
            value = draw(prior_alpha + successes[arm], prior_beta + failures[arm])
            if value > best:
                best_arm, best = arm, value
        return best_arm

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        if outcome.kind is OutcomeKind.RATE_LIMITED and not self._config.rate_limit_is_failure:
            return
        g = self._config.discount
        self.successes = [g * s for s in self.successes]
        self.failures = [g * f for f in self.failures]
        if outcome.accepted:
            self.successes[arm] += 1.0
        else:
            self.failures[arm] += 1.0

    def estimate(self, arm: int, now: float) -> float:
        return self._alpha(arm) / (self._alpha(arm) + self._beta(arm))

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [
            self._counts.snapshot(
                a, self.estimate(a, now), alpha=self._alpha(a), beta=self._beta(a)
            )
            for a in range(len(self.successes))
        ]
