"""The retry loop at shutdown: the end of the grace stops every request, whatever the clocks say."""

from __future__ import annotations

import asyncio

import pytest
from balancer_doubles import OK, FakeDownstream

from banditlb.balancer.balancer import Balancer
from banditlb.balancer.recording import MemoryRecorder
from banditlb.balancer.stats import LiveStats
from banditlb.game.outcome import OutcomeKind
from banditlb.game.router import Router, StopReason
from banditlb.testing import FakeClock, ScriptedStrategy

pytestmark = pytest.mark.anyio


async def test_the_grace_cut_ends_the_request_even_before_our_clock_reaches_it() -> None:
    """The loop's timer fires the cut while the balancer's clock is still short of the grace's
    end (here it never moves): the waiting attempt ends as a timeout and no second one starts."""
    downstream = FakeDownstream({0: [OK]})
    downstream.gate = asyncio.Event()  # every attempt hangs until the cut
    recorder = MemoryRecorder()
    balancer = Balancer(
        Router(ScriptedStrategy(1), 1),
        downstream,
        ["s0"],
        clock=FakeClock(0.0),
        recorder=recorder,
        stats=LiveStats(["s0"]),
        request_deadline=10.0,
    )
    balancer.stop_by(0.05)  # the cut runs 0.05 s from now on the loop's own clock
    delivery = await asyncio.wait_for(balancer.forward("abcdefghijklmnopqrstuvwx"), 2.0)
    assert (delivery.attempts, delivery.stop) == (1, StopReason.DEADLINE)
    assert len(downstream.calls) == 1
    assert [r.kind for r in recorder.records] == [OutcomeKind.TIMEOUT]
