"""One downstream server as a pure model: faults, then rate limit, then error rate.

The fleet serves these over HTTP; the simulator calls them directly on a virtual clock.
Both get the same answers for the same seed and the same sequence of calls.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

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


class ServerModel:
    """A server's behaviour over time, driven by the caller's clock and a seeded RNG."""

    def __init__(self, spec: ServerSpec, seed: int) -> None:
        self.spec = spec
        self.limiter: RateLimiter | None = spec.build_limiter()
        self._outcomes = random.Random(f"{seed}/{spec.name}/outcome")
        self._latency = random.Random(f"{seed}/{spec.name}/latency")
        self._faults = random.Random(f"{seed}/{spec.name}/fault")

    @property
    def name(self) -> str:
        return self.spec.name

    def _draw_latency(self) -> float:
        lat = self.spec.latency
        if lat.jitter <= 0:
            return lat.mean
        return max(0.0, self._latency.uniform(lat.mean - lat.jitter, lat.mean + lat.jitter))

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
        latency = self._draw_latency()
        fault = self.active_fault(now)
        if fault is not None:
            kind = Fault(fault.kind)
            if kind is not Fault.SLOW:
                return Reply(None, latency, fault=kind)
            latency += fault.delay
        if self.limiter is not None:
            verdict = self.limiter.admit(now)
            if not verdict.ok:
                hint = round(verdict.retry_after, 3) if self.spec.retry_after else None
                return Reply(429, latency, hint, fault=Fault.SLOW if fault else None)
        ok = self._outcomes.random() >= self.spec.error_rate
        return Reply(
            200 if ok else self.spec.error_status, latency, fault=Fault.SLOW if fault else None
        )

    def capacity(self, now: float) -> float:
        """Sustained admitted requests per second at `now` (inf when unlimited)."""
        return float("inf") if self.limiter is None else self.limiter.capacity(now)
