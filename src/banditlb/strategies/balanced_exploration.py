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
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from banditlb.outcome import Outcome
from banditlb.strategies.base import ArmCounts, ArmSnapshot, check_positive
from banditlb.strategies.knapsack import ResourceEstimates, check_unit


@dataclass(frozen=True, slots=True)
class BalancedExplorationConfig:
    name: ClassVar[str] = "balanced_exploration"
    rate_limit_budget: float = 0.05
    exploration: float = 0.1
    discount: float = 0.99

    def __post_init__(self) -> None:
        check_unit("rate_limit_budget", self.rate_limit_budget)
        check_positive("exploration", self.exploration, allow_zero=True)
        check_unit("discount", self.discount)

    def build(self, n_arms: int, rng: random.Random) -> BalancedExploration:
        return BalancedExploration(n_arms, rng, self)


class BalancedExploration:
    """Even exploration among the arms that could still be the best per unit of resource."""

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
        floor = max(self.pessimistic(a) for a in range(len(self.stats.n)))
        return [a for a in candidates if self.optimistic(a) >= floor]

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        pool = self.potentially_optimal(candidates)
        if not pool:
            return max(candidates, key=self.optimistic)
        least = min(self.stats.n[a] for a in pool)
        ties = [a for a in pool if self.stats.n[a] == least]
        return ties[0] if len(ties) == 1 else ties[self._rng.randrange(len(ties))]

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        self.stats.record(arm, outcome)

    def estimate(self, arm: int, now: float) -> float:
        return self.stats.reward(arm)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [self._counts.snapshot(a, self.stats.reward(a)) for a in range(len(self.stats.n))]
