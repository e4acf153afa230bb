"""The game's retry rules, pure: which arm each attempt goes to and when to stop.

Shared by the live balancer and the simulator so both play by exactly the same rules:
- at most `free_attempts` (3) attempts cost nothing; a further attempt is made only when the
  strategy's estimate for the arm it would pick beats `penalty` (with penalty 1, never);
- an arm that answered 429 with `Retry-After` is not a candidate until that time has passed;
- `max_attempts` caps the loop whatever the estimates say;
- a pacing strategy may hold an attempt back until a server can admit it, for at most
  `max_hold` seconds after the request arrived (then it must choose at once).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.strategies.base import Pacing, Strategy

DEFAULT_ATTEMPT_TIMEOUT = 2.0
"""Seconds one downstream attempt may take, live and simulated alike."""
DEFAULT_REQUEST_DEADLINE = 10.0
"""Seconds after which a request gets no new attempt, live and simulated alike."""
DEFAULT_MAX_HOLD = 1.0
"""Seconds after its arrival during which a pacing strategy may hold a request's attempts."""


class StopReason(StrEnum):
    DELIVERED = "delivered"
    NO_SERVER = "no server available"
    FREE_ATTEMPTS_USED = "free attempts used; another is not worth the penalty"
    MAX_ATTEMPTS = "maximum attempts reached"
    DEADLINE = "request deadline passed"


MAX_PENALTY = 1e6
"""A penalty beyond this is no game (and NaN or infinity would break the score's sums)."""


@dataclass(frozen=True, slots=True)
class RetryRules:
    free_attempts: int = 3
    penalty: float = 1.0
    max_attempts: int = 10
    max_hold: float = DEFAULT_MAX_HOLD

    def __post_init__(self) -> None:
        if not 1 <= self.free_attempts <= 100:
            raise ConfigError(f"--free-attempts must be in 1..100, got {self.free_attempts}")
        if not (math.isfinite(self.penalty) and 0 <= self.penalty <= MAX_PENALTY):
            raise ConfigError(
                f"--penalty must be a number in [0, {MAX_PENALTY:g}], got {self.penalty}"
            )
        if self.max_attempts > 1000:
            raise ConfigError(f"--max-attempts must be <= 1000, got {self.max_attempts}")
        if self.max_attempts < self.free_attempts:
            raise ConfigError(
                f"max_attempts ({self.max_attempts}) must be >= "
                f"free_attempts ({self.free_attempts})"
            )
        if not 0.0 <= self.max_hold <= 60.0:  # also rejects NaN
            raise ConfigError(f"--max-hold must be from 0 to 60 seconds, got {self.max_hold}")


def hold_delay(wanted: float, now: float, arrived: float, max_hold: float) -> float:
    """How long an attempt actually waits: what the strategy wants, within the request's
    budget of `max_hold` seconds after it `arrived`; 0 when either is used up.

    The one rule the balancer, the reference loop and the fast loop all apply."""
    if wanted <= 0.0:
        return 0.0
    left = arrived + max_hold - now
    if left <= 0.0:
        return 0.0
    return wanted if wanted < left else left


