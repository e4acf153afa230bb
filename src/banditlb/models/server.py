"""One downstream server as a pure model: faults, then rate limit, then error rate.

The fleet serves these over HTTP; the simulator calls them directly on a virtual clock.
Both get the same answers for the same seed and the same sequence of calls.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from banditlb.models.limits import RateLimiter
from banditlb.models.spec import FaultSpec, ServerSpec


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

    @property
    def counted(self) -> bool:
        return self.fault not in (Fault.REFUSED, Fault.FLAP)


class DecideParts(NamedTuple):
    """What `ServerModel.decide` does for a server without faults, as plain parts to inline.

    For a caller that runs `decide` in its own loop (the simulator): latency is `mean` when
    `latency_random` is None, else `max(0.0, low + span * latency_random())`; then, if `refusal`
    is given and returns a wait, a 429 (with `round(wait, 3)` as Retry-After when `hint`);
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
    hint: bool


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
        self._error_status = spec.error_status
        self._hint = spec.retry_after

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
        return Reply(*self.decide(now))

    def decide(self, now: float) -> tuple[int | None, float, float | None, Fault | None]:
        """`handle`'s answer as a plain (status, latency, retry_after, fault) tuple.

        The simulator calls this once per attempt, so no `Reply` is built; the draws (latency,
        faults, limiter, outcome, in that order) are `handle`'s, which wraps this.
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
                return 429, latency, round(wait, 3) if self._hint else None, slow
        if self._outcomes.random() >= self._error_rate:
            return 200, latency, None, slow
        return self._error_status, latency, None, slow

    def inline_parts(self) -> DecideParts | None:
        """`decide` as parts a hot loop can inline, or None when the server has faults."""
        if self.spec.faults:
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
