"""The referee's control endpoint over real HTTP: scores, resets, listing, killing servers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from banditlb.fleet import Fleet
from banditlb.models import scenario
from banditlb.testing import FakeClock

pytestmark = pytest.mark.anyio

SCENARIO = """
name = "control"

[[servers]]
name = "ok"
tier = "T1"
port = 4200
error_rate = 0.0

[[servers]]
name = "bad"
tier = "T1"
port = 4201
error_rate = 1.0

[[servers]]
name = "limited"
tier = "T1"
port = 4202
error_rate = 0.0
limits = [{ kind = "fixed_window", limit = 1 }]

[[servers]]
name = "other"
tier = "T2"
port = 4203
error_rate = 0.25
"""

A, B, C = "a" * 24, "b" * 24, "c" * 24
ZERO = {"200": 0, "5xx": 0, "429": 0}


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[Fleet]:
    async with Fleet(scenario.loads(SCENARIO), ephemeral=True, clock=clock) as started:
        yield started


@pytest.fixture
async def client(fleet: Fleet) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fleet.control_url, timeout=5.0) as http:
        yield http


async def send(fleet: Fleet, name: str, request_id: str) -> int:
    """One request on a fresh connection (no TLS context: connections are plain HTTP)."""
    host, port = fleet.address(name)
    async with httpx.AsyncClient(timeout=5.0, verify=False) as http:
        return (await http.post(f"http://{host}:{port}/", content=request_id)).status_code


async def play_t1(fleet: Fleet) -> None:
    """A accepted at once; B failed 4 times; C failed, rate limited, then accepted."""
    assert await send(fleet, "ok", A) == 200
    for _ in range(4):
        assert await send(fleet, "bad", B) == 500
    assert await send(fleet, "bad", C) == 500
    assert await send(fleet, "limited", C) == 200
    assert await send(fleet, "limited", C) == 429
    assert await send(fleet, "ok", C) == 200


async def test_score_for_one_tier_matches_what_was_sent(
    fleet: Fleet, client: httpx.AsyncClient
) -> None:
    """3 ids, 9 attempts, 2 accepted, 2 penalised (B's 4th, C's 4th): score 1 at penalty 0.5."""
    await play_t1(fleet)
    reply = await client.get("/score", params={"tier": "T1", "penalty": "0.5"})
    assert reply.status_code == 200
    assert reply.json() == {
        "tier": "T1",
        "ids": 3,
        "attempts": 9,
        "accepted": 2,
        "penalised_attempts": 2,
        "penalty": 0.5,
        "score": 1.0,
        "score_per_id": 1 / 3,
        "servers": {
            "ok": {"200": 2, "5xx": 0, "429": 0},
            "bad": {"200": 0, "5xx": 5, "429": 0},
            "limited": {"200": 1, "5xx": 0, "429": 1},
        },
    }


async def test_score_penalty_defaults_to_one(fleet: Fleet, client: httpx.AsyncClient) -> None:
    """Without penalty= the score uses 1 point per penalised attempt."""
    await play_t1(fleet)
    body = (await client.get("/score", params={"tier": "T1"})).json()
    assert (body["penalty"], body["score"]) == (1.0, 0.0)


async def test_score_without_tier_lists_every_tier_and_a_total(
    fleet: Fleet, client: httpx.AsyncClient
) -> None:
    """GET /score: {"tiers": {T1, T2}, "total"} with the total summed over tiers."""
    await play_t1(fleet)
    await send(fleet, "other", A)
    body = (await client.get("/score")).json()
    assert list(body["tiers"]) == ["T1", "T2"]
    assert body["tiers"]["T2"]["attempts"] == 1
    assert body["tiers"]["T2"]["servers"].keys() == {"other"}
    total = body["total"]
    accepted = 2 + body["tiers"]["T2"]["accepted"]
    assert (total["ids"], total["attempts"], total["penalised_attempts"]) == (4, 10, 2)
    assert (total["accepted"], total["score"]) == (accepted, accepted - 2.0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"penalty": "-1"}, "penalty must be a finite number >= 0"),
        ({"penalty": "lots"}, "penalty must be a finite number >= 0"),
        ({"penalty": "nan"}, "penalty must be a finite number >= 0"),
        ({"penalty": "inf"}, "penalty must be a finite number >= 0"),
        ({"tier": "T9"}, "unknown tier 'T9'; tiers are T1, T2"),
    ],
)
async def test_bad_score_parameters_are_400(
    client: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    """A negative or non-numeric penalty, or an unknown tier: 400 with a JSON error."""
    reply = await client.get("/score", params=params)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(message)


async def test_reset_one_tier_leaves_the_others(fleet: Fleet, client: httpx.AsyncClient) -> None:
    """POST /reset?tier=T1 zeroes T1 only; POST /reset zeroes everything."""
    await play_t1(fleet)
    await send(fleet, "other", A)
    reply = await client.post("/reset", params={"tier": "T1"})
    assert reply.json() == {"reset": ["T1"]}
    t1 = (await client.get("/score", params={"tier": "T1"})).json()
    assert (t1["ids"], t1["attempts"], t1["servers"]["ok"]) == (0, 0, ZERO)
    assert fleet.ledger("T2").score().attempts == 1
    assert (await client.post("/reset")).json() == {"reset": ["T1", "T2"]}
    assert fleet.ledger("T2").score().attempts == 0
    assert (await client.post("/reset", params={"tier": "T7"})).status_code == 400


async def test_servers_lists_name_tier_port_up_and_error_rate(
    fleet: Fleet, client: httpx.AsyncClient
) -> None:
    """GET /servers: one entry per server in scenario order with its real port."""
    rows = (await client.get("/servers")).json()
    assert rows == [
        {
            "name": name,
            "tier": tier,
            "port": fleet.address(name)[1],
            "up": True,
            "error_rate": rate,
        }
        for name, tier, rate in (
            ("ok", "T1", 0.0),
            ("bad", "T1", 1.0),
            ("limited", "T1", 0.0),
            ("other", "T2", 0.25),
        )
    ]


async def test_down_refuses_connects_and_up_restores_the_same_port(
    fleet: Fleet, client: httpx.AsyncClient
) -> None:
    """POST /servers/ok/down: connects fail and up is false; /up: same port answers again."""
    port = fleet.address("ok")[1]
    down = await client.post("/servers/ok/down")
    assert down.json()["up"] is False
    with pytest.raises(httpx.ConnectError):
        await send(fleet, "ok", A)
    assert [r["up"] for r in (await client.get("/servers")).json()] == [False, True, True, True]
    up = await client.post("/servers/ok/up")
    assert (up.json()["up"], up.json()["port"]) == (True, port)
    assert await send(fleet, "ok", A) == 200
    assert fleet.ledger("T1").score().attempts == 1


async def test_down_resets_open_keep_alive_connections(fleet: Fleet) -> None:
    """A pooled connection to a server that goes down is dropped, not left serving."""
    host, port = fleet.address("ok")
    async with httpx.AsyncClient(timeout=5.0) as pooled:
        assert (await pooled.post(f"http://{host}:{port}/", content=A)).status_code == 200
        await fleet.down("ok")
        with pytest.raises(httpx.TransportError):
            await pooled.post(f"http://{host}:{port}/", content=B)
    assert fleet.ledger("T1").score().attempts == 1


async def test_unknown_server_is_404(client: httpx.AsyncClient) -> None:
    """POST /servers/nope/down: 404 naming the server."""
    reply = await client.post("/servers/nope/down")
    assert reply.status_code == 404
    assert reply.json() == {"error": "unknown server 'nope'; see GET /servers"}


async def test_healthz_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    """/healthz is ok; an unknown path is 404; POST /score and GET /servers/ok/down are 405."""
    assert (await client.get("/healthz")).json() == {"ok": True}
    assert (await client.get("/nothing")).status_code == 404
    assert (await client.post("/score")).status_code == 405
    assert (await client.get("/servers/ok/down")).status_code == 405
