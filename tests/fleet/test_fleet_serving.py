"""A fleet server over real HTTP: 200, 5xx, 429 with Retry-After, bad requests, keep-alive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import h11
import httpx
import pytest

from banditlb.fleet import Fleet
from banditlb.models import scenario
from banditlb.testing import FakeClock

pytestmark = pytest.mark.anyio

SCENARIO = """
name = "serving"
seed = 1

[[servers]]
name = "ok"
tier = "T1"
port = 4100
error_rate = 0.0

[[servers]]
name = "bad"
tier = "T1"
port = 4101
error_rate = 1.0
error_status = 503

[[servers]]
name = "limited"
tier = "T1"
port = 4102
error_rate = 0.0
retry_after = true
limits = [{ kind = "fixed_window", limit = 1, window = 2.0 }]

[[servers]]
name = "quiet"
tier = "T1"
port = 4103
error_rate = 0.0
limits = [{ kind = "fixed_window", limit = 1, window = 2.0 }]

[[servers]]
name = "coin"
tier = "T2"
port = 4104
error_rate = 0.5

[[servers]]
name = "sleepy"
tier = "T2"
port = 4105
error_rate = 0.0
latency = { mean = 0.1 }
"""

GOOD_ID = "abcdefghijklmnopqrstuvwx"
OTHER_ID = "ABCDEFGHIJKLMNOPQRSTUV12"


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[Fleet]:
    async with Fleet(scenario.loads(SCENARIO), ephemeral=True, clock=clock) as started:
        yield started


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield http


def url(fleet: Fleet, name: str, path: str = "/") -> str:
    host, port = fleet.address(name)
    return f"http://{host}:{port}{path}"


async def test_healthy_server_accepts_with_id_and_server_name(
    fleet: Fleet, client: httpx.AsyncClient
) -> None:
    """POST / with a valid id on an error-free server: 200 {"id", "server"}, one accepted id."""
    reply = await client.post(url(fleet, "ok"), content=GOOD_ID)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"id": GOOD_ID, "server": "ok"}
    score = fleet.ledger("T1").score()
    assert (score.ids, score.attempts, score.accepted) == (1, 1, 1)


async def test_failing_server_answers_its_error_status(
    fleet: Fleet, client: httpx.AsyncClient
) -> None:
    """error_rate 1 with error_status 503: 503 with a JSON error, counted as a failure."""
    reply = await client.post(url(fleet, "bad"), content=GOOD_ID)
    assert reply.status_code == 503
    assert reply.json() == {"error": "bad: failed"}
    assert fleet.ledger("T1").servers["bad"].as_dict() == {"200": 0, "5xx": 1, "429": 0}


async def test_rate_limited_server_sends_retry_after_from_the_model(
    fleet: Fleet, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    """Window of 1 per 2 s: 200, then 429 with Retry-After "2", "1" (0.35 s rounded up), 200."""
    first = await client.post(url(fleet, "limited"), content=GOOD_ID)
    second = await client.post(url(fleet, "limited"), content=GOOD_ID)
    clock.advance_to(1.65)
    third = await client.post(url(fleet, "limited"), content=GOOD_ID)
    clock.advance_to(2.0)
    fourth = await client.post(url(fleet, "limited"), content=GOOD_ID)
    assert [r.status_code for r in (first, second, third, fourth)] == [200, 429, 429, 200]
    assert [second.headers["retry-after"], third.headers["retry-after"]] == ["2", "1"]
    assert "retry-after" not in first.headers
    assert fleet.ledger("T1").servers["limited"].as_dict() == {"200": 2, "5xx": 0, "429": 2}


async def test_rate_limited_server_without_hints_omits_retry_after(
    fleet: Fleet, client: httpx.AsyncClient
) -> None:
    """retry_after = false: the 429 has no Retry-After header."""
    await client.post(url(fleet, "quiet"), content=GOOD_ID)
    reply = await client.post(url(fleet, "quiet"), content=GOOD_ID)
    assert reply.status_code == 429
    assert "retry-after" not in reply.headers


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"a" * 23,
        b"a" * 25,
        "é".encode() + b"a" * 22,
        b"a" * 23 + b"-",
        b"a" * 12 + b" " + b"a" * 11,
        b'{"id": "abcdefghijklmnop"}',
    ],
    ids=["empty", "23", "25", "non-ascii", "dash", "space", "json"],
)
async def test_invalid_id_is_400_and_not_counted(
    fleet: Fleet, client: httpx.AsyncClient, body: bytes
) -> None:
    """A body that is not 24 ASCII letters/digits: 400 naming the rule; the ledger is untouched."""
    reply = await client.post(url(fleet, "ok"), content=body)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith("the id must be exactly 24 ASCII letters or digits")
    assert fleet.ledger("T1").score().attempts == 0


async def test_wrong_method_is_405_and_wrong_path_is_404(
    fleet: Fleet, client: httpx.AsyncClient
) -> None:
    """GET / is 405 with Allow: POST; POST /other is 404; neither is counted."""
    wrong_method = await client.get(url(fleet, "ok"))
    wrong_path = await client.post(url(fleet, "ok", "/other"), content=GOOD_ID)
    assert (wrong_method.status_code, wrong_method.headers["allow"]) == (405, "POST")
    assert wrong_path.status_code == 404
    assert "error" in wrong_method.json()
    assert "error" in wrong_path.json()
    assert fleet.ledger("T1").score().attempts == 0


async def test_tiers_have_separate_ledgers(fleet: Fleet, client: httpx.AsyncClient) -> None:
    """The same id sent to a T1 and a T2 server counts once in each tier, not twice in one."""
    await client.post(url(fleet, "ok"), content=GOOD_ID)
    await client.post(url(fleet, "coin"), content=GOOD_ID)
    assert fleet.ledger("T1").score().attempts == 1
    assert fleet.ledger("T2").score().attempts == 1


async def test_keep_alive_serves_many_requests_on_one_connection(fleet: Fleet) -> None:
    """Three requests on one raw connection get three answers; the connection stays open."""
    host, port = fleet.address("ok")
    reader, writer = await asyncio.open_connection(host, port)
    conn = h11.Connection(h11.CLIENT)
    statuses = []
    try:
        for body in (GOOD_ID, OTHER_ID, "short"):
            data = conn.send(
                h11.Request(
                    method="POST",
                    target="/",
                    headers=[("host", host), ("content-length", str(len(body)))],
                )
            )
            data += conn.send(h11.Data(data=body.encode())) + conn.send(h11.EndOfMessage())
            writer.write(data)
            await writer.drain()
            while not isinstance(event := conn.next_event(), h11.EndOfMessage):
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                elif isinstance(event, h11.Response):
                    statuses.append(event.status_code)
            conn.start_next_cycle()
    finally:
        writer.close()
        await writer.wait_closed()
    assert statuses == [200, 200, 400]
    assert fleet.ledger("T1").score().ids == 2


async def test_latency_delays_the_answer(fleet: Fleet, client: httpx.AsyncClient) -> None:
    """latency mean 0.1 s: the answer takes at least 0.1 s."""
    started = time.monotonic()
    reply = await client.post(url(fleet, "sleepy"), content=GOOD_ID)
    assert reply.status_code == 200
    assert time.monotonic() - started >= 0.1


async def test_same_seed_gives_the_same_answers_over_http(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    """Two fleets from one scenario and seed answer the same request sequence identically."""
    answers = []
    for _ in range(2):
        async with Fleet(scenario.loads(SCENARIO), ephemeral=True, clock=clock) as fleet:
            statuses = [
                (await client.post(url(fleet, "coin"), content=GOOD_ID)).status_code
                for _ in range(30)
            ]
        answers.append(statuses)
    assert answers[0] == answers[1]
    assert set(answers[0]) == {200, 500}
