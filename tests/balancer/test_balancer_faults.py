"""End to end on loopback: a real balancer in front of a real fleet whose servers misbehave.

Every fault kind is a failed attempt for the strategy, never a 500; serving continues; a killed
server loses its traffic and wins it back once restarted; Retry-After is honoured.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from live_doubles import live_balancer

from banditlb.fleet import Fleet
from banditlb.game.ids import new_id
from banditlb.models import scenario

pytestmark = pytest.mark.anyio

SCENARIO = """
name = "balancer-faults"
seed = 7

[[servers]]
name = "healthy"
tier = "T"
port = 4400
error_rate = 0.0

[[servers]]
name = "hang"
tier = "T"
port = 4401
error_rate = 0.0
faults = [{ kind = "hang" }]

[[servers]]
name = "slow"
tier = "T"
port = 4402
error_rate = 0.0
faults = [{ kind = "slow", delay = 2.0 }]

[[servers]]
name = "reset"
tier = "T"
port = 4403
error_rate = 0.0
faults = [{ kind = "reset" }]

[[servers]]
name = "refused"
tier = "T"
port = 4404
error_rate = 0.0
faults = [{ kind = "refused" }]

[[servers]]
name = "malformed"
tier = "T"
port = 4405
error_rate = 0.0
faults = [{ kind = "malformed" }]

[[servers]]
name = "flap"
tier = "T"
port = 4406
error_rate = 0.0
faults = [{ kind = "flap", period = 0.2, down = 0.1 }]

[[servers]]
name = "limited"
tier = "T"
port = 4407
error_rate = 0.0
retry_after = true
limits = [{ kind = "fixed_window", limit = 1, window = 60.0 }]

[[servers]]
name = "best"
tier = "T"
port = 4408
error_rate = 0.0

