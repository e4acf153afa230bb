"""The newer limiter kinds: exact admit/refuse traces, their quota, and the oracle's capacity.

Times are multiples of 1/4 so every wait is exact in binary floating point, except for the
buckets with a time-varying rate, whose waits come from bisection (compared with approx).
"""

from __future__ import annotations

import itertools
import math

import pytest

from banditlb.game.outcome import Quota
from banditlb.models.limits import (
    AllOf,
    FixedWindow,
    PeriodicOutage,
    RateLimiter,
    StepChange,
    TokenBucket,
    VaryingWindow,
)
from banditlb.models.pacing import GCRA, Concurrency
from banditlb.models.sliding import SlidingCounter, SlidingLog
from banditlb.models.spec import LimitSpec
from banditlb.models.varying_bucket import PiecewiseBucket, SinusoidBucket


def trace(limiter: RateLimiter, times: list[float]) -> list[float | None]:
    """None for each admitted request, the wait for each refused one (via `refusal`)."""
    return [limiter.refusal(t) for t in times]


def test_sliding_log_counts_any_window_not_aligned_ones() -> None:
    """SlidingLog(2, 1 s): a third request waits until the oldest of the last two is 1 s old."""
    limiter = SlidingLog(limit=2, window=1.0)
    times = [0.0, 0.25, 0.5, 1.0, 1.25, 1.5]
    assert trace(limiter, times) == [None, None, 0.5, None, None, 0.5]
    assert limiter.quota(1.5) == Quota(0, 0.5, 2, 1.0)
    assert limiter.refusal(2.5) is None
    assert limiter.quota(2.5) == Quota(1, 1.0, 2, 1.0)  # whole again when 2.5 leaves, at 3.5
    assert limiter.quota(4.0) == Quota(2, 0.0, 2, 1.0)
    assert limiter.capacity(0.0) == 2.0


def test_sliding_log_refuses_the_burst_a_fixed_window_would_admit() -> None:
    """Two at 0.75 then one at 1.0: a fixed window admits it (new window), the log does not."""
    assert trace(FixedWindow(2), [0.75, 0.75, 1.0]) == [None, None, None]
    assert trace(SlidingLog(2), [0.75, 0.75, 1.0]) == [None, None, 0.75]


def test_sliding_counter_weights_the_previous_window() -> None:
    """SlidingCounter(4, 1 s): admitted while previous·(1 − f) + current < 4 (Cloudflare's rule)."""
    limiter = SlidingCounter(limit=4, window=1.0)
    times = [0.0, 0.25, 0.5, 0.75, 0.75, 1.25, 1.25, 1.5]
    # 5th: the window is full; from 1.0 on 4·(1 − f) < 4. At 1.25: 4·0.75 = 3 fits, then
    # 3 + 1 = 4 does not until just past 1.25; at 1.5: 4·0.5 + 1 = 3 fits
    waits = trace(limiter, times)
    assert [waits[i] for i in (0, 1, 2, 3, 5, 7)] == [None] * 6
    assert waits[4] == pytest.approx(0.25, abs=1e-5)
    assert waits[6] == pytest.approx(0.0, abs=1e-5)
    assert waits[6] is not None
    assert waits[6] > 0
    # at 1.5: 4·0.5 + 2 = 4, nothing left until just past it
    quota = limiter.quota(1.5)
    assert (quota.remaining, quota.limit, quota.window) == (0, 4, 1.0)
    assert quota.reset == pytest.approx(0.0, abs=1e-5)
    assert limiter.quota(2.5) == Quota(3, 0.5, 4, 1.0)  # 2·0.5 left over from [1, 2)
    assert limiter.capacity(9.0) == 4.0


def test_a_sliding_counter_of_one_takes_one_request_per_window() -> None:
    """A request every 10 ms: a limit of 1 per second admits one per window, its capacity
    (the stricter estimate + 1 <= limit rule let one through every other window)."""
    limiter = SlidingCounter(limit=1, window=1.0)
    admitted = [t / 100 for t in range(2000) if limiter.refusal(t / 100) is None]
    assert len(admitted) == 20
    assert all(b - a < 1.0 + 0.02 for a, b in itertools.pairwise(admitted))


def test_sliding_counter_never_admits_more_than_its_limit_in_a_window() -> None:
    """Requests every 10 ms for 20 s: at most `limit` admitted in every aligned window."""
    limiter = SlidingCounter(limit=5, window=2.0)
    admitted = [t / 100 for t in range(2000) if limiter.refusal(t / 100) is None]
    per_window = [sum(1 for t in admitted if k * 2 <= t < (k + 1) * 2) for k in range(10)]
    assert max(per_window) <= 5
    assert sum(per_window) >= 5 * 10 / 2  # and it is not starved: at least half the limit


