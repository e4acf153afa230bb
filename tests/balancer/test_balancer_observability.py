"""`/metrics` (per-app registry, read at scrape time), `/healthz`, `/readyz`, and load shedding."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from balancer_doubles import FAIL, OK, FakeDownstream, limited, running
from prometheus_client.parser import text_string_to_metric_families

from banditlb.balancer.app import create_app
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.game.clock import WallClock
from banditlb.strategies.registry import DEFAULT_STRATEGY
from banditlb.testing import FakeClock, ScriptedStrategy

pytestmark = pytest.mark.anyio
GOOD_ID = "abcdefghijklmnopqrstuvwx"


def settings(n: int = 2, **overrides: Any) -> BalancerSettings:
    upstreams = tuple(Upstream(f"s{i}", "127.0.0.1", 4000 + i) for i in range(n))
    return BalancerSettings(upstreams=upstreams, **overrides)


def server(name: str) -> tuple[tuple[str, str], ...]:
    return (("server", name),)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page keyed by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_requests_attempts_latency_and_arm_state() -> None:
    """After a fail-then-accept request and a bad one, /metrics has exact counters, histogram
    counts, the strategy's estimates, the Retry-After block and process memory."""
    clock = FakeClock(50.0)
    downstream = FakeDownstream({0: [FAIL], 1: [OK]})
    strategy = ScriptedStrategy(2, picks=[0, 1], estimates=[0.25, 0.75])
    app = create_app(settings(), downstream=downstream, strategy=strategy, clock=clock)
    async with running(app) as client:
        await client.post("/", content=GOOD_ID)
        await client.post("/", content="bad")
        app.state.balancer.router.blocked_until[1] = 52.5  # as if s1 sent Retry-After 2.5
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    got = samples(response.text)
    expected = {
        ("banditlb_requests_total", (("result", "delivered"),)): 1.0,
        ("banditlb_requests_total", (("result", "failed"),)): 0.0,
        ("banditlb_requests_total", (("result", "unavailable"),)): 0.0,
        ("banditlb_requests_total", (("result", "rejected"),)): 1.0,
        ("banditlb_attempts_total", (("outcome", "failed"), ("server", "s0"))): 1.0,
        ("banditlb_attempts_total", (("outcome", "accepted"), ("server", "s1"))): 1.0,
        ("banditlb_attempts_total", (("outcome", "timeout"), ("server", "s1"))): 0.0,
        ("banditlb_penalised_attempts_total", ()): 0.0,
        ("banditlb_request_latency_seconds_count", ()): 1.0,
        ("banditlb_attempt_latency_seconds_count", server("s0")): 1.0,
        ("banditlb_attempt_latency_seconds_count", server("s1")): 1.0,
        ("banditlb_in_flight", ()): 0.0,
        ("banditlb_arm_estimate", server("s0")): 0.25,
        ("banditlb_arm_estimate", server("s1")): 0.75,
        ("banditlb_arm_blocked", server("s0")): 0.0,
        ("banditlb_arm_blocked", server("s1")): 1.0,
        ("banditlb_arm_blocked_seconds", server("s1")): 2.5,
    }
    assert {key: got.get(key) for key in expected} == expected
    assert got[("process_resident_memory_bytes", ())] > 0


async def test_each_app_has_its_own_registry() -> None:
    """Two apps in one process keep separate metrics; nothing lands in the global registry."""
    from prometheus_client import REGISTRY

    before = {name for m in REGISTRY.collect() for name in [m.name]}
    first = create_app(settings(1), downstream=FakeDownstream({0: [OK]}))
    second = create_app(settings(1), downstream=FakeDownstream({0: [OK]}))
    async with running(first) as a, running(second) as b:
        await a.post("/", content=GOOD_ID)
        got_a, got_b = (
            samples((await a.get("/metrics")).text),
            samples((await b.get("/metrics")).text),
        )
    key = ("banditlb_requests_total", (("result", "delivered"),))
    assert (got_a[key], got_b[key]) == (1.0, 0.0)
    assert {m.name for m in REGISTRY.collect()} == before


