"""A fleet server's standard rate-limit signals over real HTTP: Retry-After modes, RateLimit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from banditlb.balancer.headers import parse_quota, parse_retry_after
from banditlb.fleet import Fleet
from banditlb.game.outcome import Quota
from banditlb.models import scenario
from banditlb.testing import FakeClock

pytestmark = pytest.mark.anyio

WALL = 1_700_000_000.25  # a fixed epoch time for HTTP-dates (2023-11-14 22:13:20.25 UTC)

SCENARIO = """
name = "fields"

[[servers]]
name = "dated"
port = 4200
error_rate = 0.0
retry_after = "date"
limits = [{ kind = "fixed_window", limit = 1, window = 2.0 }]

[[servers]]
name = "fractional"
port = 4201
error_rate = 0.0
retry_after = "fractional"
limits = [{ kind = "fixed_window", limit = 1, window = 2.0 }]

[[servers]]
name = "ietf"
port = 4202
error_rate = 0.0
retry_after = true
rate_limit_headers = "ietf"
limits = [{ kind = "fixed_window", limit = 2, window = 2.0 }]

[[servers]]
name = "x"
port = 4203
error_rate = 1.0
rate_limit_headers = "x"
limits = [{ kind = "token_bucket", rate = 0.5, burst = 2 }]

[[servers]]
name = "unlimited"
port = 4204
error_rate = 0.0
rate_limit_headers = "ietf"
"""

GOOD_ID = "abcdefghijklmnopqrstuvwx"


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[Fleet]:
    world = scenario.loads(SCENARIO)
    async with Fleet(world, ephemeral=True, clock=clock, wall=lambda: WALL) as started:
        yield started


async def post(fleet: Fleet, name: str, times: int = 1) -> list[httpx.Response]:
    host, port = fleet.address(name)
    async with httpx.AsyncClient(timeout=5.0) as http:
        return [await http.post(f"http://{host}:{port}/", content=GOOD_ID) for _ in range(times)]


async def test_date_mode_sends_an_imf_fixdate_rounded_up(fleet: Fleet, clock: FakeClock) -> None:
    """retry_after = "date": the 429 carries ceil(wall + wait) as an IMF-fixdate."""
    clock.advance_to(0.5)
    first, second = await post(fleet, "dated", 2)
    assert (first.status_code, second.status_code) == (200, 429)
    # wait 1.5 s: ceil(1_700_000_000.25 + 1.5) = 1_700_000_002
    assert second.headers["retry-after"] == "Tue, 14 Nov 2023 22:13:22 GMT"
    assert parse_retry_after(second.headers["retry-after"], now=WALL) == pytest.approx(1.75)


async def test_fractional_mode_keeps_milliseconds(fleet: Fleet, clock: FakeClock) -> None:
    """retry_after = "fractional" (opt-in): the old millisecond value."""
    clock.advance_to(0.65)
    _, limited = await post(fleet, "fractional", 2)
    assert limited.headers["retry-after"] == "1.35"


async def test_ietf_fields_on_every_answer(fleet: Fleet, clock: FakeClock) -> None:
    """RateLimit-Policy and RateLimit ride on the 200s and the 429, read back as sent."""
    clock.advance_to(0.5)
    answers = await post(fleet, "ietf", 3)
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert {a.headers["ratelimit-policy"] for a in answers} == {'"default";q=2;w=2'}
    assert [a.headers["ratelimit"] for a in answers] == [
        '"default";r=1;t=2',
        '"default";r=0;t=2',
        '"default";r=0;t=2',
    ]
    assert answers[2].headers["retry-after"] == "2"
    assert [parse_quota(a.headers) for a in answers] == [
        Quota(1, 2.0, 2, 2.0),
        Quota(0, 2.0, 2, 2.0),
        Quota(0, 2.0, 2, 2.0),
    ]


async def test_x_fields_on_failures_and_429s(fleet: Fleet) -> None:
    """X-RateLimit-* on the 5xx answers and the 429 of a token bucket (reset in whole seconds)."""
    answers = await post(fleet, "x", 3)
    assert [a.status_code for a in answers] == [500, 500, 429]
    got = [
        tuple(a.headers[f"x-ratelimit-{name}"] for name in ("limit", "remaining", "reset"))
        for a in answers
    ]
    # burst 2 at 0.5 tokens/s: after one, 1 left and 2 s to refill; then empty, 2 s to a token
    assert got == [("2", "1", "2"), ("2", "0", "2"), ("2", "0", "2")]
    assert "retry-after" not in answers[2].headers


async def test_unlimited_server_sends_no_fields(fleet: Fleet) -> None:
    """A server without limits has no quota to advertise, even with rate_limit_headers set."""
    (answer,) = await post(fleet, "unlimited")
    assert answer.status_code == 200
    assert "ratelimit" not in answer.headers
    assert "ratelimit-policy" not in answer.headers
