"""Open-loop load: the schedule, the ids, the concurrency guard and the report."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from banditlb.errors import ConfigError
from banditlb.game.ids import new_id
from banditlb.harness.load import LoadPlan, LoadProgress, percentile, run_load


class Target:
    """A loopback HTTP server that records bodies and answers when `release` allows."""

    def __init__(self, status_for: Callable[[int], int] = lambda n: 200) -> None:
        self.bodies: list[bytes] = []
        self.content_types: list[str] = []
        self.release: asyncio.Event | None = None
        self.hold_until: int = 0  # hold answers until this many requests have arrived
        self._all_arrived = asyncio.Event()
        self._status_for = status_for

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = dict(
                    line.decode().lower().split(": ", 1)
                    for line in head.split(b"\r\n")[1:]
                    if b": " in line
                )
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                n = len(self.bodies)
                self.bodies.append(body)
                self.content_types.append(headers.get("content-type", ""))
                if len(self.bodies) >= self.hold_until:
                    self._all_arrived.set()
                await self._all_arrived.wait()
                if self.release is not None:
                    await self.release.wait()
                status = self._status_for(n)
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(target: Target) -> AsyncIterator[str]:
    server = await asyncio.start_server(target.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.anyio
async def test_ids_are_fresh_seeded_and_sent_raw() -> None:
    """Each request carries a new id from the seeded RNG, as the raw text/plain body."""
    target = Target()
    async with serving(target) as url:
        report = await run_load(LoadPlan(url=url, rps=500, requests=5, seed=7))
    rng = random.Random(7)
    expected = [new_id(rng).encode() for _ in range(5)]
    assert sorted(target.bodies) == sorted(expected)
    assert set(target.content_types) == {"text/plain"}
    assert (report.sent, report.delivered, report.failed, report.errors) == (5, 5, 0, 0)
    assert report.statuses == {200: 5}


@pytest.mark.anyio
async def test_json_bodies() -> None:
    """`body="json"` sends {"id": ...} as application/json."""
    target = Target()
    async with serving(target) as url:
        await run_load(LoadPlan(url=url, rps=500, requests=3, body="json", seed=1))
    rng = random.Random(1)
    assert sorted(json.loads(b)["id"] for b in target.bodies) == sorted(
        new_id(rng) for _ in range(3)
    )
    assert set(target.content_types) == {"application/json"}


@pytest.mark.anyio
async def test_open_loop_sends_without_waiting_for_answers() -> None:
    """All 20 requests are sent although the server answers none until all 20 have arrived."""
    target = Target()
    target.hold_until = 20
    async with serving(target) as url:
        report = await asyncio.wait_for(run_load(LoadPlan(url=url, rps=400, requests=20)), 30)
    assert (report.sent, report.delivered) == (20, 20)


@pytest.mark.anyio
async def test_concurrency_guard_drops_sends() -> None:
    """With 2 requests stuck in flight, the other 3 planned sends are dropped and counted."""
    target = Target()
    target.release = asyncio.Event()
    release = target.release

    def on_progress(p: LoadProgress) -> None:
        if p.sent + p.dropped == p.total:
            release.set()

    async with serving(target) as url:
        plan = LoadPlan(url=url, rps=1000, requests=5, max_in_flight=2)
        report = await run_load(plan, on_progress=on_progress)
    assert (report.sent, report.dropped, report.delivered) == (2, 3, 2)


@pytest.mark.anyio
async def test_non_200_counts_as_failed_and_unreachable_as_error() -> None:
    """A 502 answer is failed; a refused connection is an error with no latency sample."""
    target = Target(status_for=lambda n: 502 if n % 2 else 200)
    async with serving(target) as url:
        report = await run_load(LoadPlan(url=url, rps=500, requests=4))
    assert (report.delivered, report.failed, report.errors) == (2, 2, 0)
    assert report.statuses == {200: 2, 502: 2}
    async with serving(Target()) as url:
        pass  # the port is closed now
    report = await run_load(LoadPlan(url=url, rps=500, requests=2))
    assert (report.sent, report.delivered, report.errors, report.latencies_s) == (2, 0, 2, ())
    assert report.p50_s is None
    assert report.score is None


def test_percentile_nearest_rank() -> None:
    """Percentiles use the nearest rank of sorted values."""
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile([], 0.5)) == (
        50.0,
        99.0,
        None,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rps": 0.0}, "rps must be a finite number > 0, got 0.0"),
        ({"requests": -1}, "requests must be >= 0, got -1"),
        ({"body": "xml"}, "body must be 'raw' or 'json', got 'xml'"),
        ({"max_in_flight": 0}, "--max-in-flight must be >= 1, got 0"),
        ({"referee": "http://x"}, r"a referee needs a tier \(--tier T1\) to reset and score"),
        ({"penalty": -0.5}, "penalty must be a finite number >= 0, got -0.5"),
        ({"url": "notaurl"}, "url must be an http:// or https:// URL with a host, got 'notaurl'"),
        ({"url": "ftp://h/"}, "url must be an http:// or https:// URL with a host"),
        ({"url": "http:///x"}, "url must be an http:// or https:// URL with a host"),
        ({"url": "http://h:99999/"}, "url must be an http:// URL with a valid port"),
        ({"referee": "localhost:3999", "tier": "T1"}, "referee must be an http:// or https://"),
    ],
)
def test_bad_plans(kwargs: dict[str, object], message: str) -> None:
    """A bad load plan is a ConfigError naming the value and the rule."""
    with pytest.raises(ConfigError, match=message):
        LoadPlan(**{"url": "http://127.0.0.1:1/", **kwargs})  # type: ignore[arg-type]
