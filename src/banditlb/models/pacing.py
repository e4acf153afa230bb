"""Limiters that pace requests rather than count them per window: GCRA and a concurrency cap.

Both follow the `RateLimiter` protocol of `limits.py` (refusal, admit, capacity, quota).
"""

from __future__ import annotations

import heapq
import math

from banditlb.game.outcome import Quota
from banditlb.models.limits import ADMITTED, Admission


class GCRA:
    """The generic cell rate algorithm (a leaky bucket as a meter), as in ATM and redis-cell.

    One request per `interval` seconds is sustained; `tolerance` seconds of slack let up to
    floor(tolerance / interval) + 1 requests through back to back. State is the theoretical
    arrival time `tat`: a request at `now` is admitted when tat − tolerance <= now, and then
    tat = max(tat, now) + interval.
    """

    def __init__(self, interval: float, tolerance: float = 0.0) -> None:
        self.interval = interval
        self.tolerance = tolerance
        self._tat = -math.inf

    @property
    def burst(self) -> int:
        """Requests admitted back to back from idle."""
        return math.floor(self.tolerance / self.interval + 1e-9) + 1

    def admit(self, now: float) -> Admission:
        wait = self.refusal(now)
        return ADMITTED if wait is None else Admission(False, wait)

    def refusal(self, now: float) -> float | None:
        tat = max(self._tat, now)
        earliest = tat - self.tolerance
        if earliest <= now + 1e-12:
            self._tat = tat + self.interval
            return None
        return earliest - now

    def capacity(self, now: float) -> float:
        return 1.0 / self.interval

    def quota(self, now: float) -> Quota:
        """limit = the burst, window = burst × interval; remaining from the slack left."""
        tat = max(self._tat, now)
        slack = now + self.tolerance - tat
        limit = self.burst
        if slack < -1e-12:
            return Quota(0, -slack, limit, limit * self.interval)
        remaining = min(limit, math.floor(slack / self.interval + 1e-9) + 1)
        return Quota(remaining, tat - now, limit, limit * self.interval)


class Concurrency:
    """At most `limit` requests in flight; each admitted request holds its slot `hold` seconds.

    The hold is fixed when the limiter is built (the server's mean latency unless the scenario
    gives `hold`), so the model stays a pure function of arrival times: the latency jitter of a
    single answer does not move the moment its slot frees. Sustained rate: limit / hold.
    """

    def __init__(self, limit: int, hold: float) -> None:
        self.limit = limit
        self.hold = hold
        self._releases: list[float] = []  # a heap of the slots' release times

    def _release(self, now: float) -> None:
        releases = self._releases
        while releases and releases[0] <= now:
            heapq.heappop(releases)

    def admit(self, now: float) -> Admission:
        wait = self.refusal(now)
        return ADMITTED if wait is None else Admission(False, wait)

    def refusal(self, now: float) -> float | None:
        self._release(now)
        releases = self._releases
        if len(releases) < self.limit:
            heapq.heappush(releases, now + self.hold)
            return None
        return releases[0] - now

    def capacity(self, now: float) -> float:
        return self.limit / self.hold

    def quota(self, now: float) -> Quota:
        """No window: remaining = free slots; reset = the next release when full, else the last."""
        busy = [t for t in self._releases if t > now]
        remaining = self.limit - len(busy)
        if not busy:
            return Quota(remaining, 0.0, self.limit)
        return Quota(remaining, (min(busy) if remaining == 0 else max(busy)) - now, self.limit)
