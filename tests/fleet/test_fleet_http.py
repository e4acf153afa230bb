"""The h11 connection loop and the closable listener, with small handlers of their own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from banditlb.fleet.http import MAX_BODY, Misbehaviour, Request, Response, json_response
from banditlb.fleet.listener import Listener

pytestmark = pytest.mark.anyio


async def echo(request: Request) -> Response | Misbehaviour:
    """Echoes the request; /boom raises; /reset misbehaves."""
    if request.path == "/boom":
        raise RuntimeError("kaput")
    if request.path == "/reset":
        return Misbehaviour.RESET
    return json_response(
        200,
        {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": request.body.decode(),
        },
    )


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    served = Listener("echo", "127.0.0.1", 0, echo)
    await served.open()
    try:
        yield served
    finally:
        await served.close()


async def raw(listener: Listener, data: bytes) -> bytes:
    """Send raw bytes, return everything the server writes until it closes."""
    reader, writer = await asyncio.open_connection(listener.host, listener.port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5.0)
    writer.close()
    await writer.wait_closed()
    return answer


async def test_request_parts_reach_the_handler(listener: Listener) -> None:
    """Method, path, last query value and body arrive as sent."""
    async with httpx.AsyncClient() as http:
        reply = await http.put(
            f"http://127.0.0.1:{listener.port}/p/q?x=1&x=2&y=z", content=b"hello"
        )
    assert reply.json() == {
        "method": "PUT",
        "path": "/p/q",
        "query": {"x": "2", "y": "z"},
        "body": "hello",
    }


async def test_handler_exception_is_a_json_500_and_the_server_lives_on(
    listener: Listener,
) -> None:
    """A handler that raises yields 500 {"error"}; the next request is served normally."""
    async with httpx.AsyncClient() as http:
        boom = await http.get(f"http://127.0.0.1:{listener.port}/boom")
        fine = await http.get(f"http://127.0.0.1:{listener.port}/")
    assert (boom.status_code, boom.json()) == (500, {"error": "internal error: kaput"})
    assert fine.status_code == 200


async def test_garbage_request_gets_400_and_close(listener: Listener) -> None:
    """Bytes that are not an HTTP request: a 400 answer, then the connection closes."""
    answer = await raw(listener, b"HELLO THERE\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"error": "bad HTTP request' in answer


async def test_oversized_body_is_413(listener: Listener) -> None:
    """A body over MAX_BODY bytes is refused with 413."""
    async with httpx.AsyncClient() as http:
        reply = await http.post(f"http://127.0.0.1:{listener.port}/", content=b"x" * (MAX_BODY + 1))
    assert reply.status_code == 413


async def test_expect_100_continue_is_honoured(listener: Listener) -> None:
    """A client waiting for 100 Continue gets it, then the final answer."""
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
    reader, writer = await asyncio.open_connection(listener.host, listener.port)
    writer.write(head + b"Connection: close\r\n\r\n")
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
    writer.write(b"ok")
    final = await asyncio.wait_for(reader.read(), 5.0)
    writer.close()
    await writer.wait_closed()
    assert interim.startswith(b"HTTP/1.1 100 ")
    assert final.startswith(b"HTTP/1.1 200 ")
    assert final.endswith(b'"body": "ok"}')


async def test_close_refuses_connects_and_open_rebinds_the_same_port(
    listener: Listener,
) -> None:
    """After close() connects are refused; open() serves again on the very same port."""
    port = listener.port
    await listener.close()
    assert not listener.is_open
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    await listener.open()
    assert listener.port == port
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"http://127.0.0.1:{port}/")).status_code == 200


async def test_reset_misbehaviour_sends_a_tcp_reset(listener: Listener) -> None:
    """Misbehaviour.RESET aborts with RST: the client's read fails with ConnectionResetError."""
    reader, writer = await asyncio.open_connection(listener.host, listener.port)
    writer.write(b"GET /reset HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(), 5.0)
    writer.close()
    with contextlib.suppress(ConnectionResetError):
        await writer.wait_closed()
