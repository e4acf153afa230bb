"""Sliding-window UCB.

Garivier & Moulines, "On Upper-Confidence Bound Policies for Switching Bandit Problems"
(ALT 2011). Only the last `window` attempts (over all arms) count: with N_i and X_i an arm's plays
and mean reward among them, the index is X_i + sqrt(ξ · ln(min(t, window)) / N_i); an arm with
no play in the window has an infinite index. The paper's ξ = 0.6 is the default. Reward is 1 for
an accepted attempt and 0 otherwise, a 429 included.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome
from banditlb.strategies.base import (
    ArmCounts,
    ArmSnapshot,
    Range,
    check_positive,
    check_ranges,
    count,
)


@dataclass(frozen=True, slots=True)
class SlidingWindowUCBConfig:
    name: ClassVar[str] = "sliding_window_ucb"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {"window": count(1, 1_000_000), "exploration": Range(0.0, 1000.0)}
    )
    window: int = 1000
    exploration: float = 0.6

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        if self.window < 1:
            raise ConfigError(f"parameter window must be >= 1, got {self.window!r}")
        check_positive("exploration", self.exploration, allow_zero=True)

    def build(self, n_arms: int, rng: random.Random) -> SlidingWindowUCB:
        return SlidingWindowUCB(n_arms, rng, self)


class SlidingWindowUCB:
    """UCB over the most recent `window` attempts."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, config: SlidingWindowUCBConfig) -> None:
        self._rng = rng
        self._config = config
        self._recent: deque[tuple[int, bool]] = deque()
        self.plays = [0] * n_arms
        self.wins = [0] * n_arms
        self._t = 0
        self._counts = ArmCounts(n_arms)

    def index(self, arm: int) -> float:
        """The arm's sliding-window UCB index; infinite when it has no play in the window."""
        n = self.plays[arm]
        if n == 0:
            return math.inf
        horizon = min(self._t, self._config.window)
        bonus = math.sqrt(self._config.exploration * math.log(max(horizon, 1)) / n)
        return self.wins[arm] / n + bonus

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        scored = [(self.index(a), a) for a in candidates]
        best = max(s for s, _ in scored)
        ties = [a for s, a in scored if s == best]
        return ties[0] if len(ties) == 1 else ties[self._rng.randrange(len(ties))]

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        self._t += 1
        won = outcome.accepted
        self._recent.append((arm, won))
        self.plays[arm] += 1
        self.wins[arm] += won
        if len(self._recent) > self._config.window:
            old, old_won = self._recent.popleft()
            self.plays[old] -= 1
            self.wins[old] -= old_won

    def estimate(self, arm: int, now: float) -> float:
        n = self.plays[arm]
        return self.wins[arm] / n if n else 0.5

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [self._counts.snapshot(a, self.estimate(a, now)) for a in range(len(self.plays))]
