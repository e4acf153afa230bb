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
from typing import NamedTuple

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


class DecideParts(NamedTuple):
    """What `ServerModel.decide` does for a server without faults, as plain parts to inline.

    For a caller that runs `decide` in its own loop (the simulator): latency is `mean` when
    `latency_random` is None, else `max(0.0, low + span * latency_random())`; then, if `refusal`
    is given and returns a wait, a 429 (with `hint(wait, now)` as Retry-After when `hint`);
    otherwise 200 when `outcome_random() >= error_rate`, else `error_status`. The callables are
    the model's own RNG streams and limiter, so the draws and the limiter's state are shared.
    """

    latency_random: Callable[[], float] | None
    mean: float
    low: float
    span: float
    refusal: Callable[[float], float | None] | None
    outcome_random: Callable[[], float]
    error_rate: float
    error_status: int
    hint: Hint | None


class ServerModel:
    """A server's behaviour over time, driven by the caller's clock and a seeded RNG."""

    def __init__(self, spec: ServerSpec, seed: int) -> None:
        self.spec = spec
        self.limiter: RateLimiter | None = spec.build_limiter()
        self._outcomes = random.Random(f"{seed}/{spec.name}/outcome")
        self._latency = random.Random(f"{seed}/{spec.name}/latency")
        self._faults = random.Random(f"{seed}/{spec.name}/fault")
        # Hot-path constants (the spec is frozen): `decide` runs once per simulated attempt.
        lat = spec.latency
        self._mean = lat.mean
        self._jittered = lat.jitter > 0
        low, high = lat.mean - lat.jitter, lat.mean + lat.jitter
        self._low, self._span = low, high - low  # random.uniform(low, high), term for term
        self._error_rate = spec.error_rate
        self._drifts = spec.error_drift is not None
        self._error_status = spec.error_status
        self._hint = HINTS[spec.retry_after]
        self._fields = spec.rate_limit_headers
        self.advertises = self.limiter is not None and self._fields != "none"
        """Whether answers carry rate-limit fields (then ask `advertised(now)` after `decide`)."""

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
        limiter = self.limiter
        if limiter is None or self._fields == "none":
            return None
        return advertise(limiter.quota(now), self._fields)

    def decide(
        self, now: float, raw: bool = False
    ) -> tuple[int | None, float, float | None, Fault | None]:
        """`handle`'s answer as a plain (status, latency, retry_after, fault) tuple.

        The simulator calls this once per attempt, so no `Reply` is built; the draws (latency,
        faults, limiter, outcome, in that order) are `handle`'s, which wraps this. Retry-After
        is the server's hint per its mode (None for mode "none"); with `raw`, a 429 carries the
        limiter's exact wait instead, whatever the mode.
        """
        if self._jittered:
            latency = max(0.0, self._low + self._span * self._latency.random())
        else:
            latency = self._mean
        slow = None
        if self.spec.faults:
            fault = self.active_fault(now)
            if fault is not None:
                kind = Fault(fault.kind)
                if kind is not Fault.SLOW:
                    return None, latency, None, kind
                latency += fault.delay
                slow = Fault.SLOW
        limiter = self.limiter
        if limiter is not None:
            wait = limiter.refusal(now)
            if wait is not None:
                if raw:
                    return 429, latency, wait, slow
                hint = self._hint
                return 429, latency, None if hint is None else hint(wait, now), slow
        error_rate = self.spec.error_rate_at(now) if self._drifts else self._error_rate
        if self._outcomes.random() >= error_rate:
            return 200, latency, None, slow
        return self._error_status, latency, None, slow

    def inline_parts(self) -> DecideParts | None:
        """`decide` as parts a hot loop can inline, or None when the server has faults, sends
        rate-limit fields (its answers need `advertised(now)`, which the general path asks) or
        has a drifting error rate."""
        if self.spec.faults or self.advertises or self._drifts:
            return None
        return DecideParts(
            self._latency.random if self._jittered else None,
            self._mean,
            self._low,
            self._span,
            None if self.limiter is None else self.limiter.refusal,
            self._outcomes.random,
            self._error_rate,
            self._error_status,
            self._hint,
        )

    def capacity(self, now: float) -> float:
        """Sustained admitted requests per second at `now` (inf when unlimited)."""
        return float("inf") if self.limiter is None else self.limiter.capacity(now)