[[servers]]
name = "worse"
tier = "T"
port = 4409
error_rate = 0.5
"""


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    async with Fleet(scenario.loads(SCENARIO), ephemeral=True, fault_poll=0.01) as started:
        yield started


def ledger(fleet: Fleet, name: str) -> dict[str, int]:
    counts = fleet.ledger("T").servers.get(name)
    return counts.as_dict() if counts else {"200": 0, "5xx": 0, "429": 0}


async def state(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/state")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


_RNG = random.Random(11)
IDS = iter(new_id(_RNG) for _ in range(10_000))

# (server, the balancer's outcome kind, what the fleet's ledger counts per attempt)
FAULTS = [
    ("hang", "timeout", "5xx"),  # read, never answered: a failure
    ("slow", "timeout", "200"),  # the server accepts after the balancer gave up
    ("reset", "connection_error", "5xx"),
    ("refused", "connection_error", None),  # never reaches the server: not counted
    ("malformed", "connection_error", "5xx"),
]


@pytest.mark.parametrize(("server", "kind", "counted"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_lone_faulty_upstream_gives_502_and_a_failure_of_the_right_kind(
    fleet: Fleet, server: str, kind: str, counted: str | None
) -> None:
    """Alone, a faulty server makes 3 attempts of `kind`, answered 502 JSON; health stays 200."""
    async with live_balancer(fleet, [server]) as client:
        response = await client.post("/", content=next(IDS))
        assert response.status_code == 502
        assert response.json()["attempts"] == 3
        assert response.json()["error"] == "free attempts used; another is not worth the penalty"
        document = await state(client)
        arm = document["stats"]["arms"][0]
        assert (arm[kind], arm["accepted"], arm["failed"]) == (3, 0, 0)
        assert document["strategy"]["arms"][0]["failures"] == 3
        assert (await client.get("/healthz")).status_code == 200
    expected = {"200": 0, "5xx": 0, "429": 0}
    if counted is not None:
        expected[counted] = 3
    assert ledger(fleet, server) == expected


@pytest.mark.parametrize(("server", "kind", "counted"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_faulty_upstream_next_to_a_healthy_one_serving_continues(
    fleet: Fleet, server: str, kind: str, counted: str | None
) -> None:
    """Round robin over faulty + healthy: every request is delivered on its 2nd attempt."""
    async with live_balancer(fleet, [server, "healthy"]) as client:
        responses = [await client.post("/", content=next(IDS)) for _ in range(4)]
        assert [r.status_code for r in responses] == [200] * 4
        assert [r.json()["attempts"] for r in responses] == [2] * 4
        arms = (await state(client))["stats"]["arms"]
    assert (arms[0][kind], arms[1]["accepted"]) == (4, 4)
    assert ledger(fleet, "healthy") == {"200": 4, "5xx": 0, "429": 0}


async def test_flapping_upstream_never_breaks_serving(fleet: Fleet) -> None:
    """A server flapping every 0.1 s next to a healthy one: all 200; its attempts are either
    accepted or connection errors, and the healthy one picks up exactly the failures."""
    async with live_balancer(fleet, ["flap", "healthy"]) as client:
        statuses = []
        for _ in range(30):
            statuses.append((await client.post("/", content=next(IDS))).status_code)
            await asyncio.sleep(0.01)
        arms = (await state(client))["stats"]["arms"]
    assert statuses == [200] * 30
    flap, healthy = arms
    assert flap["accepted"] + flap["connection_error"] == sum(
        flap[k] for k in ("accepted", "failed", "rate_limited", "timeout", "connection_error")
    )
    assert healthy["accepted"] == 30 - flap["accepted"]


async def test_retry_after_is_honoured(fleet: Fleet) -> None:
    """After a 429 with Retry-After (~60 s) the server gets no further attempt: the fleet's
    ledger shows exactly one 200 and one 429 for it, and /metrics shows it blocked."""
    async with live_balancer(fleet, ["limited", "healthy"]) as client:
        responses = [await client.post("/", content=next(IDS)) for _ in range(10)]
        metrics = (await client.get("/metrics")).text
        document = await state(client)
    assert [r.status_code for r in responses] == [200] * 10
    assert ledger(fleet, "limited") == {"200": 1, "5xx": 0, "429": 1}
    assert ledger(fleet, "healthy") == {"200": 9, "5xx": 0, "429": 0}
    assert document["strategy"]["arms"][0]["blocked_until"] > document["now"] + 30
    assert 'banditlb_arm_blocked{server="limited"} 1.0' in metrics
    assert 'banditlb_arm_blocked{server="healthy"} 0.0' in metrics


async def test_killed_server_loses_traffic_and_wins_it_back(fleet: Fleet) -> None:
    """Discounted Thompson over best (no errors) and worse (50%): killing best through the
    control endpoint moves traffic to worse; bringing it back brings traffic back."""
    control = httpx.AsyncClient(base_url=fleet.control_url)
    overrides = {"strategy": "discounted_thompson", "params": {"discount": "0.8"}, "seed": 3}
    async with control, live_balancer(fleet, ["best", "worse"], **overrides) as client:

        async def phase(n: int) -> tuple[int, int]:
            before = ledger(fleet, "best")["200"], ledger(fleet, "worse")["200"]
            for _ in range(n):
                response = await client.post("/", content=next(IDS))
                assert response.status_code in (200, 502)
            return (
                ledger(fleet, "best")["200"] - before[0],
                ledger(fleet, "worse")["200"] - before[1],
            )

        best_1, worse_1 = await phase(40)
        assert (await control.post("/servers/best/down")).json()["up"] is False
        await phase(20)  # learning that best is gone
        best_2, worse_2 = await phase(20)
        assert (await control.post("/servers/best/up")).json()["up"] is True
        best_3, worse_3 = await phase(60)
    assert best_1 > worse_1  # best wins while up
    assert (best_2, worse_2 > 0) == (0, True)  # down: nothing accepted by best, worse serves
    assert best_3 > worse_3  # back up: best wins again
