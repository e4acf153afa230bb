"""One downstream server as a pure model: faults, then rate limit, then error rate.

The fleet serves these over HTTP; the simulator calls them directly on a virtual clock.
Both get the same answers for the same seed and the same sequence of calls.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from banditlb.game.outcome import Quota
from banditlb.models.limits import RateLimiter
from banditlb.models.spec import FaultSpec, ServerSpec

_EPSILON = 1e-9  # float noise a whole-second rounding ignores (a wait of 1.0000000000002 is 1)

Hint = Callable[[float, float], float]
"""Turns a limiter's wait into the Retry-After a strategy sees: hint(wait, now) -> seconds."""


def seconds_hint(wait: float, now: float) -> float:
    """RFC 9110 delta-seconds: the wait rounded up to a whole second, at least 1."""
    return float(max(1, math.ceil(wait - _EPSILON)))


def date_hint(wait: float, now: float) -> float:
    """An HTTP-date has whole seconds: ceil(now + wait) − now, virtual time 0 a whole second."""
    return math.ceil(now + wait - _EPSILON) - now


def fractional_hint(wait: float, now: float) -> float:
    """Seconds to the millisecond (the fleet's old, non-standard behaviour; opt-in)."""
    return round(wait, 3)


HINTS: Mapping[str, Hint | None] = MappingProxyType(
    {"seconds": seconds_hint, "date": date_hint, "fractional": fractional_hint, "none": None}
)


def whole_seconds(value: float) -> int:
    """A delta-seconds field's value: rounded up, never negative."""
    return max(0, math.ceil(value - _EPSILON))


def advertise(quota: Quota | None, fields: str) -> Quota | None:
    """What a client reads from the rate-limit fields sent for `quota` (whole seconds).

    `fields` is the server's `rate_limit_headers`: "ietf" sends limit and window
    (RateLimit-Policy, w >= 1) when known, "x" the limit but no window, "none" nothing.
    """
    if quota is None or fields == "none":
        return None
    reset = float(whole_seconds(quota.reset))
    if fields == "x" or quota.window is None or quota.limit is None:
        return Quota(quota.remaining, reset, quota.limit, None)
    return Quota(quota.remaining, reset, quota.limit, float(max(1, whole_seconds(quota.window))))


class Fault(StrEnum):
    """Ways a server can misbehave beyond its error rate."""

    HANG = "hang"  # never answers
    SLOW = "slow"  # answers after an extra delay
    RESET = "reset"  # drops the connection
    REFUSED = "refused"  # not listening
    MALFORMED = "malformed"  # answers with bytes that are not HTTP
    FLAP = "flap"  # periodically refused, otherwise normal


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server does for one request.

    `status` is None when a fault (hang, reset, refused, malformed) means no HTTP answer.
    `counted` says whether the referee counts it as an attempt (any request whose body it read).
    """

    status: int | None
    latency: float
    retry_after: float | None = None
    fault: Fault | None = None
    wait: float | None = None  # a 429's exact wait, from which the fleet writes HTTP-dates
    quota: Quota | None = None  # what the rate-limit fields say (servers that send them)

    @property
    def counted(self) -> bool:
        return self.fault not in (Fault.REFUSED, Fault.FLAP)


Decision = tuple[int | None, float, float | None, Fault | None]
"""`decide`'s answer: (status, latency, retry_after or a 429's raw wait, fault)."""


class Decide(Protocol):
    """`ServerModel.decide`'s signature: `decide(now, raw=False) -> Decision`."""

    def __call__(self, now: float, raw: bool = False) -> Decision: ...


