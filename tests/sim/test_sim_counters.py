"""The referee's flat counts: timeline buckets and totals follow the per-request rules."""

from __future__ import annotations

import random

import pytest

from banditlb.sim.counters import SimCounters


def by_request(counts: SimCounters, points: int) -> tuple[list[int], list[int]]:
    """The rule, one request at a time: request i goes to bucket i * points // requests."""
    requests = len(counts.counted)
    accepted, penalised = [0] * points, [0] * points
    for index, count in enumerate(counts.counted):
        bucket = index * points // requests
        accepted[bucket] += counts.accepted[index]
        penalised[bucket] += max(0, count - counts.free_attempts)
    return accepted, penalised


@pytest.mark.parametrize(("requests", "points"), [(7, 3), (100, 100), (1000, 7), (5, 1)])
def test_buckets_follow_the_per_request_rule(requests: int, points: int) -> None:
    """Bucket sums equal the per-request rule, also when points do not divide requests."""
    rng = random.Random(requests * 31 + points)
    counts = SimCounters.empty(requests=requests, arms=2, free_attempts=3)
    for index in range(requests):
        counts.counted[index] = rng.randrange(0, 7)
        counts.accepted[index] = rng.randrange(2) if counts.counted[index] else 0
    assert counts.buckets(points) == by_request(counts, points)
    assert counts.buckets(0) == ([], [])


def test_totals_count_every_attempt_and_those_past_the_free_ones() -> None:
    """total_attempts sums the attempts; penalised sums those beyond `free_attempts`."""
    counts = SimCounters.empty(requests=4, arms=1, free_attempts=3)
    counts.counted[:] = [1, 3, 5, 4]
    assert (counts.total_attempts, counts.penalised) == (13, 3)
