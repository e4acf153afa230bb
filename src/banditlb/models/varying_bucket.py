"""Token buckets whose refill rate changes over time: a sinusoid, or piecewise-constant steps.

The independent referee fleet (`../shared/referee`) limits its T3 servers this way. Tokens are
the exact integral of the rate (closed forms, no numerical steps); the wait for the next token
is found by bisection on that integral. Both follow the `RateLimiter` protocol of `limits.py`.
"""

from __future__ import annotations

import bisect
import math

from banditlb.game.outcome import Quota
from banditlb.models.limits import ADMITTED, Admission

_TAU = 2.0 * math.pi
_HORIZON = 1e6  # seconds: a bucket that gets no token within this never admits again


class _VaryingBucket:
    """Starts full with `burst` tokens; refills at `rate_at(t)`; each request takes one."""

    def __init__(self, burst: float) -> None:
        self.burst = burst
        self._tokens = burst
        self._last = 0.0
        # When the next whole token arrives, once a refusal has worked it out; the refill is
        # deterministic, so it holds until the next admission (a flood costs one bisection).
        self._next_at: float | None = None

    def rate_at(self, now: float) -> float:
        raise NotImplementedError

    def integral(self, start: float, end: float) -> float:
        """Tokens the rate brings between `start` and `end` (ignoring the burst cap)."""
        raise NotImplementedError

    def _tokens_at(self, now: float) -> float:
        if now <= self._last:
            return self._tokens
        return min(self.burst, self._tokens + self.integral(self._last, now))

    def _time_to(self, now: float, need: float) -> float:
        """Seconds from `now` until the rate has brought `need` more tokens.

        Brackets the answer by doubling, then Newton steps on the integral (its derivative is
        the rate), falling back to bisection where a step leaves the bracket or the rate is 0.
        """
        if need <= 0:
            return 0.0
        integral, rate_at = self.integral, self.rate_at
        low, high = 0.0, 1.0
        while integral(now, now + high) < need:
            low, high = high, high * 2.0
            if high > _HORIZON:
                return math.inf
        wait = high
        for _ in range(100):
            gap = integral(now, now + wait) - need
            if gap >= 0.0:
                high = wait
                if gap <= 1e-12:
                    return wait
            else:
                low = wait
            rate = rate_at(now + wait)
            step = wait - gap / rate if rate > 0.0 else -1.0
            wait = step if low < step < high else (low + high) / 2.0
            if high - low <= 1e-12:
                break
        return high

    def admit(self, now: float) -> Admission:
        wait = self.refusal(now)
        return ADMITTED if wait is None else Admission(False, wait)

    def refusal(self, now: float) -> float | None:
        tokens = self._tokens_at(now)
        self._tokens, self._last = tokens, max(now, self._last)
        if tokens >= 1.0 - 1e-9:
            self._tokens = tokens - 1.0
            self._next_at = None
            return None
        return self._until_token(now, tokens)

    def _until_token(self, now: float, tokens: float, remember: bool = True) -> float:
        """Seconds from `now` to the next whole token (the bucket holding `tokens` < 1)."""
        next_at = self._next_at
        if next_at is None or next_at <= now:
            next_at = now + min(self._time_to(now, 1.0 - tokens), _HORIZON)
            if remember:  # `quota` only reads: what it asks never changes a later decision
                self._next_at = next_at
        return next_at - now

    def capacity(self, now: float) -> float:
        """The refill rate at `now` (the oracle averages it over 1 s slices)."""
        return self.rate_at(now)

    def quota(self, now: float) -> Quota:
        """As `TokenBucket.quota`, window = the time to refill from empty at the current rate."""
        tokens = self._tokens_at(now)
        if tokens < 1.0 - 1e-9:
            reset = self._until_token(now, tokens, remember=False)
        else:
            reset = min(self._time_to(now, self.burst - tokens), _HORIZON)
        rate = self.rate_at(now)
        window = self.burst / rate if rate > 0 else None
        return Quota(max(0, math.floor(tokens + 1e-9)), reset, math.floor(self.burst), window)


