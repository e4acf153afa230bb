"""Sliding-window limiters: the exact log, and the counter that approximates it.

Both follow the `RateLimiter` protocol of `limits.py` (refusal, admit, capacity, quota).
"""

from __future__ import annotations

import math
from collections import deque

from banditlb.game.outcome import Quota
from banditlb.models.limits import ADMITTED, Admission

_PAST = 1e-6  # seconds past the instant the counter's estimate reaches its limit


class SlidingLog:
    """At most `limit` admitted requests in any `window` seconds: a log of admission times.

    A request at `now` is admitted when fewer than `limit` admissions lie in (now - window, now].
    When refused, the wait is until the oldest of them leaves the window.
    """

    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit = limit
        self.window = window
        self._log: deque[float] = deque()

    def _expire(self, now: float) -> None:
        log, edge = self._log, now - self.window
        while log and log[0] <= edge:
            log.popleft()

    def admit(self, now: float) -> Admission:
        wait = self.refusal(now)
        return ADMITTED if wait is None else Admission(False, wait)

    def refusal(self, now: float) -> float | None:
        self._expire(now)
        log = self._log
        if len(log) < self.limit:
            log.append(now)
            return None
        return log[-self.limit] + self.window - now

    def capacity(self, now: float) -> float:
        return self.limit / self.window

    def quota(self, now: float) -> Quota:
        """reset: until the oldest admission leaves when full, else until the newest does."""
        edge = now - self.window
        live = [t for t in self._log if t > edge]
        remaining = max(0, self.limit - len(live))
        if not live:
            reset = 0.0
        elif remaining == 0:
            reset = live[-self.limit] + self.window - now
        else:
            reset = live[-1] + self.window - now
        return Quota(remaining, reset, self.limit, self.window)


class SlidingCounter:
    """The sliding-window counter: fixed windows, the previous one's count weighted by overlap.

    At `now`, a fraction f of the current window [k·window, (k+1)·window) has passed; the
    estimate is previous·(1 − f) + current, and a request is admitted while the estimate is
    below `limit` (Cloudflare's rule, and the common one). Never more than `limit` in one
    window; sending late in each window gets `limit / window` through, its sustained rate.
    (An earlier version admitted only while estimate + 1 <= limit: a limit of 1 then took
    one request every *other* window, half of the capacity it claimed.)
    """

    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit = limit
        self.window = window
        self._index = 0
        self._current = 0
        self._previous = 0

    def _counts(self, now: float) -> tuple[int, int, int, float]:
        """(window index, previous count, current count, fraction passed) at `now`."""
        index = math.floor(now / self.window)
        fraction = now / self.window - index
        if index == self._index:
            return index, self._previous, self._current, fraction
        previous = self._current if index == self._index + 1 else 0
        return index, previous, 0, fraction

    def _wait(self, index: int, previous: int, current: int) -> float:
        """Seconds from the window start until a request fits, in this window or the next
        (just past the moment the estimate equals the limit: it must fall below it)."""
        if current < self.limit:
            if previous == 0:
                return 0.0
            needed = 1.0 - (self.limit - current) / previous
            return needed * self.window + _PAST if needed >= 0.0 else 0.0
        # Not in this window: in the next, `current` becomes the weighted previous one.
        needed = 1.0 - self.limit / current
        return self.window + (needed * self.window + _PAST if needed >= 0.0 else 0.0)

    def admit(self, now: float) -> Admission:
        wait = self.refusal(now)
        return ADMITTED if wait is None else Admission(False, wait)

    def refusal(self, now: float) -> float | None:
        index, previous, current, fraction = self._counts(now)
        self._index, self._previous, self._current = index, previous, current
        if previous * (1.0 - fraction) + current < self.limit:
            self._current = current + 1
            return None
        start = index * self.window
        return max(start + self._wait(index, previous, current) - now, 1e-9)

    def capacity(self, now: float) -> float:
        return self.limit / self.window

    def quota(self, now: float) -> Quota:
        """remaining = the requests that fit now (each while the estimate is below the limit);
        reset = the wait when 0, else the window's end."""
        index, previous, current, fraction = self._counts(now)
        estimate = previous * (1.0 - fraction) + current
        remaining = max(0, math.ceil(self.limit - estimate - 1e-9))
        start = index * self.window
        if remaining == 0:
            reset = max(start + self._wait(index, previous, current) - now, 0.0)
        else:
            reset = start + self.window - now
        return Quota(remaining, reset, self.limit, self.window)
