"""Variance-scaled Thompson sampling (the blog's V5).

Thompson sampling (Thompson 1933; Agrawal & Goyal, "Analysis of Thompson Sampling for the
Multi-armed Bandit Problem", 2012) with the pseudo-counts shrunk by a factor that depends on the
attempt number, as in the tempered / "optimistic" posteriors of Chapelle & Li, "An Empirical
Evaluation of Thompson Sampling" (2011). For attempt j the draw is
Beta(1 + s·f_j, 1 + f·f_j) with s, f the arm's accepted and failed counts and f_j the scale for
attempt j (default 0.5, 0.75, 1.0; attempts beyond the third use the third). A smaller scale widens
the posterior, so first attempts, which have retries behind them, explore more and the last
free attempt exploits. A 429 counts as a failed attempt, as in the blog. Draws come from
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
from banditlb.strategies.base import ArmCounts, ArmSnapshot, Range, check_ranges, unit
from banditlb.strategies.sampling import BetaSampler


@dataclass(frozen=True, slots=True)
class VarianceScaledThompsonConfig:
    name: ClassVar[str] = "variance_scaled_thompson"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {"first_scale": unit(), "second_scale": unit(), "third_scale": unit()}
    )
    first_scale: float = 0.5
    second_scale: float = 0.75
    third_scale: float = 1.0
    rate_limit_is_failure: bool = True

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        for field in ("first_scale", "second_scale", "third_scale"):
            value = getattr(self, field)
            if not 0 < value <= 1:
                raise ConfigError(f"parameter {field} must be in (0, 1], got {value!r}")

    def build(self, n_arms: int, rng: random.Random) -> VarianceScaledThompson:
        return VarianceScaledThompson(n_arms, rng, self)


class VarianceScaledThompson:
    """Thompson sampling whose posterior is wider on earlier attempts."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(
        self, n_arms: int, rng: random.Random, config: VarianceScaledThompsonConfig
    ) -> None:
        self._rng = rng
        self._draw = BetaSampler(rng).draw
        self._config = config
        self._scales = (config.first_scale, config.second_scale, config.third_scale)
        self.wins = [0] * n_arms
        self.losses = [0] * n_arms
        self._counts = ArmCounts(n_arms)

    def scale(self, attempt: int) -> float:
        """The pseudo-count scale for attempt number `attempt` (1-based)."""
        return self._scales[min(max(attempt, 1), len(self._scales)) - 1]

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        """The candidate with the largest scaled Beta draw (the first, on a tie)."""
        f = self.scale(attempt)
        draw, wins, losses = self._draw, self.wins, self.losses
        best_arm, best = candidates[0], -1.0
        for arm in candidates:
            value = draw(1.0 + wins[arm] * f, 1.0 + losses[arm] * f)
            if value > best:
                best_arm, best = arm, value
        return best_arm

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        if outcome.kind is OutcomeKind.ACCEPTED:
            self.wins[arm] += 1
        elif outcome.kind is not OutcomeKind.RATE_LIMITED or self._config.rate_limit_is_failure:
            self.losses[arm] += 1

    def estimate(self, arm: int, now: float) -> float:
        return (1.0 + self.wins[arm]) / (2.0 + self.wins[arm] + self.losses[arm])

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [
            self._counts.snapshot(
                a, self.estimate(a, now), alpha=1.0 + self.wins[a], beta=1.0 + self.losses[a]
            )
            for a in range(len(self.wins))
        ]
