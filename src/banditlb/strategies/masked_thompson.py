"""Masked Thompson sampling (the blog's V6): a 429 is not a failure but a cool-down.

Thompson sampling (Thompson 1933; Agrawal & Goyal 2012) over the acceptance rate of answered
attempts, with rate-limited arms masked as in "sleeping" bandits (Kleinberg, Niculescu-Mizil &
Sharma, "Regret bounds for sleeping experts and bandits", 2010). A server that answered 429 is left
out of the draw until `now + max(cooldown, Retry-After)`; the 429 does not touch its posterior.
When every candidate is masked the draw runs over all candidates.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from banditlb.game.outcome import Outcome
from banditlb.strategies.base import ArmSnapshot, Range, check_positive, check_ranges, seconds
from banditlb.strategies.thompson import Thompson, ThompsonConfig


@dataclass(frozen=True, slots=True)
class MaskedThompsonConfig:
    name: ClassVar[str] = "masked_thompson"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {"cooldown": seconds(3600.0, allow_zero=True)}
    )
    cooldown: float = 1.0

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        check_positive("cooldown", self.cooldown, allow_zero=True)

    def build(self, n_arms: int, rng: random.Random) -> MaskedThompson:
        return MaskedThompson(n_arms, rng, self.cooldown)


class MaskedThompson:
    """Beta–Bernoulli Thompson sampling among arms not cooling down after a 429."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, cooldown: float) -> None:
        self.cooldown = cooldown
        self._thompson = Thompson(n_arms, rng, ThompsonConfig(rate_limit_is_failure=False))
        self.masked_until = [0.0] * n_arms

    def unmasked(self, now: float, candidates: Sequence[int]) -> list[int]:
        """Candidates not inside their cool-down at `now`."""
        return [a for a in candidates if self.masked_until[a] <= now]

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        return self._thompson.choose(now, self.unmasked(now, candidates) or candidates, attempt)

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        if outcome.rate_limited:
            hold = max(self.cooldown, outcome.retry_after or 0.0)
            self.masked_until[arm] = max(self.masked_until[arm], now + hold)
        self._thompson.observe(arm, outcome, now, attempt)

    def estimate(self, arm: int, now: float) -> float:
        if self.masked_until[arm] > now:
            return 0.0
        return self._thompson.estimate(arm, now)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [with_block(s, self.masked_until[s.arm], now) for s in self._thompson.snapshot(now)]


def with_block(snap: ArmSnapshot, until: float, now: float) -> ArmSnapshot:
    """`snap` with `blocked_until` set when the arm is blocked at `now`."""
    return dataclasses.replace(snap, blocked_until=until if until > now else None)
