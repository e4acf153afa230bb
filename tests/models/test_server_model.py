"""ServerModel: error rate, rate limits with Retry-After, faults, and determinism per seed."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from banditlb.game.outcome import Quota
from banditlb.models.server import Fault, Reply, ServerModel
from banditlb.models.spec import DriftSpec, FaultSpec, LatencySpec, LimitSpec, ServerSpec

DRAWS = 10_000


BASE = ServerSpec(name="s", tier="T", port=4000, error_rate=0.0)


def spec(**changes: Any) -> ServerSpec:
    """A server with no limits, no faults and no latency, unless told otherwise."""
    return dataclasses.replace(BASE, **changes)


def replies(model: ServerModel, times: list[float]) -> list[Reply]:
    return [model.handle(t) for t in times]


def test_error_rate_within_four_sigma_of_binomial() -> None:
    """10,000 draws at error rate 0.3 give 5xx within 4 binomial sigmas of 3,000."""
    model = ServerModel(spec(error_rate=0.3, error_status=503), seed=7)
    statuses = [model.handle(i * 0.001).status for i in range(DRAWS)]
    failures = statuses.count(503)
    assert failures + statuses.count(200) == DRAWS
    sigma = math.sqrt(DRAWS * 0.3 * 0.7)
    assert abs(failures - DRAWS * 0.3) <= 4 * sigma


def test_error_rate_zero_and_one_are_certain() -> None:
    """Error rate 0 always answers 200; error rate 1 always answers the error status."""
    always_ok = ServerModel(spec(error_rate=0.0), seed=1)
    always_bad = ServerModel(spec(error_rate=1.0, error_status=502), seed=1)
    assert {always_ok.handle(i).status for i in range(200)} == {200}
    assert {always_bad.handle(i).status for i in range(200)} == {502}


def test_same_seed_and_calls_give_the_same_replies() -> None:
    """Two models with the same spec and seed answer the same call sequence identically."""
    busy = spec(
        error_rate=0.5,
        latency=LatencySpec(mean=0.01, jitter=0.005),
        limits=(LimitSpec("token_bucket", (("rate", 5.0), ("burst", 2.0))),),
        faults=(FaultSpec("reset", probability=0.1),),
        retry_after=True,
    )
    times = [i * 0.05 for i in range(500)]
    first = replies(ServerModel(busy, seed=3), times)
    assert first == replies(ServerModel(busy, seed=3), times)
    assert first != replies(ServerModel(busy, seed=4), times)
    assert {r.status for r in first} == {None, 200, 500, 429}


def test_servers_draw_from_streams_named_after_them() -> None:
    """Same seed, different server names: different outcome sequences."""
    times = [float(i) for i in range(200)]
    one = replies(ServerModel(spec(name="a", error_rate=0.5), seed=3), times)
    two = replies(ServerModel(spec(name="b", error_rate=0.5), seed=3), times)
    assert [r.status for r in one] != [r.status for r in two]


def test_rate_limited_reply_carries_retry_after_per_mode() -> None:
    """A 429's Retry-After: whole seconds (ceil, >= 1), date-rounded, ms fractions, or none."""
    window = (LimitSpec("fixed_window", (("limit", 1), ("window", 2.5))),)
    times = [0.0, 0.2, 2.49, 2.6, 4.9]  # waits 2.3, 0.01, -, 0.1

    def hints(mode: str | bool) -> list[float | None]:
        model = ServerModel(spec(limits=window, retry_after=mode), seed=0)
        return [r.retry_after for r in replies(model, times)]

    assert hints(True) == hints("seconds") == [None, 3.0, 1.0, None, 1.0]
    assert hints("fractional") == [None, 2.3, 0.01, None, 0.1]
    assert hints(False) == hints("none") == [None] * 5
    dated = hints("date")  # ceil(now + wait) - now: 3 - 0.2, 3 - 2.49, 5 - 4.9
    assert dated == [None, pytest.approx(2.8), pytest.approx(0.51), None, pytest.approx(0.1)]
    model = ServerModel(spec(limits=window, retry_after="date"), seed=0)
    assert [r.wait for r in replies(model, [0.0, 0.2])] == [None, pytest.approx(2.3)]


def test_rate_limit_fields_ride_on_every_answer_in_whole_seconds() -> None:
    """With rate_limit_headers the 200, the 5xx and the 429 carry the advertised quota."""
    window = (LimitSpec("fixed_window", (("limit", 2), ("window", 2.5))),)
    ietf = ServerModel(spec(limits=window, rate_limit_headers="ietf", error_rate=0.5), seed=1)
    got = [(r.status, r.quota) for r in replies(ietf, [0.0, 0.4, 1.0])]
    assert [status for status, _ in got] == [500, 200, 429]
    assert [quota for _, quota in got] == [
        Quota(1, 3.0, 2, 3.0),  # reset 2.5 s and window 2.5 s, rounded up to whole seconds
        Quota(0, 3.0, 2, 3.0),
        Quota(0, 2.0, 2, 3.0),
    ]
    x = ServerModel(spec(limits=window, rate_limit_headers="x"), seed=1)
    assert x.handle(0.0).quota == Quota(1, 3.0, 2, None)  # X-RateLimit-* has no window
    plain = ServerModel(spec(limits=window), seed=1)
    assert plain.handle(0.0).quota is None
    assert ServerModel(spec(rate_limit_headers="ietf"), seed=1).handle(0.0).quota is None