class SinusoidBucket(_VaryingBucket):
    """Refill rate max(0, base + amplitude · sin(2π t / period + phase)) tokens per second."""

    def __init__(
        self, base: float, amplitude: float, period: float, phase: float = 0.0, burst: float = 1.0
    ) -> None:
        super().__init__(burst)
        self.base = base
        self.amplitude = amplitude
        self.period = period
        self.phase = phase
        # sin(x) with a negative amplitude is sin(x + π) with a positive one
        self._shift = phase + math.pi if amplitude < 0 else phase
        b, a = base, abs(amplitude)
        self._clips = a > 0.0 and -a < b < a
        self._arcs: tuple[tuple[float, float], ...] = ()
        if self._clips:  # b + a·sin x > 0 where sin x > −b/a: per turn, these arcs
            alpha = math.asin(b / a)
            self._arcs = (
                ((0.0, math.pi + alpha), (_TAU - alpha, _TAU))
                if b >= 0
                else ((-alpha, math.pi + alpha),)
            )
            self._per_turn = self._turn(_TAU)

    def rate_at(self, now: float) -> float:
        return max(
            0.0, self.base + self.amplitude * math.sin(_TAU * now / self.period + self.phase)
        )

    def _h(self, x: float) -> float:
        return self.base * x - abs(self.amplitude) * math.cos(x)

    def _turn(self, x: float) -> float:
        """∫₀^x of the clipped rate in θ, for x in [0, 2π]."""
        h = self._h
        return sum(h(min(max(x, low), high)) - h(low) for low, high in self._arcs)

    def _clipped(self, theta: float) -> float:
        """∫₀^θ max(0, base + |amplitude| · sin x) dx, in closed form."""
        b, a = self.base, abs(self.amplitude)
        if not self._clips:
            if b <= -a:  # always zero
                return 0.0
            return b * theta - a * (math.cos(theta) - 1.0)  # never clipped
        turns = math.floor(theta / _TAU)
        return turns * self._per_turn + self._turn(theta - turns * _TAU)

    def integral(self, start: float, end: float) -> float:
        scale = self.period / _TAU
        shift = self._shift
        return scale * (
            self._clipped(_TAU * end / self.period + shift)
            - self._clipped(_TAU * start / self.period + shift)
        )


class PiecewiseBucket(_VaryingBucket):
    """Refill rate constant between change points: `segments` = ((start, rate), ...) from 0 on.

    With `period`, the schedule repeats every `period` seconds.
    """

    def __init__(
        self,
        segments: tuple[tuple[float, float], ...],
        burst: float = 1.0,
        period: float | None = None,
    ) -> None:
        super().__init__(burst)
        self.segments = tuple(sorted(segments))
        self.period = period
        self._starts = [start for start, _ in self.segments]
        # Tokens brought from 0 to each change point.
        self._before = [0.0]
        for (start, rate), (following, _) in zip(self.segments, self.segments[1:], strict=False):
            self._before.append(self._before[-1] + rate * (following - start))
        end = period if period is not None else math.inf
        last_start, last_rate = self.segments[-1]
        self._per_period = self._before[-1] + last_rate * (end - last_start)

    def rate_at(self, now: float) -> float:
        if self.period is not None:
            now %= self.period
        index = max(0, bisect.bisect_right(self._starts, now) - 1)
        return self.segments[index][1]

    def _cumulative(self, now: float) -> float:
        """Tokens brought from 0 to `now`."""
        turns = 0
        if self.period is not None:
            turns = math.floor(now / self.period)
            now -= turns * self.period
        index = max(0, bisect.bisect_right(self._starts, now) - 1)
        start, rate = self.segments[index]
        within = self._before[index] + rate * (now - start)
        return (turns * self._per_period if turns else 0.0) + within

    def integral(self, start: float, end: float) -> float:
        return self._cumulative(end) - self._cumulative(start)
