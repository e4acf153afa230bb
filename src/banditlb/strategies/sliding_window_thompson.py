"""Sliding-window Thompson sampling (the blog's V7).

Thompson sampling whose Beta posterior is built only from recent evidence, the sliding-window
idea of Garivier & Moulines, "On Upper-Confidence Bound Policies for Switching Bandit Problems"
(2011) applied to Thompson sampling as in Trovò, Paladino, Restelli & Gatti, "Sliding-Window
Thompson Sampling for Non-Stationary Settings" (JAIR 2020).

Each arm keeps its last `window_requests` observations (0: no count limit) and forgets those older
than `window_seconds` (0: no age limit); at least one limit must be set. Memory is bounded: one
deque per arm, capped by the count limit or pruned by age. A 429 counts as a failure, as in the
blog, so a server that starts rate limiting loses its share within one window. Draws come from
`BetaSampler` (exact Marsaglia–Tsang gamma ratio).
"""

from __future__ import annotations

import random
from collections import deque
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
    count,
    seconds,
)
from banditlb.strategies.sampling import BetaSampler


@dataclass(frozen=True, slots=True)
class SlidingWindowThompsonConfig:
    name: ClassVar[str] = "sliding_window_thompson"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {"window_requests": count(0, 1_000_000), "window_seconds": seconds(allow_zero=True)}
    )
    window_requests: int = 200
    window_seconds: float = 0.0
    rate_limit_is_failure: bool = True

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        if self.window_requests < 0:
            raise ConfigError(
                f"parameter window_requests must be >= 0, got {self.window_requests!r}"
            )
        check_positive("window_seconds", self.window_seconds, allow_zero=True)
        if self.window_requests == 0 and self.window_seconds == 0:
            raise ConfigError(
                "parameter window_requests must be > 0 when window_seconds is 0; set at least one"
            )

    def build(self, n_arms: int, rng: random.Random) -> SlidingWindowThompson:
        return SlidingWindowThompson(n_arms, rng, self)


class SlidingWindowThompson:
    """Beta–Bernoulli Thompson sampling over each arm's most recent observations."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(
        self, n_arms: int, rng: random.Random, config: SlidingWindowThompsonConfig
    ) -> None:
        self._rng = rng
        self._draw = BetaSampler(rng).draw
        self._config = config
        maxlen = config.window_requests or None
        self._seen: list[deque[tuple[float, bool]]] = [deque(maxlen=maxlen) for _ in range(n_arms)]
        self.wins = [0] * n_arms
        self._counts = ArmCounts(n_arms)

    def _forget(self, arm: int, now: float) -> None:
        horizon = self._config.window_seconds
        if horizon <= 0:
            return
        seen = self._seen[arm]
        while seen and seen[0][0] <= now - horizon:
            _, won = seen.popleft()
            self.wins[arm] -= won

    def window(self, arm: int, now: float) -> tuple[int, int]:
        """(accepted, not accepted) among the arm's observations still in the window."""
        self._forget(arm, now)
        return self.wins[arm], len(self._seen[arm]) - self.wins[arm]

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        draw, seen, wins = self._draw, self._seen, self.wins
        aged = self._config.window_seconds > 0
        best, best_draw = candidates[0], -1.0
        for arm in candidates:
            if aged:
                self._forget(arm, now)
            won = wins[arm]
            value = draw(1.0 + won, 1.0 + (len(seen[arm]) - won))
            if value > best_draw:
                best, best_draw = arm, value
        return best

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        if outcome.kind is OutcomeKind.RATE_LIMITED and not self._config.rate_limit_is_failure:
            return
        seen = self._seen[arm]
        if seen.maxlen is not None and len(seen) == seen.maxlen:
            self.wins[arm] -= seen[0][1]
        won = outcome.accepted
        seen.append((now, won))
        self.wins[arm] += won
        self._forget(arm, now)

    def estimate(self, arm: int, now: float) -> float:
        wins, losses = self.window(arm, now)
        return (1.0 + wins) / (2.0 + wins + losses)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        out = []
        for a in range(len(self._seen)):
            wins, losses = self.window(a, now)
            out.append(
                self._counts.snapshot(a, self.estimate(a, now), alpha=1.0 + wins, beta=1.0 + losses)
            )
        return out
