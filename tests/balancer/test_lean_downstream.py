"""LeanDownstream (the balancer's own upstream client) gives the same outcomes as the aiohttp
`HttpDownstream` for the same loopback servers, keeps connections alive, and passes Via on."""

from __future__ import annotations

import asyncio
import socket

import pytest
from test_balancer_downstream import (
    GOOD_ID,
    Handler,
    answering,
    loopback,
    read_request,
    resetting,
    response,
)

from banditlb.balancer.lean_downstream import LeanDownstream
from banditlb.balancer.settings import Upstream
from banditlb.game.outcome import OutcomeKind, Quota

pytestmark = pytest.mark.anyio


def answer_once(raw: bytes) -> Handler:
    """Answer the first request with `raw`, then close the connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            writer.write(raw)
            await writer.drain()
        finally:
            writer.close()

    return handle


async def send_once(
    handler: Handler, attempt_timeout: float = 1.0
) -> tuple[OutcomeKind, int | None, float | None]:
    async with loopback(handler) as upstream:
        downstream = LeanDownstream([upstream], attempt_timeout)
        outcome = await downstream.send(0, GOOD_ID)
        await downstream.close()
    return outcome.kind, outcome.status, outcome.retry_after


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (response("200 OK"), (OutcomeKind.ACCEPTED, 200, None)),
        (response("500 Internal Server Error"), (OutcomeKind.FAILED, 500, None)),
        (response("503 Service Unavailable"), (OutcomeKind.FAILED, 503, None)),
        (
            response("429 Too Many Requests", "Retry-After: 1.5\r\n"),
            (OutcomeKind.RATE_LIMITED, 429, 1.5),
        ),
        (
            response("429 Too Many Requests", "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n"),
            (OutcomeKind.RATE_LIMITED, 429, 0.0),  # an HTTP-date in the past: retry now
        ),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nok", (OutcomeKind.ACCEPTED, 200, None)),
        (b"this is not http\r\n\r\n", (OutcomeKind.CONNECTION_ERROR, None, None)),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok",
            (OutcomeKind.CONNECTION_ERROR, None, None),
        ),
    ],
)
async def test_answers_map_like_the_aiohttp_client(
    raw: bytes, expected: tuple[OutcomeKind, int | None, float | None]
) -> None:
    """Statuses, Retry-After forms, an answer ending at EOF, garbage and a truncated body."""
    assert await send_once(answer_once(raw)) == expected


async def test_rate_limit_fields_reach_the_outcome_as_a_quota() -> None:
    """X-RateLimit-* and the IETF RateLimit fields are read into `Outcome.quota`."""
    x_fields = "X-RateLimit-Limit: 5\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 3\r\n"
    ietf = 'RateLimit-Policy: "default";q=10;w=2\r\nRateLimit: "default";r=4;t=1\r\n'
    for fields, expected in ((x_fields, Quota(0, 3.0, 5)), (ietf, Quota(4, 1.0, 10, 2.0))):
        async with loopback(answer_once(response("200 OK", fields))) as upstream:
            downstream = LeanDownstream([upstream], 1.0)
            outcome = await downstream.send(0, GOOD_ID)
            await downstream.close()
        assert outcome.quota == expected


async def test_slow_answer_is_timeout() -> None:
    """An answer slower than the attempt timeout is TIMEOUT."""
    result = await send_once(answering(response("200 OK"), delay=1.0), attempt_timeout=0.1)
    assert result == (OutcomeKind.TIMEOUT, None, None)


async def test_refused_and_reset_are_connection_errors() -> None:
    """A port nobody listens on, and a reset after the request, are CONNECTION_ERROR."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    refused = await LeanDownstream([Upstream("gone", "127.0.0.1", port)], 1.0).send(0, GOOD_ID)
    assert (refused.kind, refused.status) == (OutcomeKind.CONNECTION_ERROR, None)
    assert await send_once(resetting) == (OutcomeKind.CONNECTION_ERROR, None, None)


async def test_one_connection_is_kept_alive_and_the_body_is_the_raw_id() -> None:
    """Three attempts to one server reuse one connection; each body is exactly the id."""
    connections = 0
    bodies: list[bytes] = []
    inner = answering(response("200 OK"), bodies=bodies)

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await inner(reader, writer)

    async with loopback(counting) as upstream:
        downstream = LeanDownstream([upstream], 1.0)
        kinds = [(await downstream.send(0, GOOD_ID)).kind for _ in range(3)]
        await downstream.close()
    assert kinds == [OutcomeKind.ACCEPTED] * 3
    assert connections == 1
    assert bodies == [GOOD_ID.encode()] * 3


async def test_via_names_this_balancer_after_the_hops_so_far() -> None:
    """The request carries `Via: <client's hops>, <ours>` (ours alone without client hops)."""
    heads: list[bytes] = []

    async def capture(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                heads.append(head)
                await reader.readexactly(24)
                writer.write(response("200 OK"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async with loopback(capture) as upstream:
        downstream = LeanDownstream([upstream], 1.0, via="1.1 banditlb-me")
        await downstream.send(0, GOOD_ID)
        await downstream.send(0, GOOD_ID, "1.0 proxy")
        await downstream.close()
        await asyncio.sleep(0.05)  # let the server see the close
    vias = [
        line.split(b": ", 1)[1]
        for head in heads
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"via:")
    ]
    assert vias == [b"1.1 banditlb-me", b"1.0 proxy, 1.1 banditlb-me"]