class ServerModel:
    """A server's behaviour over time, driven by the caller's clock and a seeded RNG."""

    def __init__(self, spec: ServerSpec, seed: int) -> None:
        self.spec = spec
        self._limiter: RateLimiter | None = spec.build_limiter()
        self._outcomes = random.Random(f"{seed}/{spec.name}/outcome")
        self._latency = random.Random(f"{seed}/{spec.name}/latency")
        self._faults = random.Random(f"{seed}/{spec.name}/fault")
        self._hint = HINTS[spec.retry_after]
        self._fields = spec.rate_limit_headers
        self.advertises = self._limiter is not None and self._fields != "none"
        """Whether answers carry rate-limit fields (then ask `advertised(now)` after `decide`)."""
        self.decide: Decide = self._decider()
        """`handle`'s answer as a plain (status, latency, retry_after, fault) tuple (see
        `_decider`): the simulator calls it once per attempt, so no `Reply` is built."""

    @property
    def limiter(self) -> RateLimiter | None:
        """The spec's limiter, fixed at construction: `decide` is built around it, so it is
        read-only (a replaced limiter would be ignored by the simulator's hot path)."""
        return self._limiter

    @property
    def name(self) -> str:
        return self.spec.name

    def active_fault(self, now: float) -> FaultSpec | None:
        """The first fault in force at `now` that fires for this request, if any."""
        for fault in self.spec.faults:
            if fault.in_force(now) and (
                fault.probability >= 1.0 or self._faults.random() < fault.probability
            ):
                return fault
        return None

    def is_down(self, now: float) -> bool:
        """True when the server would refuse connections at `now` (refused or flapping down)."""
        return any(
            f.kind in (Fault.REFUSED, Fault.FLAP) and f.in_force(now) for f in self.spec.faults
        )

    def handle(self, now: float) -> Reply:
        """Decide the answer to a well-formed request arriving at `now`."""
        status, latency, wait, fault = self.decide(now, raw=True)
        hint = self._hint
        retry_after = None if wait is None or hint is None else hint(wait, now)
        quota = self.advertised(now) if status is not None and self.advertises else None
        return Reply(status, latency, retry_after, fault, wait, quota)

    def advertised(self, now: float) -> Quota | None:
        """The rate-limit fields' values right after a decision at `now` (None: none sent)."""
        limiter = self._limiter
        if limiter is None or self._fields == "none":
            return None
        return advertise(limiter.quota(now), self._fields)

    def _decider(self) -> Decide:
        """Build `decide` with this server's constants bound, once: it runs once per simulated
        attempt, so it reads closure cells rather than attributes (the spec is frozen).

        The draws (latency, faults, limiter, outcome, in that order) are `handle`'s, which
        wraps it. Retry-After is the server's hint per its mode (None for mode "none"); with
        `raw`, a 429 carries the limiter's exact wait instead, whatever the mode.
        """
        spec, hint, active_fault = self.spec, self._hint, self.active_fault
        latency_random = self._latency.random if spec.latency.jitter > 0 else None
        mean, jitter = spec.latency.mean, spec.latency.jitter
        low, high = mean - jitter, mean + jitter
        span = high - low  # random.uniform(low, high), term for term
        has_faults, slow_kind = bool(spec.faults), Fault.SLOW
        refusal = None if self._limiter is None else self._limiter.refusal
        drifting = spec.error_rate_at if spec.error_drift is not None else None
        error_rate, error_status = spec.error_rate, spec.error_status
        outcome_random = self._outcomes.random

        def decide(now: float, raw: bool = False) -> Decision:
            latency = mean
            if latency_random is not None:
                latency = low + span * latency_random()
                if not latency > 0.0:  # max(0.0, latency)
                    latency = 0.0
            slow = None
            if has_faults and (fault := active_fault(now)) is not None:
                kind = Fault(fault.kind)
                if kind is not slow_kind:
                    return None, latency, None, kind
                latency += fault.delay
                slow = slow_kind
            if refusal is not None and (wait := refusal(now)) is not None:
                if raw:
                    return 429, latency, wait, slow
                return 429, latency, None if hint is None else hint(wait, now), slow
            rate = error_rate if drifting is None else drifting(now)
            if outcome_random() >= rate:
                return 200, latency, None, slow
            return error_status, latency, None, slow

        return decide

    def capacity(self, now: float) -> float:
        """Sustained admitted requests per second at `now` (inf when unlimited)."""
        return float("inf") if self._limiter is None else self._limiter.capacity(now)
