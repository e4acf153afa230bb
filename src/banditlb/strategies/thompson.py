"""Thompson sampling with Beta–Bernoulli posteriors (the blog's V4).

Thompson (1933); Agrawal & Goyal, "Analysis of Thompson Sampling" (2012).

Each arm's success probability has a Beta(alpha, beta) posterior; choose draws one sample per
candidate and takes the largest. By default a 429 counts as a failed attempt, as in the blog's V4:
the attempt was spent and nothing was accepted. `masked_thompson` (V6) treats 429s differently.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from banditlb.outcome import Outcome, OutcomeKind
from banditlb.strategies.base import ArmCounts, ArmSnapshot, check_positive


@dataclass(frozen=True, slots=True)
class ThompsonConfig:
    name: ClassVar[str] = "thompson"
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    rate_limit_is_failure: bool = True

    def __post_init__(self) -> None:
        check_positive("prior_alpha", self.prior_alpha)
        check_positive("prior_beta", self.prior_beta)

    def build(self, n_arms: int, rng: random.Random) -> Thompson:
        return Thompson(n_arms, rng, self)


class Thompson:
    """Beta–Bernoulli Thompson sampling."""

    def __init__(self, n_arms: int, rng: random.Random, config: ThompsonConfig) -> None:
        self._rng = rng
        self._config = config
        self.alpha = [config.prior_alpha] * n_arms
        self.beta = [config.prior_beta] * n_arms
        self._counts = ArmCounts(n_arms)

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        draw = self._rng.betavariate
        return max(candidates, key=lambda arm: draw(self.alpha[arm], self.beta[arm]))

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        if outcome.kind is OutcomeKind.ACCEPTED:
            self.alpha[arm] += 1.0
        elif outcome.kind is not OutcomeKind.RATE_LIMITED or self._config.rate_limit_is_failure:
            self.beta[arm] += 1.0

    def estimate(self, arm: int, now: float) -> float:
        return self.alpha[arm] / (self.alpha[arm] + self.beta[arm])

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [
            self._counts.snapshot(a, self.estimate(a, now), alpha=self.alpha[a], beta=self.beta[a])
            for a in range(len(self.alpha))
        ]
