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

The prices are kept as unnormalised weights exp(log price − reference), refreshed in `observe`
for the (at most three) resources a round consumed; choose normalises them by their sum once and
scores candidates from the per-arm estimates `ResourceEstimates` caches. No exp per choice.
"""

from __future__ import annotations

import math
import random
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
    unit,
)
from banditlb.strategies.knapsack import ResourceEstimates, check_unit


@dataclass(frozen=True, slots=True)
class PrimalDualBwKConfig:
    name: ClassVar[str] = "primal_dual_bwk"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {
            "rate_limit_budget": Range(0.001, 1.0),
            "learning_rate": unit(),
            "exploration": Range(0.0, 1000.0),
            "discount": unit(),
            "free_attempts": count(2, 10),
        }
    )
    rate_limit_budget: float = 0.05
    learning_rate: float = 0.05
    exploration: float = 0.1
    discount: float = 0.99
    free_attempts: int = 3

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
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

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, config: PrimalDualBwKConfig) -> None:
        self._rng = rng
        self._config = config
        self.stats = ResourceEstimates(n_arms, config.discount, config.exploration)
        self._fail_budget = (config.free_attempts - 1) / config.free_attempts
        # log prices: index 0 time, 1 free attempts, 2 + i server i's capacity
        self._log_price = [0.0] * (n_arms + 2)
        self._log_step = math.log1p(config.learning_rate)
        self._fail_step = self._log_step / self._fail_budget
        self._limit_step = self._log_step / config.rate_limit_budget
        # weights exp(log price − _reference), _reference <= max log price (no overflow)
        self._reference = 0.0
        self._weight = [1.0] * (n_arms + 2)
        self._counts = ArmCounts(n_arms)

    def prices(self) -> list[float]:
        """Normalised shadow prices: time, free attempts, then each server's capacity."""
        top = max(self._log_price)
        raw = [math.exp(w - top) for w in self._log_price]
        total = sum(raw)
        return [r / total for r in raw]

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        """argmax over candidates of UCB(reward) / Σ_k price_k · LCB(consumption_k / b_k)."""
        s = self.stats
        weight = self._weight
        scale = 1.0 / sum(weight)  # normalises the weights into prices
        time_price = weight[0] * scale
        fail_price = weight[1] * scale / self._fail_budget
        limit_scale = scale / self._config.rate_limit_budget
        width = s.width()
        rewards, limited_rates, root_inv = s.rewards, s.limited_rates, s.root_inv
        values = []
        best = -1.0
        for arm in candidates:
            radius = width * root_inv[arm]
            reward = rewards[arm]
            failed = 1.0 - reward - radius  # s.failed_lcb(arm) before clipping at 0
            limited = limited_rates[arm] - radius  # s.limited_lcb(arm) before clipping at 0
            cost = time_price
            if failed > 0.0:
                cost += fail_price * failed
            if limited > 0.0:
                cost += weight[2 + arm] * limit_scale * limited
            high = reward + radius
            value = (high if high < 1.0 else 1.0) / (cost if cost > 1e-300 else 1e-300)
            values.append(value)
            best = value if value > best else best
        ties = [arm for arm, value in zip(candidates, values, strict=True) if value == best]
        return ties[0] if len(ties) == 1 else ties[self._rng.randrange(len(ties))]

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        self.stats.record(arm, outcome)
        log_price, weight, reference = self._log_price, self._weight, self._reference
        exp = math.exp
        log_price[0] += self._log_step
        weight[0] = exp(log_price[0] - reference)
        if not outcome.accepted:
            log_price[1] += self._fail_step
            weight[1] = exp(log_price[1] - reference)
        if outcome.rate_limited:
            k = 2 + arm
            log_price[k] += self._limit_step
            weight[k] = exp(log_price[k] - reference)
        top = max(log_price)
        if top > 500.0:  # shift every log price (and the reference): prices stay the same
            self._log_price = log_price = [w - top for w in log_price]
            reference -= top
            top = 0.0
        if top - reference > 200.0:  # rebase before the weights could overflow
            reference = top
            self._weight = [exp(w - reference) for w in log_price]
        self._reference = reference

    def estimate(self, arm: int, now: float) -> float:
        return self.stats.reward(arm)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [self._counts.snapshot(a, self.stats.reward(a)) for a in range(len(self.stats.n))]
