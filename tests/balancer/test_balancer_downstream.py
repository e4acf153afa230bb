"""HttpDownstream over real loopback sockets, Retry-After parsing, and the exception table."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest

from banditlb.balancer.downstream import (
    CAUGHT,
    EXCEPTION_KINDS,
    HttpDownstream,
    make_session,
    outcome_for_exception,
    parse_retry_after,
)
from banditlb.balancer.settings import Upstream
from banditlb.game.outcome import OutcomeKind, Quota

GOOD_ID = "abcdefghijklmnopqrstuvwx"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """Read one HTTP/1.1 request and return its body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return await reader.readexactly(length)


def answering(raw: bytes, *, delay: float = 0.0, bodies: list[bytes] | None = None) -> Handler:
    """A handler that answers every request on the connection with `raw` after `delay`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                body = await read_request(reader)
                if bodies is not None:
                    bodies.append(body)
                await asyncio.sleep(delay)
                writer.write(raw)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


async def resetting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request, then drop the connection with a TCP reset."""
    await read_request(reader)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    writer.transport.abort()


def response(status: str, headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: 2\r\n{headers}\r\nok".encode()


@asynccontextmanager
async def loopback(handler: Handler) -> AsyncIterator[Upstream]:
    """A one-behaviour test server on an ephemeral port."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Upstream("test", "127.0.0.1", port)
    finally:
        server.close()
        await server.wait_closed()


async def send_once(
    handler: Handler, attempt_timeout: float = 1.0
) -> tuple[OutcomeKind, int | None, float | None]:
    async with loopback(handler) as upstream, make_session(4, attempt_timeout) as session:
        outcome = await HttpDownstream(session, [upstream], attempt_timeout).send(0, GOOD_ID)
    return outcome.kind, outcome.status, outcome.retry_after


@pytest.mark.anyio
async def test_200_is_accepted_and_body_is_the_raw_id() -> None:
    """A 200 answer is ACCEPTED; the server received exactly the 24-byte id as the body."""
    bodies: list[bytes] = []
    result = await send_once(answering(response("200 OK"), bodies=bodies))
    assert result == (OutcomeKind.ACCEPTED, 200, None)
    assert bodies == [GOOD_ID.encode()]


@pytest.mark.anyio
async def test_500_is_failed() -> None:
    """A 500 answer is FAILED with its status."""
    assert await send_once(answering(response("500 Internal Server Error"))) == (
        OutcomeKind.FAILED,
        500,
        None,
    )


@pytest.mark.anyio
async def test_429_carries_fractional_retry_after() -> None:
    """A 429 with Retry-After "1.5" is RATE_LIMITED with retry_after 1.5."""
    raw = response("429 Too Many Requests", "Retry-After: 1.5\r\n")
    assert await send_once(answering(raw)) == (OutcomeKind.RATE_LIMITED, 429, 1.5)


@pytest.mark.anyio
async def test_429_with_http_date_in_the_past_is_zero() -> None:
    """A 429 whose Retry-After is an HTTP-date already past is RATE_LIMITED with retry_after 0."""
    raw = response("429 Too Many Requests", "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n")
    assert await send_once(answering(raw)) == (OutcomeKind.RATE_LIMITED, 429, 0.0)


@pytest.mark.anyio
async def test_answers_carry_the_advertised_quota() -> None:
    """The IETF fields on a 200 and the X-RateLimit fields on a 5xx become Outcome.quota."""
    ietf = response(
        "200 OK", 'RateLimit-Policy: "default";q=5;w=2\r\nRateLimit: "default";r=3;t=1\r\n'
    )
    x = response(
        "503 Service Unavailable",
        "X-RateLimit-Limit: 10\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 7\r\n",
    )
    got = []
    for raw in (ietf, x):
        async with loopback(answering(raw)) as upstream, make_session(4, 1.0) as session:
            got.append(await HttpDownstream(session, [upstream], 1.0).send(0, GOOD_ID))
    assert [(o.kind, o.quota) for o in got] == [
        (OutcomeKind.ACCEPTED, Quota(3, 1.0, 5, 2.0)),
        (OutcomeKind.FAILED, Quota(0, 7.0, 10, None)),
    ]


@pytest.mark.anyio
async def test_slow_answer_is_timeout() -> None:
    """An answer slower than the attempt timeout is TIMEOUT."""
    result = await send_once(answering(response("200 OK"), delay=1.0), attempt_timeout=0.1)
    assert result == (OutcomeKind.TIMEOUT, None, None)


@pytest.mark.anyio
async def test_refused_connection_is_connection_error() -> None:
    """A port nobody listens on is CONNECTION_ERROR."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    async with make_session(4, 1.0) as session:
        downstream = HttpDownstream(session, [Upstream("gone", "127.0.0.1", port)], 1.0)
        outcome = await downstream.send(0, GOOD_ID)
    assert (outcome.kind, outcome.status) == (OutcomeKind.CONNECTION_ERROR, None)


@pytest.mark.anyio
async def test_reset_is_connection_error() -> None:
    """A connection reset after the request is CONNECTION_ERROR."""
    assert await send_once(resetting) == (OutcomeKind.CONNECTION_ERROR, None, None)


@pytest.mark.anyio
async def test_malformed_answer_is_connection_error() -> None:
    """An answer that is not HTTP is CONNECTION_ERROR."""
    result = await send_once(answering(b"this is not http\r\n\r\n"))
    assert result == (OutcomeKind.CONNECTION_ERROR, None, None)


@pytest.mark.anyio
async def test_connection_is_kept_alive() -> None:
    """Two attempts to one server reuse one pooled connection."""
    connections = 0
    inner = answering(response("200 OK"))

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await inner(reader, writer)

    async with loopback(counting) as upstream, make_session(4, 1.0) as session:
        downstream = HttpDownstream(session, [upstream], 1.0)
        kinds = [(await downstream.send(0, GOOD_ID)).kind for _ in range(2)]
    assert kinds == [OutcomeKind.ACCEPTED, OutcomeKind.ACCEPTED]
    assert connections == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("1.5", 1.5),
        (" 2 ", 2.0),
        ("0", 0.0),
        ("-1", 0.0),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Retry-After is seconds (fractions allowed, negatives 0); a past date 0; garbage None."""
    assert parse_retry_after(value) == expected


def _instances() -> list[tuple[BaseException, OutcomeKind]]:
    key = aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None)
    os_error = OSError(111, "refused")
    return [
        (TimeoutError(), OutcomeKind.TIMEOUT),
        (aiohttp.ServerTimeoutError(), OutcomeKind.TIMEOUT),
        (aiohttp.ConnectionTimeoutError(), OutcomeKind.TIMEOUT),
        (aiohttp.SocketTimeoutError(), OutcomeKind.TIMEOUT),
        (aiohttp.ClientConnectorError(key, os_error), OutcomeKind.CONNECTION_ERROR),
        (aiohttp.ServerDisconnectedError(), OutcomeKind.CONNECTION_ERROR),
        (aiohttp.ClientOSError(104, "reset"), OutcomeKind.CONNECTION_ERROR),
        (aiohttp.ClientPayloadError("bad body"), OutcomeKind.CONNECTION_ERROR),
        (aiohttp.ClientConnectionResetError("reset"), OutcomeKind.CONNECTION_ERROR),
        (aiohttp.ClientError(), OutcomeKind.CONNECTION_ERROR),
        (ConnectionResetError(), OutcomeKind.CONNECTION_ERROR),
        (OSError(), OutcomeKind.CONNECTION_ERROR),
    ]


@pytest.mark.parametrize(("exc", "kind"), _instances(), ids=lambda v: type(v).__name__)
def test_every_caught_exception_is_mapped(exc: BaseException, kind: OutcomeKind) -> None:
    """Each client exception the downstream catches maps to exactly one outcome kind."""
    assert isinstance(exc, CAUGHT)
    assert outcome_for_exception(exc, 0.25).kind is kind
    assert outcome_for_exception(exc, 0.25).latency == 0.25


def test_exception_table_covers_what_is_caught() -> None:
    """Every exception class in CAUGHT has a kind, and nothing else is silently mapped."""
    assert {exc for exc, _ in EXCEPTION_KINDS} == set(CAUGHT)
    with pytest.raises(TypeError, match="ValueError is not a downstream error"):
        outcome_for_exception(ValueError("x"))