def test_gcra_admits_a_burst_then_one_per_interval() -> None:
    """GCRA(interval 0.5, tolerance 1): three back to back, then one every half second."""
    limiter = GCRA(interval=0.5, tolerance=1.0)
    times = [0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 1.0]
    assert trace(limiter, times) == [None, None, None, 0.5, 0.25, None, None, 0.5]
    assert limiter.quota(1.0) == Quota(0, 0.5, 3, 1.5)
    assert limiter.quota(3.0) == Quota(3, 0.0, 3, 1.5)  # idle: the whole burst again
    assert limiter.capacity(0.0) == 2.0


def test_leaky_bucket_is_gcra_by_rate_and_burst() -> None:
    """leaky_bucket(rate 2, burst 3) plays exactly as GCRA(0.5, 1.0)."""
    leaky = LimitSpec("leaky_bucket", (("rate", 2.0), ("burst", 3.0))).build()
    times = [0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 1.0]
    assert trace(leaky, times) == trace(GCRA(0.5, 1.0), times)


def test_concurrency_holds_each_slot_for_the_hold_time() -> None:
    """Concurrency(2, hold 0.5): a third request in flight waits for the first release."""
    limiter = Concurrency(limit=2, hold=0.5)
    times = [0.0, 0.25, 0.25, 0.5, 0.5, 0.75]
    assert trace(limiter, times) == [None, None, 0.25, None, 0.25, None]
    assert limiter.quota(0.75) == Quota(0, 0.25, 2)  # releases at 1.0 and 1.25, no window
    assert limiter.quota(1.0) == Quota(1, 0.25, 2)
    assert limiter.capacity(0.0) == 4.0


def test_concurrency_hold_defaults_to_the_server_latency() -> None:
    """A concurrency spec without `hold` holds for the latency mean the server passes in."""
    limiter = LimitSpec("concurrency", (("limit", 1),)).build(0.25)
    assert trace(limiter, [0.0, 0.125, 0.25]) == [None, 0.125, None]
    explicit = LimitSpec("concurrency", (("limit", 1), ("hold", 1.0))).build(0.25)
    assert explicit.capacity(0.0) == 1.0


def test_sinusoid_bucket_with_no_amplitude_is_a_token_bucket() -> None:
    """base 2, amplitude 0, burst 2: the same trace as TokenBucket(2, 2)."""
    times = [0.0, 0.0, 0.0, 0.25, 0.5, 0.75]
    expected = trace(TokenBucket(2.0, 2.0), times)
    assert expected == [None, None, 0.5, 0.25, None, 0.25]
    assert trace(SinusoidBucket(2.0, 0.0, 10.0, burst=2.0), times) == [
        None if w is None else pytest.approx(w) for w in expected
    ]


def test_sinusoid_bucket_refills_by_the_exact_integral() -> None:
    """Rate max(0, 2 sin(πt/2)): 8/π tokens per 4 s, none in the second half of each period."""
    bucket = SinusoidBucket(0.0, 2.0, 4.0, burst=1.0)
    assert bucket.integral(0.0, 4.0) == pytest.approx(8 / math.pi)
    assert bucket.integral(2.0, 4.0) == pytest.approx(0.0, abs=1e-12)
    assert bucket.integral(1.0, 9.0) == pytest.approx(16 / math.pi)
    assert bucket.rate_at(1.0) == pytest.approx(2.0)
    assert bucket.capacity(3.0) == 0.0
    # Empty at 2.5: nothing comes until 4, then 1 token after s with (4/π)(1 − cos(πs/2)) = 1.
    assert bucket.refusal(0.0) is None
    assert bucket.refusal(2.5) is None  # 8/π tokens came by 2: full again
    wait = bucket.refusal(2.5)
    assert wait == pytest.approx(1.5 + (2 / math.pi) * math.acos(1 - math.pi / 4))
    assert bucket.quota(2.5) == Quota(0, pytest.approx(wait), 1, None)  # rate 0: no window


def test_sinusoid_bucket_negative_amplitude_is_a_half_period_shift() -> None:
    """amplitude −a refills exactly as +a with phase + π."""
    minus = SinusoidBucket(1.0, -3.0, 10.0, 0.5)
    plus = SinusoidBucket(1.0, 3.0, 10.0, 0.5 + math.pi)
    assert minus.integral(1.0, 27.0) == pytest.approx(plus.integral(1.0, 27.0))
    assert minus.rate_at(3.0) == pytest.approx(plus.rate_at(3.0))


