"""The hold an admitted send keeps on an advertised quota, learned from the quota's readings."""

from __future__ import annotations

import math

from banditlb.models.limits import TokenBucket
from banditlb.models.scenario import loads
from banditlb.sim.engine import simulate_traced
from banditlb.strategies.planner.slot_hold import SlotHolds

CONCURRENCY_WORLD = """
name = "concurrency-x"
seed = 1
rate = 10.0

[[servers]]
name = "slots"
tier = "T2"
port = 5000
error_rate = 0.1
rate_limit_headers = "x"
latency = { mean = 0.01, jitter = 0.002 }
limits = [{ kind = "concurrency", limit = 3, hold = 0.3 }]

[[servers]]
name = "plenty"
tier = "T2"
port = 5001
error_rate = 0.7
latency = { mean = 0.01, jitter = 0.002 }
"""


def test_a_concurrency_limit_of_several_slots_is_filled_once_its_hold_is_learned() -> None:
    """3 slots held 0.3 s take 10 sends per second, and X-RateLimit says only "reset: 1".
    Modelled as one send per window / limit after each reading the good server took 2.4-3.0
    sends per second (score 0.78-0.82 over 3 seeds); once its readings pin the hold, the
    planner keeps its slots busy (measured 8.1-8.3 admitted per second after the first 50 s,
    no 429s; asserted: at least 7.5 and at most 10 429s)."""
    result, attempts = simulate_traced(
        loads(CONCURRENCY_WORLD), "T2", "planner", seed=0, requests=1500
    )
    late = [a for a in attempts if a.arm == 0 and a.sent >= 50.0]
    assert sum(not a.outcome.rate_limited for a in late) >= 7.5 * 100  # 100 s
    assert sum(a.outcome.rate_limited for a in late) <= 10
    assert result.score_per_request > 0.95


def test_a_sliding_log_after_a_burst_waits_for_its_first_entry_to_leave() -> None:
    """Readings of a log of 3 per second, sends that left 0.1 s apart: the hold is pinned
    between the bounds they give, and the 4th send waits for the 1st to be a hold old."""
    holds = SlotHolds(1)
    for step, left in enumerate((2, 1, 0)):  # sends at 0.0, 0.1, 0.2, each answered
        holds.leaving(0, step / 10)
        holds.reading(0, step / 10, left, 3, refused=False)
    holds.leaving(0, 0.7)
    holds.reading(0, 0.7, 0, 3, refused=True)  # all three still held at 0.7: hold > 0.7
    holds.leaving(0, 1.05)
    holds.reading(0, 1.05, 0, 3, refused=False)  # 0.0 had let go (<= 1.05), 0.1 not (> 0.95)
    assert 0.95 <= holds.low[0] <= holds.high[0] <= 1.05
    hold = holds.hold(0)
    assert hold is not None
    assert holds.holding(0, 1.06, hold) == 3  # 0.1, 0.2 and 1.05 hold
    assert holds.free_at(0, 1.06, hold, 1) == 0.1 + hold


def test_a_token_bucket_is_no_log_of_holds_and_keeps_the_refill_model() -> None:
    """A bucket refills smoothly, not one unit per send: its readings' bounds cross, and the
    hold is never planned with."""
    holds = SlotHolds(1)
    bucket = TokenBucket(rate=5.0, burst=5.0)
    times = [0.0, 0.03, 0.06, 0.09, 0.12, 0.5, 0.55, 1.3, 1.33, 1.36, 1.39, 1.42, 1.45, 2.5]
    for now in times:
        holds.leaving(0, now)
        admitted = bucket.admit(now).ok
        quota = bucket.quota(now)
        holds.reading(0, now, quota.remaining, quota.limit or 0, refused=not admitted)
    assert holds.crossed[0]
    assert holds.hold(0) is None


def test_no_bound_while_an_earlier_send_is_unanswered() -> None:
    """The answer to a later send comes first: the server may have counted the earlier one,
    which we cannot place yet, so its reading bounds nothing."""
    holds = SlotHolds(1)
    holds.leaving(0, 0.0)
    holds.reading(0, 0.0, 1, 2, refused=False)
    holds.leaving(0, 0.5)
    holds.leaving(0, 0.6)
    holds.reading(0, 0.6, 0, 2, refused=False)  # 0.5 still in flight
    assert (holds.low[0], holds.high[0]) == (0.0, math.inf)
    holds.reading(0, 0.5, 1, 2, refused=False)  # 0.0 had let go by 0.5: hold <= 0.5
    assert holds.high[0] == 0.5


def test_a_peers_reading_bounds_nothing_but_its_send_holds() -> None:
    """Shared state: a peer's send we never saw in flight is counted, not used as a bound."""
    holds = SlotHolds(1)
    holds.leaving(0, 0.0)
    holds.reading(0, 0.3, 0, 1, refused=False, own=False)
    assert holds.pending[0] == [0.0]  # our own send is still in flight
    assert (holds.low[0], holds.high[0]) == (0.0, math.inf)
    assert list(holds.sends[0]) == [0.3]
