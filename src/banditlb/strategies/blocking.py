"""Blocking bandit with exponential back-off (the blog's V8).

Basu, Sen, Sanghavi & Shakkottai, "Blocking Bandits" (NeurIPS 2019): an arm, once played, is
unavailable for a while. Here the block follows a 429: the arm is blocked for
`max(base_block · 2^k, Retry-After)` seconds, where k counts the arm's 429s since it last admitted
an attempt (k resets when the arm answers 200 or 5xx, i.e. admits), capped at `max_block`.
Thompson sampling over answered attempts chooses among unblocked candidates; when all are blocked
it takes the one whose block ends soonest.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome
from banditlb.strategies.base import ArmSnapshot, Range, check_positive, check_ranges, seconds
from banditlb.strategies.masked_thompson import with_block
from banditlb.strategies.thompson import Thompson, ThompsonConfig


@dataclass(frozen=True, slots=True)
class BlockingConfig:
    name: ClassVar[str] = "blocking"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {"base_block": seconds(3600.0), "max_block": seconds()}
    )
    base_block: float = 0.5
    max_block: float = 30.0

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        check_positive("base_block", self.base_block)
        check_positive("max_block", self.max_block)
        if self.max_block < self.base_block:
            raise ConfigError(
                f"parameter max_block must be >= base_block ({self.base_block!r}), "
                f"got {self.max_block!r}"
            )

    def build(self, n_arms: int, rng: random.Random) -> Blocking:
        return Blocking(n_arms, rng, self)


class Blocking:
    """Thompson sampling among arms not blocked by an exponentially growing 429 back-off."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, config: BlockingConfig) -> None:
        self._config = config
        self._thompson = Thompson(n_arms, rng, ThompsonConfig(rate_limit_is_failure=False))
        self.blocked_until = [0.0] * n_arms
        self.strikes = [0] * n_arms

    def block_for(self, arm: int) -> float:
        """How long the arm's next 429 blocks it: base · 2^k, capped."""
        config = self._config
        return min(config.max_block, config.base_block * 2.0 ** self.strikes[arm])

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        free = [a for a in candidates if self.blocked_until[a] <= now]
        if free:
            return self._thompson.choose(now, free, attempt)
        return min(candidates, key=lambda a: (self.blocked_until[a], a))

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        if outcome.rate_limited:
            hold = max(self.block_for(arm), outcome.retry_after or 0.0)
            self.blocked_until[arm] = max(self.blocked_until[arm], now + hold)
            self.strikes[arm] += 1
        elif outcome.status is not None:
            self.strikes[arm] = 0
        self._thompson.observe(arm, outcome, now, attempt)

    def estimate(self, arm: int, now: float) -> float:
        if self.blocked_until[arm] > now:
            return 0.0
        return self._thompson.estimate(arm, now)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [with_block(s, self.blocked_until[s.arm], now) for s in self._thompson.snapshot(now)]
