"""Attempt-aware UCB (the blog's V3): UCB1 whose exploration depends on the attempt number.

Auer, Cesa-Bianchi & Fischer, "Finite-time Analysis of the Multiarmed Bandit Problem" (2002),
with the exploration constant chosen per attempt: `early_exploration` (3) on attempts
1..`early_attempts` (the free attempts, where a miss costs nothing but the attempt) and
`late_exploration` (1) after them, where a miss costs the penalty. Under the default rules
(penalty 1) the router never makes a fourth attempt, so only the early constant is ever used.
The counting and the index are UCB1's own, reused by composition through `UCB1.choose_with`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome
from banditlb.strategies.base import ArmSnapshot, Range, check_positive, check_ranges, count
from banditlb.strategies.ucb1 import UCB1


@dataclass(frozen=True, slots=True)
class AttemptAwareUCBConfig:
    name: ClassVar[str] = "attempt_aware_ucb"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {
            "early_exploration": Range(0.0, 1000.0),
            "late_exploration": Range(0.0, 1000.0),
            "early_attempts": count(1, 10),
        }
    )
    early_exploration: float = 3.0
    late_exploration: float = 1.0
    early_attempts: int = 3

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        check_positive("early_exploration", self.early_exploration, allow_zero=True)
        check_positive("late_exploration", self.late_exploration, allow_zero=True)
        if self.early_attempts < 1:
            raise ConfigError(f"parameter early_attempts must be >= 1, got {self.early_attempts!r}")

    def build(self, n_arms: int, rng: random.Random) -> AttemptAwareUCB:
        return AttemptAwareUCB(n_arms, rng, self)


class AttemptAwareUCB:
    """UCB1 with one exploration constant for early attempts and another for later ones."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, config: AttemptAwareUCBConfig) -> None:
        self._config = config
        self._ucb = UCB1(n_arms, rng, config.early_exploration)

    def exploration_for(self, attempt: int) -> float:
        """The exploration constant used for attempt number `attempt`."""
        config = self._config
        if attempt <= config.early_attempts:
            return config.early_exploration
        return config.late_exploration

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        return self._ucb.choose_with(candidates, self.exploration_for(attempt))

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._ucb.observe(arm, outcome, now, attempt)

    def estimate(self, arm: int, now: float) -> float:
        return self._ucb.estimate(arm, now)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return self._ucb.snapshot(now)