def test_piecewise_bucket_follows_its_schedule_and_repeats() -> None:
    """Rate 4 on [0, 2), 0 on [2, 3), 1 on [3, 4), every 4 s; burst 2, starting full."""
    bucket = PiecewiseBucket(((0.0, 4.0), (2.0, 0.0), (3.0, 1.0)), burst=2.0, period=4.0)
    times = [0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 4.25]
    expected = [None, None, 0.25, None, None, 2.0, None]  # at 2: nothing until 3, then 1/s
    assert trace(bucket, times) == [None if w is None else pytest.approx(w) for w in expected]
    assert bucket.integral(0.0, 12.0) == pytest.approx(27.0)
    assert bucket.quota(4.25) == Quota(1, pytest.approx(0.25), 2, 0.5)
    assert [bucket.capacity(t) for t in (0.0, 2.5, 3.5, 6.5)] == [4.0, 0.0, 1.0, 0.0]


def test_existing_kinds_report_their_quota() -> None:
    """Fixed window, token bucket, varying window, outage, step and AllOf quotas, exactly."""
    window = FixedWindow(2, 1.0)
    window.refusal(0.25)
    assert window.quota(0.25) == Quota(1, 0.75, 2, 1.0)
    window.refusal(0.5)
    assert window.quota(0.5) == Quota(0, 0.5, 2, 1.0)
    assert window.quota(1.25) == Quota(2, 0.75, 2, 1.0)  # a new window, nothing used

    bucket = TokenBucket(2.0, 4.0)
    bucket.refusal(0.0)
    assert bucket.quota(0.0) == Quota(3, 0.5, 4, 2.0)  # until full
    for _ in range(3):
        bucket.refusal(0.0)
    assert bucket.quota(0.0) == Quota(0, 0.5, 4, 2.0)  # until the next token
    assert bucket.quota(0.75) == Quota(1, 1.25, 4, 2.0)

    varying = VaryingWindow(2.0, 0.0, 10.0)
    varying.refusal(0.25)
    assert varying.quota(0.25) == Quota(1, 0.75, 2, 1.0)

    outage = PeriodicOutage(10.0, 2.0, offset=5.0)
    assert outage.quota(4.0) is None
    assert outage.quota(5.5) == Quota(0, 1.5)

    step = StepChange(10.0, FixedWindow(1), None)
    assert step.quota(0.0) == Quota(1, 1.0, 1, 1.0)
    assert step.quota(11.0) is None

    stacked = AllOf([FixedWindow(5), TokenBucket(1.0, 2.0)])
    stacked.refusal(0.0)
    assert stacked.quota(0.0) == Quota(1, 1.0, 2, 2.0)  # the bucket has fewer left
    assert AllOf([PeriodicOutage(10.0, 2.0)]).quota(5.0) is None


def test_quota_never_changes_the_decisions() -> None:
    """Asking quota between requests leaves every kind's trace exactly as without it."""
    times = [t / 8 for t in range(80)]

    def kinds() -> list[RateLimiter]:
        return [
            SlidingLog(3, 1.5),
            SlidingCounter(3, 1.0),
            GCRA(0.3, 0.6),
            Concurrency(2, 0.4),
            SinusoidBucket(2.0, 1.5, 5.0, burst=2.0),
            PiecewiseBucket(((0.0, 3.0), (4.0, 0.5)), burst=3.0, period=6.0),
            TokenBucket(2.0, 3.0),
        ]

    for plain, asked in zip(kinds(), kinds(), strict=True):
        quiet = trace(plain, times)
        noisy = []
        for t in times:
            asked.quota(t)
            noisy.append(asked.refusal(t))
            asked.quota(t)
        assert noisy == quiet


@pytest.mark.parametrize(
    "limiter",
    [
        SlidingLog(3, 1.5),
        SlidingCounter(4, 2.0),
        GCRA(0.25, 1.0),
        Concurrency(2, 0.5),
        SinusoidBucket(3.0, 2.0, 20.0, burst=3.0),
        SinusoidBucket(1.0, 3.0, 10.0, 1.0, burst=2.0),
        PiecewiseBucket(((0.0, 4.0), (7.0, 0.5), (12.0, 2.0)), burst=4.0, period=20.0),
    ],
    ids=lambda limiter: type(limiter).__name__,
)
def test_capacity_bounds_what_a_flood_gets_through(limiter: RateLimiter) -> None:
    """A request every 10 ms for 100 s: admitted <= Σ capacity per 1 s slice + the burst."""
    horizon = 100
    admitted = sum(1 for t in range(horizon * 100) if limiter.refusal(t / 100) is None)
    # the oracle's own reckoning: capacity at each slice start, 1 s per slice
    allowed = sum(limiter.capacity(float(k)) for k in range(horizon))
    quota = limiter.quota(0.0)
    burst = quota.limit if quota is not None and quota.limit is not None else 0
    assert admitted <= allowed * 1.02 + burst
    assert admitted >= allowed * 0.7  # and the capacity is not a wild overestimate either
