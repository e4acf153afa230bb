"""Each rate limiter's exact admit/refuse pattern and Retry-After on a virtual clock.

Times are multiples of 1/4 so every retry_after is exact in binary floating point.
"""

from __future__ import annotations

import math

from banditlb.models.limits import (
    AllOf,
    FixedWindow,
    PeriodicOutage,
    RateLimiter,
    StepChange,
    TokenBucket,
    VaryingWindow,
)


def trace(limiter: RateLimiter, times: list[float]) -> list[float | None]:
    """None for each admitted request, the retry_after for each refused one."""
    verdicts = [limiter.admit(t) for t in times]
    return [None if v.ok else v.retry_after for v in verdicts]


def test_fixed_window_admits_limit_per_window_and_says_when_it_reopens() -> None:
    """FixedWindow(2) admits two per second and refuses the rest until the next window."""
    limiter = FixedWindow(limit=2, window=1.0)
    times = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 1.75, 3.0]
    assert trace(limiter, times) == [None, None, 0.5, 0.25, None, None, 0.25, None]
    assert limiter.capacity(0.0) == 2.0


def test_fixed_window_offset_shifts_window_edges() -> None:
    """With offset 0.5 the windows are [-0.5, 0.5), [0.5, 1.5): the reset comes at 0.5."""
    limiter = FixedWindow(limit=1, window=1.0, offset=0.5)
    assert trace(limiter, [0.0, 0.25, 0.5, 1.25, 1.5]) == [None, 0.25, None, 0.25, None]


def test_fixed_window_longer_window_scales_capacity() -> None:
    """FixedWindow(3, window=2) refuses the 4th in [0, 2) and has capacity 1.5 per second."""
    limiter = FixedWindow(limit=3, window=2.0)
    assert trace(limiter, [0.0, 0.5, 1.0, 1.5, 2.0]) == [None, None, None, 0.5, None]
    assert limiter.capacity(5.0) == 1.5


def test_token_bucket_starts_full_then_refills_at_rate() -> None:
    """TokenBucket(rate=2, burst=2): a burst of two, then one token every half second."""
    limiter = TokenBucket(rate=2.0, burst=2.0)
    times = [0.0, 0.0, 0.0, 0.25, 0.5, 0.5, 2.0, 2.0, 2.0]
    assert trace(limiter, times) == [None, None, 0.5, 0.25, None, 0.5, None, None, 0.5]
    assert limiter.capacity(0.0) == 2.0


def test_token_bucket_never_holds_more_than_burst() -> None:
    """After a long idle spell the bucket holds `burst` tokens, not more."""
    limiter = TokenBucket(rate=1.0, burst=3.0)
    assert trace(limiter, [100.0] * 4) == [None, None, None, 1.0]


def test_sinusoid_limit_is_fixed_at_each_window_start() -> None:
    """base 3, amplitude 2, period 4: limits 3, 5, 3, 1 in windows 0..3; refusals wait for 1s."""
    limiter = VaryingWindow(base=3.0, amplitude=2.0, period=4.0)
    assert [limiter.limit_at(t) for t in (0.0, 1.0, 2.0, 3.0, 3.75)] == [3, 5, 3, 1, 1]
    admitted = []
    for window in range(4):
        verdicts = [limiter.admit(window + 0.5) for _ in range(6)]
        admitted.append(sum(v.ok for v in verdicts))
        assert verdicts[-1].retry_after == 0.5
    assert admitted == [3, 5, 3, 1]
    assert limiter.capacity(1.5) == 5.0


def test_sinusoid_never_goes_below_zero() -> None:
    """A trough below zero means a window that admits nothing, not a negative limit."""
    limiter = VaryingWindow(base=1.0, amplitude=3.0, period=4.0, phase=-math.pi / 2)
    assert limiter.limit_at(0.0) == 0
    assert trace(limiter, [0.25]) == [0.75]


def test_outage_refuses_during_each_outage_and_says_when_it_ends() -> None:
    """outage(period 4, duration 1, offset 2): down in [2, 3) and [6, 7), never before 2."""
    limiter = PeriodicOutage(period=4.0, duration=1.0, offset=2.0)
    times = [0.0, 1.0, 2.0, 2.5, 3.0, 5.75, 6.0, 6.75, 7.0]
    assert trace(limiter, times) == [None, None, 1.0, 0.5, None, None, 1.0, 0.25, None]
    assert limiter.capacity(2.5) == 0.0
    assert limiter.capacity(3.0) == math.inf


def test_step_switches_limiter_at_the_step_time() -> None:
    """step at 2: FixedWindow(1) before, FixedWindow(3) from then on."""
    limiter = StepChange(at=2.0, before=FixedWindow(1), after=FixedWindow(3))
    times = [0.0, 0.5, 1.0, 1.5, 2.0, 2.25, 2.5, 2.75]
    assert trace(limiter, times) == [None, 0.5, None, 0.5, None, None, None, 0.25]
    assert (limiter.capacity(1.0), limiter.capacity(2.0)) == (1.0, 3.0)


def test_step_from_unlimited_to_limited() -> None:
    """A missing `before` means unlimited until the step."""
    limiter = StepChange(at=1.0, before=None, after=FixedWindow(1))
    assert trace(limiter, [0.0] * 5 + [1.0, 1.5]) == [None] * 6 + [0.5]
    assert limiter.capacity(0.0) == math.inf


def test_all_of_admits_only_when_every_part_admits() -> None:
    """FixedWindow(3) and an outage: the window's 429s and the outage's 429s both show."""
    limiter = AllOf([FixedWindow(3), PeriodicOutage(period=4.0, duration=1.0, offset=2.0)])
    times = [0.0, 0.25, 0.5, 0.75, 2.0, 2.5, 3.0, 3.25, 3.5, 3.75]
    assert trace(limiter, times) == [None, None, None, 0.25, 1.0, 0.5, None, None, None, 0.25]
    assert limiter.capacity(0.0) == 3.0
    assert limiter.capacity(2.0) == 0.0


def test_all_of_parts_before_a_refusal_keep_what_they_gave() -> None:
    """A request the bucket refuses still used up a slot of the window checked before it."""
    limiter = AllOf([FixedWindow(2), TokenBucket(rate=1.0, burst=1.0)])
    assert trace(limiter, [0.0, 0.25, 0.5]) == [None, 0.75, 0.5]


def test_refusal_is_admit_as_a_plain_value() -> None:
    """`refusal` gives admit's verdicts (None or the wait) and consumes capacity the same way."""

    def limiters() -> list[RateLimiter]:
        return [
            FixedWindow(2, window=0.5, offset=0.1),
            TokenBucket(rate=3.0, burst=2.0),
            VaryingWindow(base=3.0, amplitude=2.0, period=7.0),
            PeriodicOutage(period=3.0, duration=1.0, offset=0.5),
            StepChange(at=4.0, before=FixedWindow(1), after=None),
            AllOf([FixedWindow(4), TokenBucket(rate=2.0, burst=3.0)]),
        ]

    times = [i * 0.0625 for i in range(200)]
    for admitting, refusing in zip(limiters(), limiters(), strict=True):
        assert [refusing.refusal(t) for t in times] == trace(admitting, times)
