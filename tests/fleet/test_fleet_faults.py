"""Each fault kind as a client sees it, and how the referee counts it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from banditlb.fleet import Fleet
from banditlb.game.ledger import NO_ANSWER
from banditlb.models import scenario
from banditlb.testing import FakeClock

pytestmark = pytest.mark.anyio

SCENARIO = """
name = "faults"

[[servers]]
name = "hang"
tier = "T"
port = 4300
error_rate = 0.0
faults = [{ kind = "hang" }]

[[servers]]
name = "reset"
tier = "T"
port = 4301
error_rate = 0.0
faults = [{ kind = "reset" }]

[[servers]]
name = "malformed"
tier = "T"
port = 4302
error_rate = 0.0
faults = [{ kind = "malformed" }]

[[servers]]
name = "refused"
tier = "T"
port = 4303
error_rate = 0.0
faults = [{ kind = "refused", start = 1.0, end = 2.0 }]

[[servers]]
name = "flap"
tier = "T"
port = 4304
error_rate = 0.0
faults = [{ kind = "flap", period = 2.0, down = 1.0 }]

[[servers]]
name = "slow"
tier = "T"
port = 4305
error_rate = 0.0
faults = [{ kind = "slow", delay = 0.2 }]
"""

ID = "faultyfaultyfaultyfaulty"


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[Fleet]:
    async with Fleet(scenario.loads(SCENARIO), ephemeral=True, clock=clock) as started:
        yield started


async def send(fleet: Fleet, name: str, timeout: float = 5.0) -> httpx.Response:
    host, port = fleet.address(name)
    async with httpx.AsyncClient(timeout=timeout) as http:
        return await http.post(f"http://{host}:{port}/", content=ID)


def counts(fleet: Fleet, name: str) -> dict[str, int]:
    server = fleet.ledger("T").servers.get(name)
    return server.as_dict() if server else {"200": 0, "5xx": 0, "429": 0}


async def test_hang_never_answers_until_the_client_gives_up(fleet: Fleet) -> None:
    """hang: the client times out; the attempt counts as a failure (NO_ANSWER)."""
    with pytest.raises(httpx.ReadTimeout):
        await send(fleet, "hang", timeout=0.2)
    assert counts(fleet, "hang") == {"200": 0, "5xx": 1, "429": 0}
    assert fleet.ledger("T").attempts == {ID: 1}
    assert NO_ANSWER == 0


async def test_reset_drops_the_connection(fleet: Fleet) -> None:
    """reset: the client sees a connection reset (no response); counted as a failure."""
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await send(fleet, "reset")
    assert counts(fleet, "reset") == {"200": 0, "5xx": 1, "429": 0}


async def test_malformed_answers_with_bytes_that_are_not_http(fleet: Fleet) -> None:
    """malformed: the client cannot parse the answer; counted as a failure."""
    with pytest.raises(httpx.RemoteProtocolError):
        await send(fleet, "malformed")
    assert counts(fleet, "malformed") == {"200": 0, "5xx": 1, "429": 0}


async def test_refused_window_closes_and_reopens_the_socket(fleet: Fleet, clock: FakeClock) -> None:
    """refused in [1, 2): 200 at 0, connect refused at 1 (not counted), 200 again at 2."""
    assert (await send(fleet, "refused")).status_code == 200
    clock.advance_to(1.0)
    await fleet.refresh()
    assert not fleet.is_up("refused")
    with pytest.raises(httpx.ConnectError):
        await send(fleet, "refused")
    clock.advance_to(2.0)
    await fleet.refresh()
    assert (await send(fleet, "refused")).status_code == 200
    assert counts(fleet, "refused") == {"200": 2, "5xx": 0, "429": 0}


async def test_flap_is_down_for_down_seconds_of_every_period(
    fleet: Fleet, clock: FakeClock
) -> None:
    """flap(period 2, down 1): refused at 0, up at 1, refused at 2, up at 3.5."""
    seen = []
    for now in (0.0, 1.0, 2.0, 3.5):
        clock.advance_to(now)
        await fleet.refresh()
        try:
            seen.append((await send(fleet, "flap")).status_code)
        except httpx.ConnectError:
            seen.append(None)
    assert seen == [None, 200, None, 200]
    assert fleet.ledger("T").score().attempts == 2


async def test_supervisor_follows_the_clock_without_refresh(fleet: Fleet, clock: FakeClock) -> None:
    """Without refresh(), the fleet's own poll opens the flapping server within a few ticks."""
    assert not fleet.is_up("flap")
    clock.advance_to(1.0)
    for _ in range(200):
        if fleet.is_up("flap"):
            break
        await asyncio.sleep(0.01)
    assert (await send(fleet, "flap")).status_code == 200


async def test_request_on_a_kept_alive_connection_to_a_down_server_is_reset(
    clock: FakeClock,
) -> None:
    """A pooled connection opened while up, used once down (before any poll): reset, uncounted."""
    clock.advance_to(1.0)
    lazy = Fleet(scenario.loads(SCENARIO), ephemeral=True, clock=clock, fault_poll=3600.0)
    async with lazy, httpx.AsyncClient(timeout=5.0) as pooled:
        host, port = lazy.address("flap")
        assert (await pooled.post(f"http://{host}:{port}/", content=ID)).status_code == 200
        clock.advance_to(2.0)
        assert lazy.is_up("flap")
        with pytest.raises(httpx.TransportError):
            await pooled.post(f"http://{host}:{port}/", content=ID)
        assert lazy.ledger("T").score().attempts == 1


async def test_slow_answers_after_its_delay(fleet: Fleet) -> None:
    """slow(delay 0.2): a normal 200, arriving at least 0.2 s after the request."""
    started = time.monotonic()
    reply = await send(fleet, "slow")
    assert reply.status_code == 200
    assert time.monotonic() - started >= 0.2
