"""Peers' answers applied to a replica's router and strategy (pure, virtual time)."""

from __future__ import annotations

import random

import pytest

from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.game.router import Router
from banditlb.shared_state.merge import apply_peer, peer_applier
from banditlb.strategies.base import PeerAware
from banditlb.strategies.planner.capacity_planner import CapacityPlanner
from banditlb.strategies.registry import build_strategy, strategy_names

OK = Outcome(OutcomeKind.ACCEPTED, 200, None, 0.01)
FAIL = Outcome(OutcomeKind.FAILED, 500, None, 0.01)
LIMITED = Outcome(OutcomeKind.RATE_LIMITED, 429, None, 0.01)


def planner(n: int = 3, **params: float) -> CapacityPlanner:
    strategy = build_strategy("planner", n, random.Random(1), params)
    assert isinstance(strategy, CapacityPlanner)
    return strategy


def test_peer_sends_count_against_the_cluster_cap() -> None:
    """After a 429 taught the cap, sends a peer got admitted fill the window here too."""
    strategy = planner()
    router = Router(strategy, 3)
    route = router.start()
    for i in range(3):  # our own: 3 admitted, then a 429: the cap is 3 per second
        route.record(0, OK, 0.1 + 0.01 * i)
    route.record(0, LIMITED, 0.2)
    assert strategy.capacity.cap[0] == 3.0
    assert strategy.capacity.has_room(0, 1.5)
    for i in range(3):  # a peer's 3 admitted sends in this second: no room left here
        apply_peer(router, 0, OK, 1, answered_at=1.3 + 0.01 * i, now=1.4)
    assert not strategy.capacity.has_room(0, 1.5)
    assert strategy.capacity.has_room(0, 2.4)


def test_peer_429_with_retry_after_blocks_the_server_here() -> None:
    """A Retry-After a peer was given keeps this replica off that server too."""
    strategy = planner()
    router = Router(strategy, 3)
    limited = Outcome(OutcomeKind.RATE_LIMITED, 429, 5.0, 0.01)
    apply_peer(router, 2, limited, 1, answered_at=10.0, now=10.2)
    assert router.blocked_until[2] == pytest.approx(15.0)
    assert router.candidates(12.0) == [0, 1]
    assert router.candidates(15.0) == [0, 1, 2]


def test_peer_evidence_moves_the_posterior_and_stale_answers_only_that() -> None:
    """A peer's answers count in the posterior; an answer older than the window does not
    enter the limiter model (it would inflate the window's count)."""
    strategy = planner(memory=1.0)  # undiscounted: 8 failures are exactly 8
    for _ in range(8):
        apply_peer(Router(strategy, 3), 1, FAIL, 1, answered_at=0.0, now=30.0)
    assert strategy.mean(1) == pytest.approx(1 / 10)
    assert strategy.capacity.in_window(1, 30.0) == 0
    assert len(strategy._arrivals) == 0
    apply_peer(Router(strategy, 3), 1, OK, 1, answered_at=29.9, now=30.0)
    assert strategy.capacity.in_window(1, 30.0) == 1
    assert list(strategy._arrivals) == [pytest.approx(29.89)]
    assert strategy.capacity.in_flight[1] == 0  # a peer's send was never ours in flight


def test_late_peer_sends_keep_the_window_in_time_order() -> None:
    """A peer's send reported after later ones of ours is inserted in time order."""
    strategy = planner()
    router = Router(strategy, 3)
    route = router.start()
    route.record(0, OK, 5.0)
    route.record(0, FAIL, 5.5)
    apply_peer(router, 0, OK, 1, answered_at=5.2, now=5.6)
    assert list(strategy.capacity.sends[0]) == pytest.approx([4.99, 5.19, 5.49])


@pytest.mark.parametrize("name", strategy_names())
def test_every_strategy_learns_from_peers_without_choosing(name: str) -> None:
    """Any registered strategy takes peers' answers (observe_peer or observe) and counts
    them as evidence, without a choose of its own first."""
    strategy = build_strategy(name, 2, random.Random(3), {})
    router = Router(strategy, 2)
    for i in range(20):
        apply_peer(router, 0, OK, 1, answered_at=i * 0.1, now=i * 0.1 + 0.01)
        apply_peer(router, 1, FAIL, 2, answered_at=i * 0.1, now=i * 0.1 + 0.01)
    snapshots = strategy.snapshot(2.0)
    assert snapshots[0].successes == 20
    assert snapshots[1].failures == 20
    assert isinstance(strategy, PeerAware) == (name == "planner")


def test_the_bound_applier_does_what_apply_peer_does() -> None:
    """`peer_applier(router)` (the hot path's form) leaves router and planner exactly as
    `apply_peer` does."""
    limited = Outcome(OutcomeKind.RATE_LIMITED, 429, 2.0, 0.01)
    routers = [Router(planner(), 3) for _ in range(2)]
    apply = peer_applier(routers[1])
    for i, outcome in enumerate([OK, FAIL, limited, OK] * 5):
        apply_peer(routers[0], i % 3, outcome, 1 + i % 3, answered_at=i * 0.1, now=i * 0.1 + 0.05)
        apply(i % 3, outcome, 1 + i % 3, i * 0.1, i * 0.1 + 0.05)
    first, second = (r.strategy for r in routers)
    assert routers[0].blocked_until == routers[1].blocked_until
    assert first.snapshot(3.0) == second.snapshot(3.0)
