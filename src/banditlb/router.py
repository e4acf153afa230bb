"""The game's retry rules, pure: which arm each attempt goes to and when to stop.

Shared by the live balancer and the simulator so both play by exactly the same rules:
- at most `free_attempts` (3) attempts cost nothing; a further attempt is made only when the
  strategy's estimate for the arm it would pick beats `penalty` (with penalty 1, never);
- an arm that answered 429 with `Retry-After` is not a candidate until that time has passed;
- `max_attempts` caps the loop whatever the estimates say.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from banditlb.errors import ConfigError
from banditlb.outcome import Outcome
from banditlb.strategies.base import Strategy


class StopReason(StrEnum):
    DELIVERED = "delivered"
    NO_SERVER = "no server available"
    FREE_ATTEMPTS_USED = "free attempts used; another is not worth the penalty"
    MAX_ATTEMPTS = "maximum attempts reached"
    DEADLINE = "request deadline passed"


@dataclass(frozen=True, slots=True)
class RetryRules:
    free_attempts: int = 3
    penalty: float = 1.0
    max_attempts: int = 10

    def __post_init__(self) -> None:
        if self.free_attempts < 1:
            raise ConfigError(f"free_attempts must be >= 1, got {self.free_attempts}")
        if self.penalty < 0:
            raise ConfigError(f"penalty must be >= 0, got {self.penalty}")
        if self.max_attempts < self.free_attempts:
            raise ConfigError(
                f"max_attempts ({self.max_attempts}) must be >= "
                f"free_attempts ({self.free_attempts})"
            )


class Router:
    """Owns the strategy and the Retry-After table for all requests of one balancer."""

    def __init__(self, strategy: Strategy, n_arms: int, rules: RetryRules | None = None) -> None:
        self.strategy = strategy
        self.n_arms = n_arms
        self.rules = rules or RetryRules()
        self.blocked_until = [0.0] * n_arms

    def candidates(self, now: float) -> list[int]:
        """Arms not inside a Retry-After they gave."""
        return [arm for arm, until in enumerate(self.blocked_until) if until <= now]

    def start(self) -> Route:
        """Begin routing one client request."""
        return Route(self)

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        if outcome.retry_after is not None and outcome.retry_after > 0:
            self.blocked_until[arm] = max(self.blocked_until[arm], now + outcome.retry_after)
        self.strategy.observe(arm, outcome, now, attempt)


class Route:
    """One request's walk through the retry rules; ask `next_arm`, then `record` the outcome."""

    __slots__ = ("_router", "attempts", "last_arm", "stop")

    def __init__(self, router: Router) -> None:
        self._router = router
        self.attempts = 0
        self.last_arm: int | None = None
        self.stop: StopReason | None = None

    def next_arm(self, now: float) -> int | None:
        """The arm for the next attempt, or None with `stop` set to why not."""
        if self.stop is not None:
            return None
        rules = self._router.rules
        attempt = self.attempts + 1
        if attempt > rules.max_attempts:
            self.stop = StopReason.MAX_ATTEMPTS
            return None
        if attempt > rules.free_attempts and rules.penalty >= 1.0:
            self.stop = StopReason.FREE_ATTEMPTS_USED  # no estimate can beat a penalty of 1
            return None
        candidates = self._router.candidates(now)
        if not candidates:
            self.stop = StopReason.NO_SERVER
            return None
        strategy = self._router.strategy
        arm = strategy.choose(now, candidates, attempt)
        if attempt > rules.free_attempts and strategy.estimate(arm, now) <= rules.penalty:
            self.stop = StopReason.FREE_ATTEMPTS_USED
            return None
        return arm

    def record(self, arm: int, outcome: Outcome, now: float) -> None:
        self.attempts += 1
        self.last_arm = arm
        self._router.observe(arm, outcome, now, self.attempts)
        if outcome.accepted:
            self.stop = StopReason.DELIVERED

    def give_up(self, reason: StopReason) -> None:
        """Stop early for a reason the caller knows (the request deadline)."""
        if self.stop is None:
            self.stop = reason
