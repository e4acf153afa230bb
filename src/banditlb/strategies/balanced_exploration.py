"""BalancedExploration for Bandits with Knapsacks.

Badanidiyuru, Kleinberg & Slivkins, "Bandits with Knapsacks" (FOCS 2013), algorithm
BalancedExploration; described in the blog, never built there. Resource mapping in
`strategies/knapsack.py`: reward = an accepted attempt; each server's capacity is a resource
consumed by its 429s with budget `rate_limit_budget` per attempt.

The paper keeps every arm that is optimal for *some* instance inside the confidence region
and explores those arms in balance. Here an arm's value is reward per unit of resource,
reward / (1 + P(429) / budget); the potentially optimal set holds each arm whose optimistic value
(UCB reward over LCB consumption) reaches the best pessimistic value (LCB reward over UCB
consumption) of any arm. Choose plays, among the candidates in that set, the one with the fewest
(discounted) plays, so the set is explored evenly and shrinks as the bounds tighten. A server
pushed past its capacity answers 429s, its value drops, and others join the set.

Each choice computes the confidence width sqrt(exploration · ln(t + 1)) once and scores every
arm from the per-arm estimates `ResourceEstimates` caches when it records an observation.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from banditlb.game.outcome import Outcome
from banditlb.strategies.base import (
    ArmCounts,
    ArmSnapshot,
    Range,
    check_positive,
    check_ranges,
    unit,
)
from banditlb.strategies.knapsack import ResourceEstimates, check_unit


@dataclass(frozen=True, slots=True)
class BalancedExplorationConfig:
    name: ClassVar[str] = "balanced_exploration"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {
            "rate_limit_budget": Range(0.001, 1.0),
            "exploration": Range(0.0, 1000.0),
            "discount": unit(),
        }
    )
    rate_limit_budget: float = 0.05
    exploration: float = 0.1
    discount: float = 0.99

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        check_unit("rate_limit_budget", self.rate_limit_budget)
        check_positive("exploration", self.exploration, allow_zero=True)
        check_unit("discount", self.discount)

    def build(self, n_arms: int, rng: random.Random) -> BalancedExploration:
        return BalancedExploration(n_arms, rng, self)


class BalancedExploration:
    """Even exploration among the arms that could still be the best per unit of resource."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, config: BalancedExplorationConfig) -> None:
        self._rng = rng
        self._budget = config.rate_limit_budget
        self.stats = ResourceEstimates(n_arms, config.discount, config.exploration)
        self._counts = ArmCounts(n_arms)

    def optimistic(self, arm: int) -> float:
        s = self.stats
        return s.reward_ucb(arm) / (1.0 + s.limited_lcb(arm) / self._budget)

    def pessimistic(self, arm: int) -> float:
        s = self.stats
        return s.reward_lcb(arm) / (1.0 + s.limited_ucb(arm) / self._budget)

    def potentially_optimal(self, candidates: Sequence[int]) -> list[int]:
        """Candidates whose optimistic value reaches the best pessimistic value."""
        pool, _ = self._scan(candidates)
        return pool

    def _scan(self, candidates: Sequence[int]) -> tuple[list[int], list[int]]:
        """The potentially optimal candidates, and those of them with the fewest plays."""
        s = self.stats
        width, budget = s.width(), self._budget
        floor = -1.0
        for reward, limited, root_inv in zip(s.rewards, s.limited_rates, s.root_inv, strict=True):
            # pessimistic(arm), inlined: LCB reward over UCB consumption
            radius = width * root_inv
            low = reward - radius
            if low > 0.0:
                high = limited + radius
                value = low / (1.0 + (high if high < 1.0 else 1.0) / budget)
                floor = value if value > floor else floor
            elif floor < 0.0:
                floor = 0.0
        rewards, limited_rates, root_invs, plays = s.rewards, s.limited_rates, s.root_inv, s.n
        pool: list[int] = []
        least: list[int] = []
        fewest = math.inf
        for arm in candidates:
            # optimistic(arm), inlined: UCB reward over LCB consumption
            radius = width * root_invs[arm]
            high = rewards[arm] + radius
            low = limited_rates[arm] - radius
            value = (high if high < 1.0 else 1.0) / (1.0 + (low if low > 0.0 else 0.0) / budget)
            if value >= floor:
                pool.append(arm)
                n = plays[arm]
                if n < fewest:
                    fewest, least = n, [arm]
                elif n == fewest:
                    least.append(arm)
        return pool, least

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        """Among potentially optimal candidates, the one with the fewest (discounted) plays."""
        _, least = self._scan(candidates)
        if not least:
            return max(candidates, key=self.optimistic)
        return least[0] if len(least) == 1 else least[self._rng.randrange(len(least))]

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        self.stats.record(arm, outcome)

    def estimate(self, arm: int, now: float) -> float:
        return self.stats.reward(arm)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [self._counts.snapshot(a, self.stats.reward(a)) for a in range(len(self.stats.n))]
