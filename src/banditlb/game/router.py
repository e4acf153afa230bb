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
DEFAULT_MAX_HOLD = 4.0
"""Seconds after its arrival during which a pacing strategy may hold a request's attempts.

4 s, not 1: waiting for a limited server costs latency, a 429 costs an attempt. Planner,
1 s -> 4 s: default T3 0.941 -> 0.955 per request, referee_t3 (sim) 0.822 -> 0.839, tuning
family +0.7 points of oracle; live on the independent fleet's t3 p99 latency 1.0 -> 4.0 s.
Past 4 s referee_t3 stops gaining (6 s: 0.836) while the generated family gains a little
more and the client waits longer."""


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


class Blocks:
    """Each arm's Retry-After: until when it is out of the draw, and which arms are open now.

    `open_at(now)` runs before every attempt, so it answers from a cache: all arms while no
    block is in force, else the open arms computed once and kept until the next block ends or
    a new one starts (asked for an earlier time, it computes afresh).
    """

    __slots__ = ("_all", "_open", "_open_from", "_open_until", "latest", "until")

    def __init__(self, n_arms: int) -> None:
        self.until = [0.0] * n_arms
        self._all = tuple(range(n_arms))
        self.latest = 0.0 if n_arms else math.inf
        """max(until): all arms are open from then on (entries only grow)."""
        self._open: tuple[int, ...] = ()
        self._open_from = math.inf
        self._open_until = -math.inf

    def block(self, arm: int, now: float, retry_after: float | None) -> None:
        """Keep `arm` out of the draw for `retry_after` seconds from `now` (a longer block
        already in force stays); None or a non-positive value blocks nothing."""
        if retry_after is not None and retry_after > 0:
            until = now + retry_after
            if until > self.until[arm]:
                self.until[arm] = until
                self._open_until = -math.inf
                self.latest = max(self.latest, until)

    def open_at(self, now: float) -> tuple[int, ...]:
        """The arms not inside a Retry-After at `now`, in arm order (empty: none)."""
        if self.latest <= now:  # the usual case: nothing blocked
            return self._all
        if not self._open_from <= now < self._open_until:
            until = self.until
            self._open = tuple([arm for arm, t in enumerate(until) if t <= now])
            self._open_until = min([t for t in until if t > now], default=math.inf)
            self._open_from = now
        return self._open


class Router:
    """Owns the strategy and the Retry-After blocks for all requests of one balancer.

    Each rule is one small method, called by `Route` (the balancer and the reference loop) and
    by the simulator's fast loop alike: `paid_stop` (may attempt N be made at all),
    `open_arms` (the candidates), `hold_for` (how long a pacing strategy waits),
    `worth_paying` (the penalty test for a paid attempt), `block` (an answer's Retry-After)
    and `observe` (`block`, then the strategy learns the answer).
    """

    __slots__ = (
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
        "block",
        "blocked_until",
        "blocks",
        "choose",
        "n_arms",
        "open_arms",
    )

    def __init__(self, strategy: Strategy, n_arms: int, rules: RetryRules | None = None) -> None:
        self.n_arms = n_arms
        self.blocks = Blocks(n_arms)
        self.blocked_until = self.blocks.until
        self.open_arms = self.blocks.open_at
        self.block = self.blocks.block
        self.strategy = strategy
        self.rules = rules or RetryRules()

    @property
    def strategy(self) -> Strategy:
        return self._strategy

    @strategy.setter
    def strategy(self, strategy: Strategy) -> None:
        self._strategy = strategy
        self.choose = strategy.choose
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

    @property
    def paces(self) -> bool:
        """Whether attempts may be held: a pacing strategy and a hold budget above 0."""
        return self._hold is not None and self._max_hold > 0.0

    def candidates(self, now: float) -> list[int]:
        """Arms not inside a Retry-After they gave."""
        return list(self.open_arms(now))

    def start(self) -> Route:
        """Begin routing one client request."""
        return Route(self)

    def paid_stop(self, attempt: int) -> StopReason | None:
        """Why attempt number `attempt` may not be made, whatever arm it would go to; None
        when it may (a free one, or a paid one the strategy's estimate will be asked about)."""
        if attempt <= self._free:
            return None
        if attempt > self._max:
            return StopReason.MAX_ATTEMPTS
        if self._never_paid:
            return StopReason.FREE_ATTEMPTS_USED
        return None

    def worth_paying(self, arm: int, now: float) -> bool:
        """The penalty test of a paid attempt: does `arm`'s estimate beat the penalty?"""
        return self._estimate(arm, now) > self._penalty

    def hold_for(
        self, now: float, candidates: Sequence[int], attempt: int, arrived: float
    ) -> float:
        """Seconds a pacing strategy holds `attempt` (0: choose now), within the request's
        budget of `max_hold` seconds after it `arrived`; 0 for a strategy that never holds."""
        hold = self._hold
        if hold is None or self._max_hold <= 0.0:
            return 0.0
        return hold_delay(hold(now, candidates, attempt), now, arrived, self._max_hold)

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        """Learn what attempt `attempt` on `arm` came to: its Retry-After blocks the arm, and
        the strategy observes it."""
        self.block(arm, now, outcome.retry_after)
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
        if self.stop is not None or not router.paces:
            return 0.0
        attempt = self.attempts + 1
        if router.paid_stop(attempt) is not None:
            return 0.0
        candidates = router.open_arms(now)
        if not candidates:
            return 0.0
        return router.hold_for(now, candidates, attempt, arrived)

    def next_arm(self, now: float) -> int | None:
        """The arm for the next attempt, or None with `stop` set to why not."""
        if self.stop is not None:
            return None
        router = self._router
        attempt = self.attempts + 1
        stop = router.paid_stop(attempt)
        if stop is not None:
            self.stop = stop
            return None
        candidates = router.open_arms(now)
        if not candidates:
            self.stop = StopReason.NO_SERVER
            return None
        arm = router.choose(now, candidates, attempt)
        if attempt > router._free and not router.worth_paying(arm, now):
            self.stop = StopReason.FREE_ATTEMPTS_USED
            return None
        return arm

    def record(self, arm: int, outcome: Outcome, now: float) -> None:
        """Count the attempt, let the router learn from it; an acceptance ends the request."""
        attempts = self.attempts = self.attempts + 1
        self.last_arm = arm
        self._router.observe(arm, outcome, now, attempts)
        if outcome.kind is OutcomeKind.ACCEPTED:
            self.stop = StopReason.DELIVERED

    def give_up(self, reason: StopReason) -> None:
        """Stop early for a reason the caller knows (the request deadline)."""
        if self.stop is None:
            self.stop = reason
