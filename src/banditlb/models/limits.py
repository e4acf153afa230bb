"""Rate-limit models. Each is told the time; each can say when it will next admit.

A limiter's `admit(now)` consumes capacity when it admits. `refusal(now)` is the same decision
as a plain value, None when admitted or the seconds until one would be: the simulator's hot path
calls it once per attempt, so no `Admission` is built. `capacity(now)` is its sustained rate in
requests per second at `now`, which the oracle uses as the LP's bound. `quota(now)` is its state
as a server would advertise it (RateLimit fields), asked after the decision at the same `now`; it
never changes the limiter's state. The rule every kind follows: `remaining` = whole requests it
would admit now, back to back; `reset` = seconds until the next one would be admitted when
`remaining` is 0, otherwise seconds until the quota is whole again (window end, bucket full).

The fixed and time-varying kinds are here; sliding windows, GCRA, concurrency and buckets with a
time-varying refill rate live in `sliding.py`, `pacing.py` and `varying_bucket.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from banditlb.game.outcome import Quota

INFINITE = math.inf
_floor = math.floor


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a request got through, and if not, how long until one would."""

    ok: bool
    retry_after: float = 0.0


ADMITTED = Admission(True)


class RateLimiter(Protocol):
    """A stateful limiter driven by the caller's clock."""

    def admit(self, now: float) -> Admission: ...

    def refusal(self, now: float) -> float | None: ...

    def capacity(self, now: float) -> float: ...

    def quota(self, now: float) -> Quota | None: ...


class FixedWindow:
    """At most `limit` requests in each window [offset + k*window, offset + (k+1)*window)."""

    def __init__(self, limit: int, window: float = 1.0, offset: float = 0.0) -> None:
        self.limit = limit
        self.window = window
        self.offset = offset
        self._index = -1
        self._used = 0

    def _window_end(self, index: int) -> float:
        return self.offset + (index + 1) * self.window

    def admit(self, now: float) -> Admission:
        wait = self.refusal(now)
        return ADMITTED if wait is None else Admission(False, wait)

    def refusal(self, now: float) -> float | None:
        index = _floor((now - self.offset) / self.window)
        if index != self._index:
            self._index, self._used = index, 0
        if self._used < self.limit:
            self._used += 1
            return None
        return self._window_end(index) - now

    def capacity(self, now: float) -> float:
        return self.limit / self.window

    def quota(self, now: float) -> Quota:
        index = _floor((now - self.offset) / self.window)
        used = self._used if index == self._index else 0
        return Quota(
            max(0, self.limit - used), self._window_end(index) - now, self.limit, self.window
        )