def test_latency_is_uniform_within_jitter_and_never_negative() -> None:
    """Latency stays in [mean - jitter, mean + jitter], clipped at 0."""
    wide = ServerModel(spec(latency=LatencySpec(mean=0.01, jitter=0.02)), seed=2)
    lat = [wide.handle(float(i)).latency for i in range(1000)]
    assert min(lat) == 0.0
    assert max(lat) <= 0.03
    fixed = ServerModel(spec(latency=LatencySpec(mean=0.004)), seed=2)
    assert {fixed.handle(float(i)).latency for i in range(10)} == {0.004}


def test_no_answer_faults_apply_inside_their_window_only() -> None:
    """hang in [1, 2): no status and a fault before and after stay normal; counted."""
    model = ServerModel(spec(faults=(FaultSpec("hang", start=1.0, end=2.0),)), seed=0)
    assert replies(model, [0.5, 1.0, 1.5, 2.0]) == [
        Reply(200, 0.0),
        Reply(None, 0.0, fault=Fault.HANG),
        Reply(None, 0.0, fault=Fault.HANG),
        Reply(200, 0.0),
    ]
    assert model.handle(1.5).counted


def test_slow_fault_adds_its_delay_to_latency_and_still_answers() -> None:
    """slow(delay 0.25) answers 200 with latency + 0.25, marked slow."""
    model = ServerModel(
        spec(latency=LatencySpec(mean=0.5), faults=(FaultSpec("slow", delay=0.25),)), seed=0
    )
    assert model.handle(0.0) == Reply(200, 0.75, fault=Fault.SLOW)


def test_refused_and_flap_are_down_and_not_counted() -> None:
    """refused in [1, 3) and flap (period 2, down 0.5) report is_down and uncounted replies."""
    refused = ServerModel(spec(faults=(FaultSpec("refused", start=1.0, end=3.0),)), seed=0)
    assert [refused.is_down(t) for t in (0.0, 1.0, 2.5, 3.0)] == [False, True, True, False]
    assert not refused.handle(1.0).counted
    flap = ServerModel(spec(faults=(FaultSpec("flap", period=2.0, down=0.5),)), seed=0)
    times = [0.0, 0.25, 0.5, 1.5, 2.0, 2.5]
    assert [flap.is_down(t) for t in times] == [True, True, False, False, True, False]
    assert flap.handle(2.25) == Reply(None, 0.0, fault=Fault.FLAP)
    assert flap.handle(2.5) == Reply(200, 0.0)


def test_fault_probability_fires_on_about_that_share() -> None:
    """A reset fault with probability 0.2 fires within 4 sigmas of 20% of 10,000 requests."""
    model = ServerModel(spec(faults=(FaultSpec("reset", probability=0.2),)), seed=5)
    resets = sum(model.handle(float(i)).fault is Fault.RESET for i in range(DRAWS))
    assert abs(resets - DRAWS * 0.2) <= 4 * math.sqrt(DRAWS * 0.2 * 0.8)


def test_capacity_follows_the_limiter() -> None:
    """capacity is inf without limits and the limiter's rate with one."""
    assert ServerModel(spec(), seed=0).capacity(0.0) == math.inf
    bucket = (LimitSpec("token_bucket", (("rate", 4.0),)),)
    assert ServerModel(spec(limits=bucket), seed=0).capacity(0.0) == 4.0


def test_error_drift_moves_the_error_rate_with_time() -> None:
    """0.5 ± 0.5 over 4 s: always 5xx at 1 s (+4k), always 200 at 3 s (+4k), clamped to [0, 1]."""
    drifting = spec(error_rate=0.5, error_drift=DriftSpec(amplitude=0.5, period=4.0))
    model = ServerModel(drifting, seed=5)
    assert {model.handle(1.0 + 4 * k).status for k in range(100)} == {500}
    assert {model.handle(3.0 + 4 * k).status for k in range(100)} == {200}
    assert [drifting.error_rate_at(t) for t in (0.0, 1.0, 3.0)] == [0.5, 1.0, 0.0]
    wide = spec(error_rate=0.9, error_drift=DriftSpec(amplitude=0.5, period=4.0, phase=0.0))
    assert wide.error_rate_at(1.0) == 1.0  # 1.4 clamped


def test_a_server_models_limiter_cannot_be_replaced_after_construction() -> None:
    """`decide` is built around the spec's limiter, so replacing it would silently be ignored:
    the attribute is read-only."""
    model = ServerModel(
        dataclasses.replace(BASE, limits=(LimitSpec("fixed_window", (("limit", 1),)),)), 0
    )
    assert model.limiter is not None
    with pytest.raises(AttributeError):
        model.limiter = None  # type: ignore[misc]
