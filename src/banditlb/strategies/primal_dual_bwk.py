"""PrimalDualBwK for Bandits with Knapsacks.

Badanidiyuru, Kleinberg & Slivkins, "Bandits with Knapsacks" (FOCS 2013), algorithm
PrimalDualBwK; described in the blog, never built there. Resource mapping in
`strategies/knapsack.py`: time; each server's capacity, consumed by its 429s (budget
`rate_limit_budget` per attempt); and the free attempts, consumed by every attempt not accepted
(budget (free_attempts − 1) / free_attempts per attempt).

Each resource k has a shadow price v_k, kept by multiplicative weights (Hedge): after each round
v_k ← v_k · (1 + ε)^(c_k / b_k) with c_k the round's consumption and b_k the per-round budget, then
normalised. Choose takes argmax UCB(reward) / Σ_k v_k · LCB(consumption_k / b_k). A server that
429s more than its budget share grows an expensive price and loses traffic until its 429s stop;
then time's price, which grows every round, pulls its relative price back down.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from banditlb.errors import ConfigError
from banditlb.outcome import Outcome
from banditlb.strategies.base import ArmCounts, ArmSnapshot, check_positive
from banditlb.strategies.knapsack import ResourceEstimates, check_unit


@dataclass(frozen=True, slots=True)
class PrimalDualBwKConfig:
    name: ClassVar[str] = "primal_dual_bwk"
    rate_limit_budget: float = 0.05
    learning_rate: float = 0.05
    exploration: float = 0.1
    discount: float = 0.99
    free_attempts: int = 3

    def __post_init__(self) -> None:
        check_unit("rate_limit_budget", self.rate_limit_budget)
        check_unit("learning_rate", self.learning_rate)
        check_positive("exploration", self.exploration, allow_zero=True)
        check_unit("discount", self.discount)
        if self.free_attempts < 2:
            raise ConfigError(f"parameter free_attempts must be >= 2, got {self.free_attempts!r}")

    def build(self, n_arms: int, rng: random.Random) -> PrimalDualBwK:
        return PrimalDualBwK(n_arms, rng, self)


class PrimalDualBwK:
    """Optimistic reward over priced pessimistic consumption, prices by multiplicative weights."""

    def __init__(self, n_arms: int, rng: random.Random, config: PrimalDualBwKConfig) -> None:
        self._rng = rng
        self._config = config
        self.stats = ResourceEstimates(n_arms, config.discount, config.exploration)
        self._fail_budget = (config.free_attempts - 1) / config.free_attempts
        # log prices: index 0 time, 1 free attempts, 2 + i server i's capacity
        self._log_price = [0.0] * (n_arms + 2)
        self._log_step = math.log1p(config.learning_rate)
        self._counts = ArmCounts(n_arms)

    def prices(self) -> list[float]:
        """Normalised shadow prices: time, free attempts, then each server's capacity."""
        top = max(self._log_price)
        raw = [math.exp(w - top) for w in self._log_price]
        total = sum(raw)
        return [r / total for r in raw]

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        price = self.prices()
        s = self.stats
        budget = self._config.rate_limit_budget

        def bang_per_buck(arm: int) -> float:
            cost = (
                price[0]
                + price[1] * s.failed_lcb(arm) / self._fail_budget
                + price[2 + arm] * s.limited_lcb(arm) / budget
            )
            return s.reward_ucb(arm) / max(cost, 1e-300)

        scored = [(bang_per_buck(a), a) for a in candidates]
        best = max(v for v, _ in scored)
        ties = [a for v, a in scored if v == best]
        return ties[0] if len(ties) == 1 else ties[self._rng.randrange(len(ties))]

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        self.stats.record(arm, outcome)
        step = self._log_step
        self._log_price[0] += step
        if not outcome.accepted:
            self._log_price[1] += step / self._fail_budget
        if outcome.rate_limited:
            self._log_price[2 + arm] += step / self._config.rate_limit_budget
        top = max(self._log_price)
        if top > 500.0:
            self._log_price = [w - top for w in self._log_price]

    def estimate(self, arm: int, now: float) -> float:
        return self.stats.reward(arm)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [self._counts.snapshot(a, self.stats.reward(a)) for a in range(len(self.stats.n))]
