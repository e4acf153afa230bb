"""uvicorn's httptools protocol with the limits a public-facing HTTP server needs, all JSON.

uvicorn alone accepts a header of any size (httptools buffers it whole: issue 9 sent 64 MB
through and stalled `/healthz` with 200 MB), waits forever for a connection that sends nothing
(20,000 silent connections used up the file descriptors) and answers its own errors in plain
text. `GuardedProtocol` adds, per connection:

- a header limit: more than `max_header_bytes` (32 KiB, nginx's default) read while a
  request's headers are still incomplete is answered 431 and the connection closed (counted
  per read, so httptools never buffers more than the limit plus one read); a read that ends
  a message is not counted (it is mostly body: the proxy takes large bodies), and instead the
  request line and headers are measured exactly when they complete;
- a header deadline: a connection that has not finished a request's headers within
  `header_timeout` seconds of opening (or of its first byte, for later requests on a kept-alive
  connection) is answered 408 and closed; idle kept-alive connections close after uvicorn's
  `timeout_keep_alive`;
- a connection cap: beyond `max_connections` open connections (2,048, lowered by
  `connection_cap` to fit the file-descriptor limit) a new one is answered 503 with
  `Retry-After: 1` and closed at once, so descriptors stay for the ones being served;
- uvicorn's own 400 for a request httptools cannot parse, as JSON.
The body has its own limits in `intake.py` (size, 408 deadline).
"""

from __future__ import annotations

import asyncio
import json
import resource
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADER_BYTES = 32 * 1024
HEADER_TIMEOUT_S = 5.0
MAX_CONNECTIONS = 2048
KEEP_ALIVE_S = 5.0


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """The limits `GuardedProtocol` enforces; see the module docstring."""

    max_header_bytes: int = MAX_HEADER_BYTES
    header_timeout: float = HEADER_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS
    keep_alive: float = KEEP_ALIVE_S


def json_error_bytes(status: int, message: str, headers: tuple[bytes, ...] = ()) -> bytes:
    """A complete HTTP/1.1 answer `{"error": message}` that closes the connection."""
    body = json.dumps({"error": message}).encode()
    phrase = HTTPStatus(status).phrase.encode()
    lines = [
        b"HTTP/1.1 %d %s" % (status, phrase),
        b"content-type: application/json",
        b"content-length: %d" % len(body),
        b"connection: close",
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class GuardedProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` with header size and time limits, a connection cap, JSON errors."""

    limits: ClassVar[ServerLimits] = ServerLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._completed = False  # a message ended during the current read
        self._read = 0  # bytes of the read being parsed
        self._oversize = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
            self.transport = transport
            message = (
                f"too many open connections (at most {self.limits.max_connections}); retry later"
            )
            transport.write(json_error_bytes(503, message, (b"retry-after: 1",)))
            transport.close()
            return
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self._refused:
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._completed = False
        self._read = len(data)
        super().data_received(data)
        # Counted after parsing: a read that completed the headers (the rest is body) is not,
        # nor one that ended a message (its bytes are mostly the body's end: a large body, as
        # the proxy takes, must not count as the next request's headers).
        if self._awaiting_headers and not self._completed and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._reject(431, self._oversize_message())

    def send_400_response(self, msg: str) -> None:
        if self._oversize:
            self._reject(431, self._oversize_message())
            return
        self._reject(400, f"invalid HTTP request: {msg.rstrip('.')}")

    def _oversize_message(self) -> str:
        return f"request line and headers must be at most {self.limits.max_header_bytes} bytes"

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_headers = True
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        limit = self.limits.max_header_bytes
        if self._header_bytes + self._read > limit and self._header_size() > limit:
            # Headers that arrived whole in one read with their message's end (the per-read
            # count skips such reads): refused before the app sees the request. Measured only
            # when the bytes seen could exceed the limit, so the usual request pays nothing.
            self._oversize = True
            raise ValueError("headers too large")  # httptools stops; send_400_response: 431
        self._awaiting_headers = False
        self._header_bytes = 0
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers = True  # the next request's bytes count from here
        self._completed = True
        self._header_bytes = 0

    def _header_size(self) -> int:
        """The request line's URL and the header fields, as parsed (uvicorn keeps them)."""
        return len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(
                self.limits.header_timeout, self._header_timeout
            )

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if not self._awaiting_headers or self.transport.is_closing():
            return
        self._reject(408, f"request headers must arrive within {self.limits.header_timeout:g} s")

    def _reject(self, status: int, message: str) -> None:
        self._cancel_header_timer()
        self._awaiting_headers = False
        if not self.transport.is_closing():
            self.transport.write(json_error_bytes(status, message))
            self.transport.close()


def connection_cap(wanted: int = MAX_CONNECTIONS) -> int:
    """`wanted`, lowered to fit the process's file-descriptor limit: each client connection
    may need an upstream connection too, and the store, logs and listeners need a few."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, (soft - 64) // 2))


def guarded_protocol(limits: ServerLimits) -> type[GuardedProtocol]:
    """A `GuardedProtocol` class with these limits (uvicorn builds one instance per connection)."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": limits})