async def test_readyz_is_503_until_the_lifespan_has_built_the_strategy() -> None:
    """/readyz: 503 JSON before startup (no strategy yet), 200 with the upstream count after;
    /healthz is 200 either way."""
    app = create_app(settings(3), downstream=FakeDownstream({0: [OK]}))
    transport = httpx.ASGITransport(app=app)  # does not run the lifespan
    async with httpx.AsyncClient(transport=transport, base_url="http://balancer") as cold:
        not_ready = await cold.get("/readyz")
        alive = await cold.get("/healthz")
    assert (not_ready.status_code, not_ready.json()) == (
        503,
        {"error": "not ready: the balancer is not started"},
    )
    assert alive.status_code == 200
    async with running(app) as client:
        ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "ready", "upstreams": 3, "strategy": DEFAULT_STRATEGY},
    )


async def test_beyond_max_in_flight_is_503_with_retry_after_and_no_attempt() -> None:
    """With max_in_flight=2, a third concurrent request is 503 JSON with Retry-After: 1 and is
    never sent; once the two finish, requests are served again."""
    downstream = FakeDownstream({0: [OK]})
    downstream.gate = asyncio.Event()
    app = create_app(settings(1, max_in_flight=2), downstream=downstream)
    async with running(app) as client:
        held = [asyncio.create_task(client.post("/", content=c * 24)) for c in "AB"]
        while len(downstream.calls) < 2:
            await asyncio.sleep(0)
        shed = await client.post("/", content="C" * 24)
        downstream.gate.set()
        answers = await asyncio.gather(*held)
        after = await client.post("/", content="D" * 24)
        state = (await client.get("/api/state")).json()
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "1"
    assert shed.json() == {"error": "balancer overloaded: 2 requests in flight, max_in_flight is 2"}
    assert [a.status_code for a in answers] == [200, 200]
    assert after.status_code == 200
    assert [rid for _, rid in downstream.calls] == ["A" * 24, "B" * 24, "D" * 24]
    assert (state["in_flight"], state["stats"]["rejected"]) == (0, 1)


async def test_no_server_available_503_says_when_to_retry() -> None:
    """When every server is inside a Retry-After, the 503 carries Retry-After: the whole
    seconds until the first one is free again."""
    clock = FakeClock()
    downstream = FakeDownstream({0: [limited(2.2)], 1: [limited(7.0)]})
    app = create_app(
        settings(2), downstream=downstream, strategy=ScriptedStrategy(2, picks=[0, 1]), clock=clock
    )
    async with running(app) as client:
        first = await client.post("/", content=GOOD_ID)
        clock.advance(0.5)
        second = await client.post("/", content="B" * 24)
    assert first.status_code == 502
    assert "retry-after" not in first.headers
    assert second.status_code == 503
    assert second.headers["retry-after"] == "2"  # s0 is free at 2.2, i.e. in 1.7 s
    assert second.json() == {"id": "B" * 24, "attempts": 0, "error": "no server available"}


class _HoldsOnce(ScriptedStrategy):
    """Asks the first attempt of each request to wait `wait` seconds, then never again."""

    def __init__(self, wait: float) -> None:
        super().__init__(1)
        self.wait = wait
        self.asked = 0

    def hold(self, now: float, candidates: Sequence[int], attempt: int) -> float:
        self.asked += 1
        return self.wait if self.asked == 1 else 0.0


async def test_a_pacing_strategy_waits_and_the_wait_is_counted() -> None:
    """The balancer really waits what a pacing strategy asks (wall clock), then sends; the
    hold shows in /api/state-style stats and in /metrics."""
    downstream = FakeDownstream({0: [OK]})
    strategy = _HoldsOnce(0.05)
    app = create_app(settings(1), downstream=downstream, strategy=strategy, clock=WallClock())
    async with running(app) as client:
        started = time.perf_counter()
        response = await client.post("/", content=GOOD_ID)
        took = time.perf_counter() - started
        metrics = samples((await client.get("/metrics")).text)
    assert response.status_code == 200
    assert took >= 0.05
    assert downstream.calls == [(0, GOOD_ID)]
    stats = app.state.balancer.stats
    assert (stats.holds, stats.held_s) == (1, pytest.approx(0.05))
    assert metrics[("banditlb_holds_total", ())] == 1.0
    assert metrics[("banditlb_held_seconds_total", ())] == pytest.approx(0.05)
