"""Live, fixed-size aggregates of what the balancer did; O(1) per attempt and per request.

Read by `/api/state`, the dashboard and `/metrics`. Nothing here grows with traffic: counters,
a per-arm table, a fixed-bucket latency histogram and a ring of the last `WINDOW_S` seconds.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from banditlb.game.outcome import OutcomeKind

WINDOW_S = 600
# Geometric bucket upper bounds from 0.5 ms to ~60 s (ratio 1.25), then +inf.
LATENCY_BOUNDS: tuple[float, ...] = (
    *(0.0005 * 1.25**i for i in range(53)),
    math.inf,
)
_KINDS = tuple(OutcomeKind)


class Result(StrEnum):
    """A client request's final result."""

    DELIVERED = "delivered"  # accepted downstream (200)
    FAILED = "failed"  # attempts made, none accepted (502)
    UNAVAILABLE = "unavailable"  # no attempt could be made (503)


class LatencyHistogram:
    """Counts per fixed bucket; quantiles interpolate linearly inside a bucket."""

    def __init__(self, bounds: Sequence[float] = LATENCY_BOUNDS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * len(self.bounds)
        self.count = 0
        self.total = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.count += 1
        self.total += seconds

    def quantile(self, q: float) -> float | None:
        """Estimated `q`-quantile in seconds, or None before the first sample."""
        if self.count == 0:
            return None
        rank = q * self.count
        seen = 0
        for i, n in enumerate(self.counts):
            if n and seen + n >= rank:
                low = self.bounds[i - 1] if i else 0.0
                high = self.bounds[i] if math.isfinite(self.bounds[i]) else low
                return low + (high - low) * max(0.0, rank - seen) / n
            seen += n
        return self.bounds[-2]

    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def to_dict(self) -> dict[str, Any]:
        """Finite bucket upper bounds and their counts, plus the overflow bucket's count."""
        finite = [b for b in self.bounds if math.isfinite(b)]
        return {
            "bounds_s": finite,
            "counts": self.counts[: len(finite)],
            "overflow": sum(self.counts[len(finite) :]),
        }


class SecondRing:
    """Requests and deliveries per whole second over the last `size` seconds."""

    def __init__(self, size: int = WINDOW_S) -> None:
        self.size = size
        self._second = [-1] * size
        self.requests = [0] * size
        self.delivered = [0] * size

    def _slot(self, second: int) -> int:
        slot = second % self.size
        if self._second[slot] != second:
            self._second[slot] = second
            self.requests[slot] = 0
            self.delivered[slot] = 0
        return slot

    def add(self, now: float, delivered: bool) -> None:
        slot = self._slot(int(now))
        self.requests[slot] += 1
        self.delivered[slot] += int(delivered)

    def series(self, now: float, seconds: int) -> dict[str, Any]:
        """The last `seconds` whole seconds up to and including `now`, oldest first."""
        end = int(now)
        span = max(1, min(seconds, self.size))
        requests, delivered = [], []
        for second in range(end - span + 1, end + 1):
            slot = second % self.size
            fresh = second >= 0 and self._second[slot] == second
            requests.append(self.requests[slot] if fresh else 0)
            delivered.append(self.delivered[slot] if fresh else 0)
        return {"end": end, "requests": requests, "delivered": delivered}


class LiveStats:
    """The balancer's running totals; `to_dict(now)` is the shape readers rely on."""

    def __init__(self, servers: Sequence[str], free_attempts: int = 3) -> None:
        self.servers = list(servers)
        self.free_attempts = free_attempts
        self.results = dict.fromkeys(Result, 0)
        self.rejected = 0  # refused before routing (bad id or body, overload): no attempt
        self.attempts = 0
        self.penalised_attempts = 0
        self.holds = 0  # waits a pacing strategy asked for before an attempt
        self.held_s = 0.0
        self.arm_kinds = [dict.fromkeys(_KINDS, 0) for _ in self.servers]
        self.latency = LatencyHistogram()
        self.attempt_latency = [LatencyHistogram() for _ in self.servers]
        self.ring = SecondRing()

    @property
    def requests(self) -> int:
        return sum(self.results.values())

    def attempt(
        self, arm: int, kind: OutcomeKind, attempt: int, latency_s: float | None = None
    ) -> None:
        """Count one downstream attempt (1-based `attempt` within its request)."""
        self.attempts += 1
        self.arm_kinds[arm][kind] += 1
        if latency_s is not None:
            self.attempt_latency[arm].add(latency_s)
        if attempt > self.free_attempts:
            self.penalised_attempts += 1

    def hold(self, seconds: float) -> None:
        """Count one wait before an attempt (a pacing strategy holding for a server's room)."""
        self.holds += 1
        self.held_s += seconds

    def request(self, result: Result, latency_s: float, now: float) -> None:
        """Count one finished client request."""
        self.results[result] += 1
        self.latency.add(latency_s)
        self.ring.add(now, result is Result.DELIVERED)

    def reject(self) -> None:
        self.rejected += 1

    def to_dict(self, now: float, seconds: int = 60) -> dict[str, Any]:
        """Plain JSON-able data; `per_second` covers the last `seconds` (<= 600)."""
        return {
            "requests": self.requests,
            "delivered": self.results[Result.DELIVERED],
            "failed": self.results[Result.FAILED],
            "unavailable": self.results[Result.UNAVAILABLE],
            "rejected": self.rejected,
            "attempts": self.attempts,
            "penalised_attempts": self.penalised_attempts,
            "holds": self.holds,
            "held_s": self.held_s,
            "latency": {
                "count": self.latency.count,
                "mean_s": self.latency.mean(),
                "p50_s": self.latency.quantile(0.5),
                "p99_s": self.latency.quantile(0.99),
                "histogram": self.latency.to_dict(),
            },
            "arms": [
                {"arm": arm, "server": name, **{k.value: v for k, v in kinds.items()}}
                for arm, (name, kinds) in enumerate(zip(self.servers, self.arm_kinds, strict=True))
            ],
            "per_second": self.ring.series(now, seconds),
        }
