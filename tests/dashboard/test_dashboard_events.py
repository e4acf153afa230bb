"""/api/events: bounded SSE events built from the balancer's state document."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from dashboard_doubles import FakeBalancer
from starlette.applications import Starlette

from banditlb.dashboard import dashboard_routes, live_event

pytestmark = pytest.mark.anyio


def test_first_event_has_totals_arms_histogram_and_backfill() -> None:
    """The first event carries the last minute's per-second series and no increments."""
    event = live_event(FakeBalancer()(None), None, oracle_per_request=0.9)
    assert event["delta"] is None
    assert event["per_second"] == {"end": 10, "requests": [10, 10], "delivered": [8, 8]}
    totals = event["totals"]
    assert (totals["requests"], totals["delivered"], totals["penalised"]) == (100, 80, 1)
    assert totals["score"] == 79.0
    assert totals["pct_oracle"] == pytest.approx(100 * 79 / 90)
    assert (totals["p50_ms"], totals["p99_ms"]) == (4.0, 20.0)
    s0, s1 = event["arms"]
    assert (s0["server"], s0["attempts"], s0["share"]) == ("s0", 100, 100 / 150)
    assert s0["success_rate"] == 70 / 80
    assert (s0["alpha"], s0["beta"], s0["capacity"]) == (71.0, 11.0, 5.0)
    assert (s0["blocked"], s0["blocked_for_s"]) == (True, 1.5)
    assert (s1["blocked"], s1["capacity"]) == (False, None)
    assert event["latency_histogram"] == {"upper_ms": [10.0, 100.0], "counts": [90.0, 10.0]}


def test_later_events_carry_increments_only_as_aggregates() -> None:
    """Each further event has the increments since the previous one and no history."""
    state = FakeBalancer()
    first = live_event(state(None), None)
    second = live_event(state(None), first)
    assert "per_second" not in second
    assert second["delta"] == {
        "requests": 100.0,
        "delivered": 80.0,
        "attempts": 150.0,
        "penalised": 1.0,
        "score": 79.0,
        "dt": 10.0,
    }
    assert second["totals"]["pct_oracle"] is None


def test_state_without_posteriors_or_histogram_still_makes_events() -> None:
    """Missing strategy alphas, latency histograms and oracles become nulls, not errors."""
    event = live_event({"stats": {"arms": [{"arm": 0, "server": "a", "accepted": 1}]}}, None)
    assert event["arms"][0]["alpha"] is None
    assert event["latency_histogram"] is None
    assert event["totals"]["referee_score"] is None


async def test_the_stream_sends_count_events_then_ends(tmp_path: Path) -> None:
    """?count=N sends N `state` events with a retry hint, then closes."""
    provider = FakeBalancer()
    app = Starlette(routes=dashboard_routes(tmp_path / "r.db", provider, event_interval=0.01))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lb") as client:
        response = await client.get("/api/events?count=3")
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = response.text.split("\n\n")
        assert chunks[0] == "retry: 250"
        events = [json.loads(c.split("data: ", 1)[1]) for c in chunks if c.startswith("event: ")]
        assert [e["totals"]["requests"] for e in events] == [100, 200, 300]
        assert all(len(json.dumps(e)) < 4000 for e in events)
        assert (await client.get("/api/events?count=0")).status_code == 400
        assert (await client.get("/api/events?count=x")).status_code == 400
    assert provider.reads == 3


def test_histogram_overflow_is_an_open_top_bucket() -> None:
    """The balancer's overflow count (or one count more than bounds) is shown as bound -1."""
    expected = {"upper_ms": [1.0, 2.0, -1.0], "counts": [1.0, 0.0, 4.0]}
    for hist in (
        {"bounds_s": [0.001, 0.002], "counts": [1, 0], "overflow": 4},
        {"bounds_s": [0.001, 0.002], "counts": [1, 0, 4]},
    ):
        event = live_event({"stats": {"latency": {"histogram": hist}}}, None)
        assert event["latency_histogram"] == expected
    no_overflow = {"bounds_s": [0.001, 0.002], "counts": [0, 3], "overflow": 0}
    event = live_event({"stats": {"latency": {"histogram": no_overflow}}}, None)
    assert event["latency_histogram"] == {"upper_ms": [2.0], "counts": [3.0]}