class Router:
    """Owns the strategy and the Retry-After table for all requests of one balancer.

    Hot path (every attempt of every request): `Route.next_arm` hands the strategy a cached
    tuple of all arms when no Retry-After is in force, and reads the rules from plain slots.
    """

    __slots__ = (
        "_all_arms",
        "_choose",
        "_estimate",
        "_free",
        "_hold",
        "_max",
        "_max_hold",
        "_never_paid",
        "_observe",
        "_penalty",
        "_rules",
        "_strategy",
        "blocked_until",
        "n_arms",
    )

    def __init__(self, strategy: Strategy, n_arms: int, rules: RetryRules | None = None) -> None:
        self.n_arms = n_arms
        self.blocked_until = [0.0] * n_arms
        self._all_arms = tuple(range(n_arms))
        self.strategy = strategy
        self.rules = rules or RetryRules()

    @property
    def strategy(self) -> Strategy:
        return self._strategy

    @strategy.setter
    def strategy(self, strategy: Strategy) -> None:
        self._strategy = strategy
        self._choose = strategy.choose
        self._estimate = strategy.estimate
        self._observe = strategy.observe
        self._hold = strategy.hold if isinstance(strategy, Pacing) else None

    @property
    def rules(self) -> RetryRules:
        return self._rules

    @rules.setter
    def rules(self, rules: RetryRules) -> None:
        self._rules = rules
        self._free = rules.free_attempts
        self._max = rules.max_attempts
        self._penalty = rules.penalty
        self._max_hold = rules.max_hold
        self._never_paid = rules.penalty >= 1.0  # no estimate can beat a penalty of 1

    def candidates(self, now: float) -> list[int]:
        """Arms not inside a Retry-After they gave."""
        return list(self._candidates(now))

    def _candidates(self, now: float) -> Sequence[int]:
        blocked = self.blocked_until
        if blocked and max(blocked) <= now:  # the usual case: nothing blocked, no list built
            return self._all_arms
        return [arm for arm, until in enumerate(blocked) if until <= now]

    def start(self) -> Route:
        """Begin routing one client request."""
        return Route(self)

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        retry_after = outcome.retry_after
        if retry_after is not None and retry_after > 0:
            self.blocked_until[arm] = max(self.blocked_until[arm], now + retry_after)
        self._observe(arm, outcome, now, attempt)


class Route:
    """One request's walk through the retry rules; ask `next_arm`, then `record` the outcome."""

    __slots__ = ("_router", "attempts", "last_arm", "stop")

    def __init__(self, router: Router) -> None:
        self._router = router
        self.attempts = 0
        self.last_arm: int | None = None
        self.stop: StopReason | None = None

    def hold(self, now: float, arrived: float) -> float:
        """Seconds to wait before `next_arm` (0: ask now); `arrived` is the request's arrival.

        Non-zero only for a pacing strategy, within the request's hold budget; a request
        that will stop anyway (delivered, out of attempts, no candidate) never waits.
        """
        router = self._router
        hold = router._hold
        if hold is None or self.stop is not None or router._max_hold <= 0.0:
            return 0.0
        attempt = self.attempts + 1
        if attempt > router._free and (router._never_paid or attempt > router._max):
            return 0.0
        candidates = router._candidates(now)
        if not candidates:
            return 0.0
        return hold_delay(hold(now, candidates, attempt), now, arrived, router._max_hold)

    def next_arm(self, now: float) -> int | None:
        """The arm for the next attempt, or None with `stop` set to why not."""
        if self.stop is not None:
            return None
        router = self._router
        attempt = self.attempts + 1
        paid = attempt > router._free
        if paid:
            if attempt > router._max:
                self.stop = StopReason.MAX_ATTEMPTS
                return None
            if router._never_paid:
                self.stop = StopReason.FREE_ATTEMPTS_USED
                return None
        blocked = router.blocked_until
        if blocked and max(blocked) <= now:  # Router._candidates inlined: runs every attempt
            candidates: Sequence[int] = router._all_arms
        else:
            candidates = [arm for arm, until in enumerate(blocked) if until <= now]
            if not candidates:
                self.stop = StopReason.NO_SERVER
                return None
        arm = router._choose(now, candidates, attempt)
        if paid and router._estimate(arm, now) <= router._penalty:
            self.stop = StopReason.FREE_ATTEMPTS_USED
            return None
        return arm

    def record(self, arm: int, outcome: Outcome, now: float) -> None:
        attempts = self.attempts = self.attempts + 1
        self.last_arm = arm
        router = self._router
        retry_after = outcome.retry_after  # Router.observe, inlined
        if retry_after is not None and retry_after > 0:
            blocked = router.blocked_until
            until = now + retry_after
            blocked[arm] = max(blocked[arm], until)
        router._observe(arm, outcome, now, attempts)
        if outcome.kind is OutcomeKind.ACCEPTED:
            self.stop = StopReason.DELIVERED

    def give_up(self, reason: StopReason) -> None:
        """Stop early for a reason the caller knows (the request deadline)."""
        if self.stop is None:
            self.stop = reason
