"""HTTP/1.1 over asyncio streams with h11: read requests, hand them to a handler, write answers.

A handler returns a `Response`, or a `Misbehaviour` for the faults that answer with no HTTP at
all. Keep-alive follows h11: the connection serves requests until either side closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
READ_CHUNK = 64 * 1024
GARBAGE = b"\x16\x03\x01\x00 this is not HTTP \xff\xfe\r\n\r\n"
"""What a `malformed` server writes instead of a response: no status line a client can parse."""


@dataclass(frozen=True, slots=True)
class Request:
    """One complete request: method, path, query parameters (last value wins), body, and
    headers (lower-case names, last value wins; the control endpoint's access checks read them)."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Response:
    """One complete answer; `headers` are extra to content-type and content-length."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


class Misbehaviour(StrEnum):
    """Ways to leave a request without an HTTP answer."""

    HANG = "hang"  # keep the connection open, say nothing, until the client gives up
    RESET = "reset"  # abort the connection with a TCP reset
    MALFORMED = "malformed"  # write bytes that are not HTTP, then close


Handler = Callable[[Request], Awaitable[Response | Misbehaviour]]


def json_response(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """A JSON answer."""
    return Response(status, json.dumps(payload).encode("utf-8"), headers)


def error_response(
    status: int, message: str, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    """The project's JSON error shape: `{"error": message}`."""
    return json_response(status, {"error": message}, headers)


class _BadRequest(Exception):
    """The client broke HTTP or the body limit; answer `status` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parse_target(target: bytes) -> tuple[str, dict[str, str]]:
    parts = urlsplit(target.decode("latin-1"))
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return parts.path, query


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Request | None:
    """The next full request on the connection, or None when the client closed it."""
    head: h11.Request | None = None
    body = bytearray()
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise _BadRequest(exc.error_status_hint, f"bad HTTP request: {exc}") from None
        if event is h11.NEED_DATA:
            if conn.they_are_waiting_for_100_continue:
                writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            conn.receive_data(await reader.read(READ_CHUNK))
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise _BadRequest(413, f"body larger than {MAX_BODY} bytes")
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            path, query = _parse_target(head.target)
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in head.headers}
            method = head.method.decode("ascii", "replace")
            return Request(method, path, query, bytes(body), headers)
        else:  # ConnectionClosed, or PAUSED which a well-behaved cycle never reaches
            return None


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, response: Response) -> None:
    headers = [
        ("content-type", response.content_type),
        ("content-length", str(len(response.body))),
        *response.headers,
    ]
    try:
        reason = HTTPStatus(response.status).phrase.encode("ascii")
    except ValueError:
        reason = b""
    data = conn.send(h11.Response(status_code=response.status, headers=headers, reason=reason))
    data += conn.send(h11.Data(data=response.body)) or b""
    data += conn.send(h11.EndOfMessage()) or b""
    writer.write(data)
    await writer.drain()


def abort(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with a TCP reset (SO_LINGER 0), not a polite FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _misbehave(
    what: Misbehaviour, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    if what is Misbehaviour.RESET:
        abort(writer)
    elif what is Misbehaviour.MALFORMED:
        writer.write(GARBAGE)
        await writer.drain()
    else:  # HANG: read and discard until the client gives up and closes
        while await reader.read(READ_CHUNK):
            pass


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
) -> None:
    """Serve requests on one connection until it closes; always closes the writer."""
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            try:
                request = await _read_request(conn, reader, writer)
            except _BadRequest as exc:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await _send(conn, writer, error_response(exc.status, exc.message))
                return
            if request is None:
                return
            try:
                result = await handler(request)
            except Exception as exc:  # a handler bug must not kill the server: answer 500
                log.exception("handler failed on %s %s", request.method, request.path)
                result = error_response(500, f"internal error: {exc}")
            if isinstance(result, Misbehaviour):
                await _misbehave(result, reader, writer)
                return
            await _send(conn, writer, result)
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except (ConnectionError, h11.LocalProtocolError):
        return
    finally:
        if not writer.is_closing():
            writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
