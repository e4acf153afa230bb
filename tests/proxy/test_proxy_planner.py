"""The planner behind the proxy: few 429s, and a failing upstream left alone (virtual time)."""

from __future__ import annotations

from collections import Counter

import pytest
from proxy_doubles import proxy_rig

from banditlb.balancer.recording import MemoryRecorder
from banditlb.game.outcome import OutcomeKind
from banditlb.proxy.testing import ScriptedUpstream
from banditlb.testing import FakeClock

pytestmark = pytest.mark.anyio

REQUESTS = 300


async def play(strategy: str) -> tuple[Counter[int], MemoryRecorder, int]:
    """300 GETs at 10/s of virtual time against u0 (always 500) and u1..u3 limited to 3, 6
    and 12 requests per second (429 + Retry-After: 1 beyond); returns client statuses, the
    attempts, and attempts on u0 among the last 100 requests."""
    clock = FakeClock()
    upstreams = [ScriptedUpstream("u0", status=500, now=clock.now)] + [
        ScriptedUpstream(f"u{i}", limit=limit, now=clock.now)
        for i, limit in ((1, 3), (2, 6), (3, 12))
    ]
    recorder = MemoryRecorder()
    statuses: Counter[int] = Counter()
    # max_hold 0: the virtual clock does not move while a request would wait
    async with proxy_rig(
        upstreams=upstreams, clock=clock, recorder=recorder, strategy=strategy,
        routes=[{"prefix": "/", "max_hold": 0.0}],
    ) as rig:  # fmt: skip
        for _ in range(REQUESTS):
            answer = await rig.client.get("/v1/things")
            statuses[answer.status_code] += 1
            clock.advance(0.1)
    late = sum(1 for r in recorder.records if r.server == "u0" and r.request_no > REQUESTS - 100)
    return statuses, recorder, late


def share_429(recorder: MemoryRecorder) -> float:
    kinds = [r.kind for r in recorder.records]
    return kinds.count(OutcomeKind.RATE_LIMITED) / len(kinds)


async def test_the_planner_keeps_429s_low_and_routes_around_a_failing_upstream() -> None:
    """Planner: nearly every request answered 200, under 5% of attempts 429ed, and the
    always-failing upstream gets at most 3 of the last 100 requests' attempts; round robin,
    on the same upstreams, 429s more than twice as often and needs more attempts."""
    statuses, recorder, late = await play("planner")
    rr_statuses, rr_recorder, _ = await play("round_robin")
    assert statuses[200] >= REQUESTS - 3
    assert share_429(recorder) < 0.05
    assert late <= 3
    assert share_429(rr_recorder) > 2 * share_429(recorder)
    assert rr_statuses[200] <= statuses[200]
    assert len(recorder.records) < len(rr_recorder.records)


async def test_a_declared_limit_is_the_planners_prior() -> None:
    """With limit = 2 per second declared, the planner never 429s that upstream from the
    start: its first 429 is never needed to learn the limit."""
    clock = FakeClock()
    upstreams = [
        ScriptedUpstream("u0", limit=2, now=clock.now),
        ScriptedUpstream("u1", now=clock.now),
    ]
    recorder = MemoryRecorder()
    async with proxy_rig(
        upstreams=upstreams, clock=clock, recorder=recorder, strategy="planner",
        routes=[{"prefix": "/", "max_hold": 0.0}],
        upstream_extra=[{"limit": {"requests": 2, "window": 1.0}}, {}],
    ) as rig:  # fmt: skip
        for _ in range(60):
            await rig.client.get("/x")
            clock.advance(0.1)
    on_u0 = [r.kind for r in recorder.records if r.server == "u0"]
    assert on_u0  # it is used...
    assert OutcomeKind.RATE_LIMITED not in on_u0  # ...within its declared limit
