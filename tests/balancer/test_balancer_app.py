"""The balancer app in-process: request parsing, status rules and the retry rules end to end."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from balancer_doubles import FAIL, OK, FakeDownstream, limited, running
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from banditlb.balancer.app import create_app, json_safe
from banditlb.balancer.recording import AttemptRecord, MemoryRecorder
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.game.outcome import OutcomeKind
from banditlb.testing import FakeClock, ScriptedStrategy

GOOD_ID = "abcdefghijklmnopqrstuvwx"
pytestmark = pytest.mark.anyio


def settings(n: int = 2, **overrides: Any) -> BalancerSettings:
    upstreams = tuple(Upstream(f"s{i}", "127.0.0.1", 4000 + i) for i in range(n))
    return BalancerSettings(upstreams=upstreams, **overrides)


def app_for(
    downstream: FakeDownstream,
    strategy: ScriptedStrategy,
    *,
    clock: FakeClock | None = None,
    recorder: MemoryRecorder | None = None,
    **overrides: Any,
) -> Any:
    n = len(strategy.snapshot(0.0))
    return create_app(
        settings(n, **overrides),
        downstream=downstream,
        strategy=strategy,
        clock=clock or FakeClock(),
        recorder=recorder,
    )


async def test_raw_body_is_delivered() -> None:
    """A raw 24-char id is sent once to the chosen server and answered 200 with that server."""
    downstream = FakeDownstream({0: [OK], 1: [OK]})
    async with running(app_for(downstream, ScriptedStrategy(2, picks=[1]))) as client:
        response = await client.post("/", content=GOOD_ID)
    assert response.status_code == 200
    assert response.json() == {"id": GOOD_ID, "server": "s1", "attempts": 1}
    assert downstream.calls == [(1, GOOD_ID)]


async def test_raw_body_with_text_plain_is_delivered() -> None:
    """A text/plain body is read as the raw id."""
    downstream = FakeDownstream({0: [OK]})
    async with running(app_for(downstream, ScriptedStrategy(1))) as client:
        response = await client.post(
            "/", content=GOOD_ID, headers={"content-type": "text/plain; charset=utf-8"}
        )
    assert response.status_code == 200
    assert downstream.calls == [(0, GOOD_ID)]


async def test_json_body_is_delivered() -> None:
    """`{"id": ...}` with application/json is accepted like the raw id."""
    downstream = FakeDownstream({0: [OK]})
    async with running(app_for(downstream, ScriptedStrategy(1))) as client:
        response = await client.post("/", json={"id": GOOD_ID})
    assert response.status_code == 200
    assert response.json() == {"id": GOOD_ID, "server": "s0", "attempts": 1}
    assert downstream.calls == [(0, GOOD_ID)]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"abc",
        GOOD_ID.encode() + b"y",
        b"abcdefghijklmnopqrstuvw-",
        b"abcdefghijklmnopqrstuvw\n",
    ],
    ids=["empty", "short", "long", "dash", "newline"],
)
async def test_invalid_raw_id_is_400_without_downstream_call(body: bytes) -> None:
    """An id that is not exactly 24 ASCII letters/digits is 400 naming the rule; nothing is sent."""
    downstream = FakeDownstream({0: [OK]})
    async with running(app_for(downstream, ScriptedStrategy(1))) as client:
        response = await client.post("/", content=body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(
        "the id must be exactly 24 ASCII letters or digits; got "
    )
    assert downstream.calls == []


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"ident": GOOD_ID}, 422, 'JSON body must be an object with an "id" field'),
        ([GOOD_ID], 422, 'JSON body must be an object with an "id" field'),
        ({"id": 7}, 422, 'JSON field "id" must be a string, got int'),
        ({"id": GOOD_ID, "x": 1}, 422, "JSON body has unknown field 'x'; only \"id\" is allowed"),
        (
            {"id": "short"},
            400,
            "the id must be exactly 24 ASCII letters or digits; got 5 bytes: 'short'",
        ),
    ],
    ids=["wrong-field", "not-object", "not-string", "extra-field", "bad-id"],
)
async def test_bad_json_body_is_rejected(body: Any, status: int, error: str) -> None:
    """JSON with the wrong shape is 422, a JSON id breaking the id rule is 400; nothing is sent."""
    downstream = FakeDownstream({0: [OK]})
    async with running(app_for(downstream, ScriptedStrategy(1))) as client:
        response = await client.post("/", json=body)
    assert response.status_code == status
    assert response.json() == {"error": error}
    assert downstream.calls == []


async def test_malformed_json_is_400() -> None:
    """A body declared JSON that does not parse is 400."""
    downstream = FakeDownstream({0: [OK]})
    async with running(app_for(downstream, ScriptedStrategy(1))) as client:
        response = await client.post(
            "/", content=b"{nope", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["error"].startswith("body is not valid JSON")
    assert downstream.calls == []


async def test_body_over_1kib_is_413() -> None:
    """A body over 1024 bytes is refused with 413 and never sent."""
    downstream = FakeDownstream({0: [OK]})
    async with running(app_for(downstream, ScriptedStrategy(1))) as client:
        response = await client.post("/", content=b"a" * 1025)
    assert response.status_code == 413
    assert response.json() == {"error": "request body must be at most 1024 bytes, got 1025"}
    assert downstream.calls == []


async def test_never_a_fourth_attempt_at_penalty_one() -> None:
    """With penalty 1 three failures end the request: 502, 3 attempts, whatever the estimates."""
    downstream = FakeDownstream({0: [FAIL], 1: [FAIL]})
    strategy = ScriptedStrategy(2, picks=[0, 1, 0, 1], estimates=[0.99, 0.99])
    async with running(app_for(downstream, strategy, penalty=1.0)) as client:
        response = await client.post("/", content=GOOD_ID)
    assert response.status_code == 502
    assert response.json() == {
        "id": GOOD_ID,
        "attempts": 3,
        "error": "free attempts used; another is not worth the penalty",
    }
    assert [arm for arm, _ in downstream.calls] == [0, 1, 0]


async def test_fourth_attempt_when_estimate_beats_small_penalty() -> None:
    """With penalty 0.1 and estimate 0.9 a 4th attempt is made, and it delivers."""
    downstream = FakeDownstream({0: [FAIL, FAIL, FAIL, OK]})
    strategy = ScriptedStrategy(1, estimates=[0.9])
    async with running(app_for(downstream, strategy, penalty=0.1)) as client:
        response = await client.post("/", content=GOOD_ID)
    assert response.status_code == 200
    assert response.json() == {"id": GOOD_ID, "server": "s0", "attempts": 4}
    assert len(downstream.calls) == 4


async def test_no_fourth_attempt_when_estimate_below_penalty() -> None:
    """With penalty 0.1 and estimate 0.05 the request stops after 3 attempts."""
    downstream = FakeDownstream({0: [FAIL]})
    strategy = ScriptedStrategy(1, estimates=[0.05])
    async with running(app_for(downstream, strategy, penalty=0.1)) as client:
        response = await client.post("/", content=GOOD_ID)
    assert response.status_code == 502
    assert response.json()["attempts"] == 3
    assert len(downstream.calls) == 3


async def test_no_attempt_inside_retry_after() -> None:
    """A server that answered 429 with Retry-After 2 is not offered again until 2 s later."""
    clock = FakeClock()
    downstream = FakeDownstream({0: [limited(2.0), OK], 1: [FAIL]})
    strategy = ScriptedStrategy(2, picks=[0, 1, 1, 1, 0])
    async with running(app_for(downstream, strategy, clock=clock)) as client:
        first = await client.post("/", content=GOOD_ID)
        clock.advance(1.99)
        second = await client.post("/", content="B" * 24)
        clock.advance(0.01)
        third = await client.post("/", content="C" * 24)
    assert first.status_code == 502
    assert second.status_code == 502
    assert third.json() == {"id": "C" * 24, "server": "s0", "attempts": 1}
    assert strategy.offered == [[0, 1], [1], [1], [1], [1], [1], [0, 1]]
    assert [arm for arm, _ in downstream.calls] == [0, 1, 1, 1, 1, 1, 0]


async def test_503_when_every_server_is_inside_retry_after() -> None:
    """When no server may be tried the answer is 503 with 0 attempts and nothing is sent."""
    clock = FakeClock()
    downstream = FakeDownstream({0: [limited(5.0), OK]})
    async with running(app_for(downstream, ScriptedStrategy(1), clock=clock)) as client:
        first = await client.post("/", content=GOOD_ID)
        second = await client.post("/", content="B" * 24)
        clock.advance(5.0)
        third = await client.post("/", content="C" * 24)
    assert first.status_code == 502
    assert first.json() == {"id": GOOD_ID, "attempts": 1, "error": "no server available"}
    assert second.status_code == 503
    assert second.json() == {"id": "B" * 24, "attempts": 0, "error": "no server available"}
    assert third.status_code == 200
    assert len(downstream.calls) == 2


async def test_request_deadline_stops_retries() -> None:
    """Attempts that use up the 10 s request deadline end the request with 502."""
    clock = FakeClock()
    downstream = FakeDownstream({0: [FAIL]}, on_send=lambda arm, rid: clock.advance(6.0))
    strategy = ScriptedStrategy(1)
    async with running(app_for(downstream, strategy, clock=clock)) as client:
        response = await client.post("/", content=GOOD_ID)
    assert response.json() == {"id": GOOD_ID, "attempts": 2, "error": "request deadline passed"}


async def test_overloaded_balancer_answers_503_without_sending() -> None:
    """With max_in_flight=1 a second concurrent request is 503 and never sent."""
    downstream = FakeDownstream({0: [OK]})
    downstream.gate = asyncio.Event()
    app = app_for(downstream, ScriptedStrategy(1), max_in_flight=1)
    async with running(app) as client:
        first = asyncio.create_task(client.post("/", content=GOOD_ID))
        while not downstream.calls:
            await asyncio.sleep(0)
        second = await client.post("/", content="B" * 24)
        downstream.gate.set()
        first_response = await first
    assert second.status_code == 503
    assert second.json() == {
        "error": "balancer overloaded: 1 requests in flight, max_in_flight is 1"
    }
    assert first_response.status_code == 200
    assert downstream.calls == [(0, GOOD_ID)]


async def test_attempts_are_recorded_and_recorder_lifecycle_runs() -> None:
    """Each attempt reaches the recorder with its fields; the lifespan starts and closes it."""
    clock = FakeClock(100.0)
    recorder = MemoryRecorder()
    downstream = FakeDownstream({0: [FAIL], 1: [OK]})
    app = app_for(downstream, ScriptedStrategy(2, picks=[0, 1]), clock=clock, recorder=recorder)
    async with running(app) as client:
        assert recorder.started
        await client.post("/", content=GOOD_ID)
    assert recorder.closed
    records = list(recorder.records)
    assert [(r.request_no, r.attempt, r.arm, r.server, r.kind, r.status) for r in records] == [
        (1, 1, 0, "s0", OutcomeKind.FAILED, 500),
        (1, 2, 1, "s1", OutcomeKind.ACCEPTED, 200),
    ]
    assert all(isinstance(r, AttemptRecord) and r.request_id == GOOD_ID for r in records)
    assert all(r.at > 1_600_000_000 for r in records)  # Unix epoch seconds


async def test_healthz() -> None:
    """GET /healthz answers 200 {"status": "ok"}."""
    async with running(app_for(FakeDownstream({0: [OK]}), ScriptedStrategy(1))) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_api_state_reports_settings_stats_and_strategy() -> None:
    """GET /api/state has the settings summary, live stats and per-arm strategy snapshots."""
    clock = FakeClock()
    downstream = FakeDownstream({0: [limited(3.0)], 1: [OK]})
    app = app_for(downstream, ScriptedStrategy(2, picks=[0, 1]), clock=clock, label="T1")
    async with running(app) as client:
        await client.post("/", content=GOOD_ID)
        await client.post("/", content="bad")
        state = (await client.get("/api/state")).json()
    assert set(state) == {"settings", "now", "uptime_s", "in_flight", "stats", "strategy"}
    assert state["settings"]["label"] == "T1"
    assert state["settings"]["upstreams"][1] == {"name": "s1", "host": "127.0.0.1", "port": 4001}
    stats = state["stats"]
    assert (stats["requests"], stats["delivered"], stats["rejected"], stats["attempts"]) == (
        1,
        1,
        1,
        2,
    )
    assert stats["arms"][0]["rate_limited"] == 1
    assert stats["arms"][1]["accepted"] == 1
    arms = state["strategy"]["arms"]
    assert [(a["arm"], a["server"], a["pulls"], a["blocked_until"]) for a in arms] == [
        (0, "s0", 1, 3.0),
        (1, "s1", 1, 0.0),
    ]


def test_json_safe_replaces_non_finite_floats() -> None:
    """Infinite and NaN floats become None anywhere in the document; the rest is unchanged."""
    document = {"a": float("inf"), "b": [1.5, float("nan"), ("x", -float("inf"))], "c": 2}
    assert json_safe(document) == {"a": None, "b": [1.5, None, ["x", None]], "c": 2}


async def test_extra_routes_are_served() -> None:
    """Routes passed as extra_routes are mounted next to the balancer's own."""

    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = create_app(
        settings(1),
        downstream=FakeDownstream({0: [OK]}),
        extra_routes=[Route("/hello", hello)],
    )
    async with running(app) as client:
        response = await client.get("/hello")
    assert (response.status_code, response.text) == (200, "hi")
