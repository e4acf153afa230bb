"""What one downstream attempt came to; a 429 is an outcome of its own, not a failure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeKind(StrEnum):
    """The five things an attempt can come to."""

    ACCEPTED = "accepted"
    FAILED = "failed"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"


@dataclass(frozen=True, slots=True)
class Quota:
    """What a server advertised about its rate limit with one answer.

    Read from the RateLimit / RateLimit-Policy or X-RateLimit-* fields (balancer/downstream.py);
    the simulator hands strategies the very values the fleet would send.
    """

    remaining: int  # requests left in the current window (after this one)
    reset: float  # seconds until the quota resets / the next unit frees up
    limit: int | None = None  # requests per window, when advertised
    window: float | None = None  # window length in seconds, when advertised (RateLimit-Policy w)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result as strategies see it.

    `retry_after` is the server's `Retry-After` in seconds when it gave one; `latency` is
    the attempt's duration in seconds; `status` is the HTTP status when there was one;
    `quota` is what the server advertised about its rate limit with this answer (RateLimit or
    X-RateLimit fields, on 200, 5xx and 429 alike), None when it advertised nothing.
    """

    kind: OutcomeKind
    status: int | None = None
    retry_after: float | None = None
    latency: float = 0.0
    quota: Quota | None = None

    @property
    def accepted(self) -> bool:
        return self.kind is OutcomeKind.ACCEPTED

    @property
    def rate_limited(self) -> bool:
        return self.kind is OutcomeKind.RATE_LIMITED


def outcome_for_status(
    status: int,
    retry_after: float | None = None,
    latency: float = 0.0,
    *,
    quota: Quota | None = None,
) -> Outcome:
    """Map an HTTP status to an outcome: 200 accepted, 429 rate limited, anything else failed."""
    if status == 200:
        return Outcome(OutcomeKind.ACCEPTED, status, None, latency, quota)
    if status == 429:
        return Outcome(OutcomeKind.RATE_LIMITED, status, retry_after, latency, quota)
    return Outcome(OutcomeKind.FAILED, status, None, latency, quota)