class TokenBucket:
    """Refills `rate` tokens per second up to `burst`; starts full; each request takes one."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last: float | None = None

    def admit(self, now: float) -> Admission:
        wait = self.refusal(now)
        return ADMITTED if wait is None else Admission(False, wait)

    def refusal(self, now: float) -> float | None:
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self.rate if self.rate > 0 else INFINITE

    def capacity(self, now: float) -> float:
        return self.rate

    def quota(self, now: float) -> Quota:
        """limit = burst, remaining = whole tokens, window = the time to refill from empty."""
        tokens = self._tokens
        if self._last is not None:
            tokens = min(self.burst, tokens + (now - self._last) * self.rate)
        need = 1.0 - tokens if tokens < 1.0 else self.burst - tokens
        return Quota(
            max(0, _floor(tokens)), need / self.rate, _floor(self.burst), self.burst / self.rate
        )


class VaryingWindow:
    """A fixed window whose limit follows a sinusoid.

    limit(t) = round(base + amplitude * sin(2π t / period + phase)), fixed at each window start.
    """

    def __init__(
        self, base: float, amplitude: float, period: float, phase: float = 0.0, window: float = 1.0
    ) -> None:
        self.base = base
        self.amplitude = amplitude
        self.period = period
        self.phase = phase
        self.window = window
        self._index = -1
        self._used = 0
        self._limit = 0

    def limit_at(self, now: float) -> int:
        """The whole-request limit of the window that contains `now` (set at the window's start)."""
        start = math.floor(now / self.window) * self.window
        value = self.base + self.amplitude * math.sin(
            2 * math.pi * start / self.period + self.phase
        )
        return max(0, round(value))

    def admit(self, now: float) -> Admission:
        wait = self.refusal(now)
        return ADMITTED if wait is None else Admission(False, wait)

    def refusal(self, now: float) -> float | None:
        index = _floor(now / self.window)
        if index != self._index:
            self._index, self._used, self._limit = index, 0, self.limit_at(now)
        if self._used < self._limit:
            self._used += 1
            return None
        return (index + 1) * self.window - now

    def capacity(self, now: float) -> float:
        return self.limit_at(now) / self.window

    def quota(self, now: float) -> Quota:
        index = _floor(now / self.window)
        limit = self._limit if index == self._index else self.limit_at(now)
        used = self._used if index == self._index else 0
        return Quota(max(0, limit - used), (index + 1) * self.window - now, limit, self.window)


class PeriodicOutage:
    """Refuses everything for `duration` seconds of every `period`, starting at `offset`."""

    def __init__(self, period: float, duration: float, offset: float = 0.0) -> None:
        self.period = period
        self.duration = duration
        self.offset = offset

    def _into_period(self, now: float) -> float:
        return (now - self.offset) % self.period

    def in_outage(self, now: float) -> bool:
        return now >= self.offset and self._into_period(now) < self.duration

    def admit(self, now: float) -> Admission:
        wait = self.refusal(now)
        return ADMITTED if wait is None else Admission(False, wait)

    def refusal(self, now: float) -> float | None:
        if now >= self.offset:  # in_outage, inlined
            into = (now - self.offset) % self.period
            if into < self.duration:
                return self.duration - into
        return None

    def capacity(self, now: float) -> float:
        return 0.0 if self.in_outage(now) else INFINITE

    def quota(self, now: float) -> Quota | None:
        """Nothing left until the outage ends; outside an outage it limits nothing (None)."""
        wait = self.refusal(now)
        return None if wait is None else Quota(0, wait)


class StepChange:
    """One limiter before `at` seconds, another from then on (None means unlimited)."""

    def __init__(self, at: float, before: RateLimiter | None, after: RateLimiter | None) -> None:
        self.at = at
        self.before = before
        self.after = after

    def _current(self, now: float) -> RateLimiter | None:
        return self.before if now < self.at else self.after

    def admit(self, now: float) -> Admission:
        current = self._current(now)
        return ADMITTED if current is None else current.admit(now)

    def refusal(self, now: float) -> float | None:
        current = self.before if now < self.at else self.after
        return None if current is None else current.refusal(now)

    def capacity(self, now: float) -> float:
        current = self._current(now)
        return INFINITE if current is None else current.capacity(now)

    def quota(self, now: float) -> Quota | None:
        current = self._current(now)
        return None if current is None else current.quota(now)


class AllOf:
    """Admits only when every part admits; checks in order and stops at the first refusal.

    Parts checked before a refusal keep the capacity they gave, as stacked real limiters do.
    """

    def __init__(self, parts: list[RateLimiter]) -> None:
        self.parts = parts

    def admit(self, now: float) -> Admission:
        wait = self.refusal(now)
        return ADMITTED if wait is None else Admission(False, wait)

    def refusal(self, now: float) -> float | None:
        for part in self.parts:
            wait = part.refusal(now)
            if wait is not None:
                return wait
        return None

    def capacity(self, now: float) -> float:
        return min((part.capacity(now) for part in self.parts), default=INFINITE)

    def quota(self, now: float) -> Quota | None:
        """The most restrictive part's: fewest remaining, then the longest reset."""
        quotas = [q for part in self.parts if (q := part.quota(now)) is not None]
        return min(quotas, key=lambda q: (q.remaining, -q.reset), default=None)
