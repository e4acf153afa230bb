"""The HTTP server's own limits (issue 9 item 3), on real loopback sockets: big headers are
431, slow or silent connections 408, connections beyond the cap 503, unparsable requests 400,
every one of them JSON, and the server keeps answering others meanwhile."""

from __future__ import annotations

import asyncio
import json
import resource
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from balancer_doubles import OK, FakeDownstream

from banditlb.balancer.app import create_app
from banditlb.balancer.protocol import ServerLimits, connection_cap
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream

pytestmark = pytest.mark.anyio

GOOD_ID = "abcdefghijklmnopqrstuvwx"
LIMITS = ServerLimits(max_header_bytes=8 * 1024, header_timeout=0.3, max_connections=4)


@asynccontextmanager
async def balancer(limits: ServerLimits = LIMITS) -> AsyncIterator[tuple[str, int]]:
    """A balancer with a scripted downstream under uvicorn with `limits`; yields host, port."""
    settings = BalancerSettings(upstreams=(Upstream("s", "127.0.0.1", 9),))
    app = create_app(settings, downstream=FakeDownstream({0: [OK]}))
    async with serve_in_background(app, limits=limits) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        yield host, int(port)


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one answer that closes the connection (bounded wait)."""
    raw = await asyncio.wait_for(reader.read(), 3.0)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def assert_json_error(headers: dict[str, str], body: bytes) -> str:
    assert headers["content-type"] == "application/json"
    message: str = json.loads(body)["error"]
    return message


async def test_a_header_over_the_limit_is_431_json_and_never_forwarded() -> None:
    """A 100 KB header gets 431 JSON and a closed connection; a normal request still gets 200."""
    async with balancer() as (host, port):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n"
            + b"X-Big: "
            + b"a" * 100_000
            + b"\r\n\r\n"
            + GOOD_ID.encode()
        )
        status, headers, body = await read_answer(reader)
        writer.close()
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
            fine = await client.post("/", content=GOOD_ID)
    assert status == 431
    assert "at most 8192 bytes" in assert_json_error(headers, body)
    assert fine.status_code == 200


async def test_a_silent_connection_and_a_slow_header_are_408_json() -> None:
    """A connection that sends nothing, and one that sends half a header line and stops, each
    get 408 JSON once the header deadline passes, and are closed."""
    async with balancer() as (host, port):
        silent_reader, silent = await asyncio.open_connection(host, port)
        slow_reader, slow = await asyncio.open_connection(host, port)
        slow.write(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        answers = [await read_answer(silent_reader), await read_answer(slow_reader)]
        silent.close()
        slow.close()
    for status, headers, body in answers:
        assert status == 408
        assert "within 0.3 s" in assert_json_error(headers, body)


async def test_connections_beyond_the_cap_get_503_json_and_the_cap_frees_up() -> None:
    """With 4 connections open, a 5th is answered 503 JSON with Retry-After and closed; once
    they close, a new connection is served."""
    limits = ServerLimits(max_header_bytes=8 * 1024, header_timeout=5.0, max_connections=4)
    async with balancer(limits) as (host, port):
        held = [await asyncio.open_connection(host, port) for _ in range(4)]
        await asyncio.sleep(0.05)  # let the server accept all four
        reader, writer = await asyncio.open_connection(host, port)
        status, headers, body = await read_answer(reader)
        writer.close()
        for _, held_writer in held:
            held_writer.close()
        await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
            fine = await client.post("/", content=GOOD_ID)
    assert status == 503
    assert headers["retry-after"] == "1"
    assert "too many open connections" in assert_json_error(headers, body)
    assert fine.status_code == 200


async def test_a_request_the_parser_rejects_is_400_json() -> None:
    """Bytes that are not HTTP get uvicorn's 400, as JSON like every other answer."""
    async with balancer() as (host, port):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"\x16\x03\x01 not http at all\r\n\r\n")
        status, headers, body = await read_answer(reader)
        writer.close()
    assert status == 400
    assert "invalid HTTP request" in assert_json_error(headers, body)


def test_the_connection_cap_fits_the_file_descriptor_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """With 1,000 descriptors the cap is (1000 - 64) // 2 = 468; with plenty it stays 2,048."""
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1000, 4096))
    assert connection_cap() == 468
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1_000_000, 1_000_000))
    assert connection_cap() == 2048


async def test_a_large_body_arriving_with_its_headers_is_not_counted_as_headers() -> None:
    """Small headers and a 40 KB body in one write: the body's own limit answers (413), not
    the header limit (431: a 100 KB header in one write with its body still gets it, above)."""
    async with balancer() as (host, port):
        reader, writer = await asyncio.open_connection(host, port)
        body = b"a" * 40_000
        writer.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
            + body
        )
        status, _, _ = await read_answer(reader)
        writer.close()
    assert status == 413
