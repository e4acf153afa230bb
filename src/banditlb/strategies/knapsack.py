"""Reward and resource-consumption estimates shared by the Bandits-with-Knapsacks strategies.

Badanidiyuru, Kleinberg & Slivkins, "Bandits with Knapsacks" (FOCS 2013 / JACM 2018) pick arms
by reward against resource consumption. Our mapping, one round = one attempt:

- reward: 1 when the attempt is accepted (200), else 0;
- resource "capacity of server i": consumed (1 unit) by every 429 from server i, i.e. by each
  attempt sent beyond that server's capacity; budget `rate_limit_budget` units per round;
- resource "free attempts": consumed by every attempt not accepted (each burns one of the id's
  free attempts); budget (free_attempts − 1) / free_attempts per round, since an id accepted
  within its free attempts fails at most that share of them;
- time (the paper's dummy resource): 1 per round, budget 1.

A 429 rate depends on how hard we push the server, so the estimates use counts discounted by
`discount` per observation of the arm: they describe the server under the recent load.
Confidence radius: sqrt(exploration · ln(t + 1) / (n + 1)) with n the discounted count.
"""

from __future__ import annotations

import math

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome


def check_unit(name: str, value: float, *, closed: bool = True) -> None:
    """Validation for parameters in (0, 1] (or (0, 1) when not `closed`)."""
    ok = 0 < value <= 1 if closed else 0 < value < 1
    if not ok:
        rule = "(0, 1]" if closed else "(0, 1)"
        raise ConfigError(f"parameter {name} must be in {rule}, got {value!r}")


class ResourceEstimates:
    """Discounted per-arm counts of attempts, acceptances and 429s, with confidence bounds."""

    def __init__(self, n_arms: int, discount: float, exploration: float) -> None:
        self.discount = discount
        self.exploration = exploration
        self.n = [0.0] * n_arms
        self.accepted = [0.0] * n_arms
        self.limited = [0.0] * n_arms
        self.t = 0
        # Per-arm caches, refreshed by `record` for the arm it changes: the estimates and
        # 1 / sqrt(n + 1), so radius(arm) = width() · root_inv[arm] costs one multiplication.
        self.rewards = [0.5] * n_arms
        self.limited_rates = [0.0] * n_arms
        self.root_inv = [1.0] * n_arms

    def record(self, arm: int, outcome: Outcome) -> None:
        g = self.discount
        self.t += 1
        n = self.n[arm] = g * self.n[arm] + 1.0
        accepted = self.accepted[arm] = g * self.accepted[arm] + outcome.accepted
        limited = self.limited[arm] = g * self.limited[arm] + outcome.rate_limited
        self.rewards[arm] = (accepted + 0.5) / (n + 1.0)
        self.limited_rates[arm] = limited / (n + 1.0)
        self.root_inv[arm] = 1.0 / math.sqrt(n + 1.0)

    def width(self) -> float:
        """The arm-independent factor of the radius: sqrt(exploration · ln(t + 1))."""
        return math.sqrt(self.exploration * math.log(self.t + 1.0))

    def radius(self, arm: int) -> float:
        return self.width() * self.root_inv[arm]

    def reward(self, arm: int) -> float:
        """Estimated P(accepted) per attempt (prior 1/2)."""
        return self.rewards[arm]

    def rate_limited(self, arm: int) -> float:
        """Estimated P(429) per attempt (prior 0)."""
        return self.limited_rates[arm]

    def reward_ucb(self, arm: int) -> float:
        return min(1.0, self.reward(arm) + self.radius(arm))

    def reward_lcb(self, arm: int) -> float:
        return max(0.0, self.reward(arm) - self.radius(arm))

    def limited_lcb(self, arm: int) -> float:
        return max(0.0, self.rate_limited(arm) - self.radius(arm))

    def limited_ucb(self, arm: int) -> float:
        return min(1.0, self.rate_limited(arm) + self.radius(arm))

    def failed_lcb(self, arm: int) -> float:
        """Lower bound on P(not accepted), the free-attempt consumption."""
        return max(0.0, 1.0 - self.reward(arm) - self.radius(arm))
