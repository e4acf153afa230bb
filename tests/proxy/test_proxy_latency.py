"""Latency in the objective: among equally reliable upstreams, the faster gets the attempt."""

from __future__ import annotations

from collections import Counter

import pytest
from proxy_doubles import proxy_rig

from banditlb.proxy.latency import RETIME, FasterAmongEquals, LatencyTable
from banditlb.proxy.testing import ScriptedUpstream
from banditlb.testing import ScriptedStrategy


def test_narrow_keeps_the_fastest_of_the_most_reliable() -> None:
    """Estimates 0.9, 0.89, 0.5 after 100 answers each: the first two tie (tolerance 0.02);
    of those the faster stays, even though the unreliable one is faster still."""
    table = LatencyTable(3)
    for _ in range(100):
        for arm, seconds in ((0, 0.050), (1, 0.010), (2, 0.001)):
            table.add(arm, seconds)
    wrapper = FasterAmongEquals(ScriptedStrategy(3, estimates=[0.9, 0.89, 0.5]), table)
    assert wrapper.narrow(0.0, [0, 1, 2]) == [1]
    assert wrapper.choose(0.0, [0, 1, 2], 1) == 1


def test_narrow_times_every_tied_upstream_first() -> None:
    """A tied upstream never timed is tried before the timed ones (so it gets measured)."""
    table = LatencyTable(3)
    for _ in range(100):
        table.add(0, 0.001)
        table.add(2, 0.0001)
    wrapper = FasterAmongEquals(ScriptedStrategy(3, estimates=[0.9, 0.9, 0.1]), table)
    assert wrapper.narrow(0.0, [0, 1, 2]) == [1]


def test_a_barely_tried_upstream_gets_the_benefit_of_the_doubt() -> None:
    """0.67 after one answer vs 0.97 after 100: within the doubt 1/sqrt(2), so the faster
    barely-tried upstream is kept (its prior alone must not rule it out)."""
    table = LatencyTable(2)
    for _ in range(100):
        table.add(0, 0.050)
    table.add(1, 0.001)
    wrapper = FasterAmongEquals(ScriptedStrategy(2, estimates=[0.97, 0.67]), table)
    assert wrapper.narrow(0.0, [0, 1]) == [1]


def test_one_slow_answer_does_not_demote_the_faster_upstream_for_good() -> None:
    """The fast upstream answers once slowly (a pause): the slow one is preferred for a
    while, but after RETIME answers the fast one is timed again and wins back the traffic."""
    table = LatencyTable(2)
    for _ in range(10):
        table.add(0, 0.030)
        table.add(1, 0.001)
    table.add(1, 0.300)  # one hiccup: its mean jumps above the slow upstream's
    wrapper = FasterAmongEquals(ScriptedStrategy(2, estimates=[0.9, 0.9]), table)
    picks = []
    for _ in range(3 * RETIME):
        arm = wrapper.choose(0.0, [0, 1], 1)
        picks.append(arm)
        table.add(arm, 0.030 if arm == 0 else 0.001)
    assert picks[0] == 0  # the hiccup counts at first
    assert picks[RETIME] == 1  # re-timed after RETIME answers from the other
    assert picks[-RETIME:].count(1) >= RETIME - 1  # and the fast one keeps the traffic


@pytest.mark.anyio
@pytest.mark.parametrize("prefer", [True, False])
async def test_a_route_preferring_faster_upstreams_sends_most_to_the_fast_one(
    prefer: bool,
) -> None:
    """Two reliable upstreams, one 30 ms slower: with prefer_faster the planner sends at
    least 35 of 40 requests to the fast one; without it, the slow one gets at least 5."""
    upstreams = [ScriptedUpstream("u0", delay=0.03), ScriptedUpstream("u1")]
    async with proxy_rig(
        upstreams=upstreams, strategy="planner", routes=[{"prefer_faster": prefer}]
    ) as rig:
        served: Counter[str] = Counter()
        for _ in range(40):
            served[(await rig.client.get("/x")).headers["x-banditlb-upstream"]] += 1
    if prefer:
        assert served["u1"] >= 35
    else:
        assert served["u0"] >= 5
