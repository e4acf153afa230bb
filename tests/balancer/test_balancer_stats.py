"""LiveStats: fixed-size aggregates, quantile estimates and the per-second ring."""

from __future__ import annotations

import pytest

from banditlb.balancer.stats import LatencyHistogram, LiveStats, Result, SecondRing
from banditlb.game.outcome import OutcomeKind


def test_histogram_quantiles_interpolate_within_buckets() -> None:
    """Quantiles land inside the right bucket, interpolated linearly."""
    histogram = LatencyHistogram(bounds=(0.01, 0.1, 1.0, float("inf")))
    for value in [0.005] * 50 + [0.05] * 49 + [0.5]:
        histogram.add(value)
    assert histogram.quantile(0.5) == pytest.approx(0.01)
    assert histogram.quantile(0.99) == pytest.approx(0.1)
    assert histogram.quantile(1.0) == pytest.approx(1.0)
    assert histogram.mean() == pytest.approx((0.25 + 2.45 + 0.5) / 100)


def test_histogram_empty_and_overflow() -> None:
    """No samples give None; samples past the last bound report that bound."""
    histogram = LatencyHistogram(bounds=(0.1, float("inf")))
    assert histogram.quantile(0.5) is None
    histogram.add(5.0)
    assert histogram.quantile(0.5) == 0.1
    assert histogram.to_dict() == {"bounds_s": [0.1], "counts": [0], "overflow": 1}


def test_ring_keeps_only_the_window() -> None:
    """The ring reports the last seconds and forgets slots older than its size."""
    ring = SecondRing(size=3)
    ring.add(0.2, True)
    ring.add(1.5, False)
    ring.add(1.7, True)
    assert ring.series(2.0, 3) == {"end": 2, "requests": [1, 2, 0], "delivered": [1, 1, 0]}
    ring.add(3.1, True)  # reuses second 0's slot
    assert ring.series(3.5, 3) == {"end": 3, "requests": [2, 0, 1], "delivered": [1, 0, 1]}
    assert ring.series(10.0, 3) == {"end": 10, "requests": [0, 0, 0], "delivered": [0, 0, 0]}


def test_live_stats_to_dict() -> None:
    """to_dict reports results, attempts per arm by kind and penalised attempts."""
    stats = LiveStats(["a", "b"], free_attempts=3)
    for attempt, kind in enumerate([OutcomeKind.FAILED] * 3 + [OutcomeKind.ACCEPTED], 1):
        stats.attempt(attempt % 2, kind, attempt)
    stats.request(Result.DELIVERED, 0.02, 5.0)
    stats.request(Result.UNAVAILABLE, 0.001, 5.5)
    stats.reject()
    data = stats.to_dict(5.9, seconds=2)
    assert {k: data[k] for k in ("requests", "delivered", "failed", "unavailable")} == {
        "requests": 2,
        "delivered": 1,
        "failed": 0,
        "unavailable": 1,
    }
    assert (data["rejected"], data["attempts"], data["penalised_attempts"]) == (1, 4, 1)
    assert data["arms"] == [
        {"arm": 0, "server": "a", "accepted": 1, "failed": 1, "rate_limited": 0,
         "timeout": 0, "connection_error": 0},
        {"arm": 1, "server": "b", "accepted": 0, "failed": 2, "rate_limited": 0,
         "timeout": 0, "connection_error": 0},
    ]  # fmt: skip
    assert data["per_second"] == {"end": 5, "requests": [0, 2], "delivered": [0, 1]}
    assert data["latency"]["count"] == 2
    assert set(data["latency"]) == {"count", "mean_s", "p50_s", "p99_s", "histogram"}
    histogram = data["latency"]["histogram"]
    assert len(histogram["bounds_s"]) == len(histogram["counts"]) == 53
    assert (sum(histogram["counts"]), histogram["overflow"]) == (2, 0)
