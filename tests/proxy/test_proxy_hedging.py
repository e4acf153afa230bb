"""Hedged attempts (a route's hedge_after, off by default): a second attempt races a slow one."""

from __future__ import annotations

import pytest
from proxy_doubles import proxy_rig

from banditlb.balancer.recording import MemoryRecorder
from banditlb.game.outcome import OutcomeKind
from banditlb.proxy.testing import ScriptedUpstream
from banditlb.testing import ScriptedStrategy

pytestmark = pytest.mark.anyio


def slow_then_fast() -> list[ScriptedUpstream]:
    return [ScriptedUpstream("u0", delay=0.5), ScriptedUpstream("u1")]


async def test_a_slow_first_attempt_is_raced_and_the_fast_answer_wins() -> None:
    """GET with hedge_after 0.02 s: the second upstream answers first; the slow attempt is cut
    short and recorded as a timeout."""
    recorder = MemoryRecorder()
    policy = ScriptedStrategy(2, picks=[0, 1])
    async with proxy_rig(
        upstreams=slow_then_fast(), policy=policy, recorder=recorder,
        routes=[{"hedge_after": 0.02}],
    ) as rig:  # fmt: skip
        answer = await rig.client.get("/x")
    assert answer.status_code == 200
    assert answer.json() == {"upstream": "u1", "status": 200}
    assert [(r.server, r.kind) for r in recorder.records] == [
        ("u1", OutcomeKind.ACCEPTED),
        ("u0", OutcomeKind.TIMEOUT),
    ]
    assert [attempt for _, _, _, attempt in policy.observed] == [1, 2]


async def test_a_request_that_may_not_be_retried_is_never_hedged() -> None:
    """A POST without Idempotency-Key waits for its one slow attempt."""
    upstreams = slow_then_fast()
    policy = ScriptedStrategy(2, picks=[0, 1])
    async with proxy_rig(upstreams=upstreams, policy=policy, routes=[{"hedge_after": 0.02}]) as rig:
        answer = await rig.client.post("/x", content=b"once")
    assert answer.json() == {"upstream": "u0", "status": 200}
    assert upstreams[1].requests == []


async def test_an_answer_before_hedge_after_needs_no_second_attempt() -> None:
    """The first upstream answers within hedge_after: one attempt, no race."""
    upstreams = [ScriptedUpstream("u0"), ScriptedUpstream("u1")]
    policy = ScriptedStrategy(2, picks=[0, 1])
    recorder = MemoryRecorder()
    async with proxy_rig(
        upstreams=upstreams, policy=policy, recorder=recorder, routes=[{"hedge_after": 5.0}]
    ) as rig:
        answer = await rig.client.get("/x")
    assert answer.headers["x-banditlb-attempts"] == "1"
    assert [r.server for r in recorder.records] == ["u0"]
    assert upstreams[1].requests == []
