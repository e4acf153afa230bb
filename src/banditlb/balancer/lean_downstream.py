"""`LeanDownstream`: the balancer's `Downstream` on bare asyncio protocols and httptools.

Every attempt is the same small request (`POST /`, a 24-byte body), so the generic client
(aiohttp: request objects, header multidicts, payload writers, tracing hooks) cost more than the
rest of the balancer under wrk. This one keeps, per upstream, a stack of idle kept-alive
connections; an attempt takes one (or opens one), writes request bytes prepared once per
upstream, and waits for httptools to parse the answer's status line, `Retry-After` and the end
of the body. Outcomes are the same as `HttpDownstream`'s (its tests run against both):
- any status: `outcome_for_status` (200 accepted, 429 rate limited with Retry-After, else failed);
- no answer within the attempt timeout: TIMEOUT (the connection is closed, never reused);
- refused, reset, closed before a complete answer, or bytes that are not HTTP: CONNECTION_ERROR.
A connection goes back to the stack only after a complete answer that allows keep-alive and a
body under `BODY_LIMIT`; at most `max_idle` wait per upstream. `close()` closes them all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import httptools
from multidict import CIMultiDict

from banditlb.balancer.headers import parse_quota, parse_retry_after
from banditlb.balancer.settings import Upstream
from banditlb.game.outcome import Outcome, OutcomeKind, outcome_for_status

BODY_LIMIT = 64 * 1024


class _Answer(asyncio.Protocol):
    """One upstream connection; parses answers and hands each to the waiting attempt."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, CIMultiDict[str] | None]] | None = None
        self.status = 0
        self.limit_fields: CIMultiDict[str] | None = None  # Retry-After and rate-limit fields
        self.body_bytes = 0
        self.framed = False
        self.reusable = True
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"malformed answer: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # let the transport close; connection_lost settles the waiter

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and self.status and exc is None and not self.framed:
            self._done()  # an answer without Content-Length or chunks ends at EOF
            return
        self._fail(exc or ConnectionResetError("upstream closed the connection"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.status = 0
        self.limit_fields = None
        self.body_bytes = 0
        self.framed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower == b"retry-after" or lower.startswith((b"ratelimit", b"x-ratelimit")):
            if self.limit_fields is None:
                self.limit_fields = CIMultiDict()
            self.limit_fields[name.decode("latin-1")] = value.decode("latin-1")
        elif lower in (b"content-length", b"transfer-encoding"):
            self.framed = True

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.reusable = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)
        if self.body_bytes > BODY_LIMIT:
            self.reusable = False
            self._done()
            self.close()

    def on_message_complete(self) -> None:
        self._done()

    def _done(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.status, self.limit_fields))

    def _fail(self, exc: BaseException) -> None:
        self.reusable = False
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class LeanDownstream:
    """Sends the id as the raw body of `POST /` to the chosen upstream (see module doc)."""

    def __init__(
        self,
        upstreams: Sequence[Upstream],
        attempt_timeout: float,
        *,
        via: str | None = None,
        max_idle: int = 1024,
    ) -> None:
        self._upstreams = list(upstreams)
        self._timeout = attempt_timeout
        self._via = via
        self._max_idle = max_idle
        self._idle: list[list[_Answer]] = [[] for _ in self._upstreams]
        self._heads = [self._head(u, via) for u in self._upstreams]

    @staticmethod
    def _head(upstream: Upstream, via: str | None) -> bytes:
        host = f"[{upstream.host}]" if ":" in upstream.host else upstream.host
        lines = [
            "POST / HTTP/1.1",
            f"Host: {host}:{upstream.port}",
            "Content-Type: text/plain",
            *([f"Via: {via}"] if via is not None else []),
        ]
        return ("\r\n".join(lines) + "\r\n").encode("latin-1")

    async def _connect(self, arm: int) -> _Answer:
        upstream = self._upstreams[arm]
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Answer, upstream.host, upstream.port)
        return protocol

    async def send(self, arm: int, request_id: str, via: str = "") -> Outcome:
        started = time.perf_counter()
        body = request_id.encode("ascii")
        head = self._heads[arm]
        if via and self._via is not None:  # the hops so far, then this balancer (RFC 9110)
            head = self._head(self._upstreams[arm], f"{via}, {self._via}")
        idle = self._idle[arm]
        conn: _Answer | None = None
        try:
            async with asyncio.timeout(self._timeout):
                while idle and conn is None:
                    candidate = idle.pop()
                    conn = None if candidate.closed else candidate
                if conn is None:
                    conn = await self._connect(arm)
                waiter = asyncio.get_running_loop().create_future()
                conn.waiter = waiter
                assert conn.transport is not None  # set by connection_made
                conn.transport.write(b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body))
                status, fields = await waiter
        except TimeoutError:
            if conn is not None:
                conn.close()
            return Outcome(OutcomeKind.TIMEOUT, None, None, time.perf_counter() - started)
        except (OSError, ConnectionError):
            if conn is not None:
                conn.close()
            return Outcome(OutcomeKind.CONNECTION_ERROR, None, None, time.perf_counter() - started)
        except BaseException:  # cancelled: the connection's state is unknown
            if conn is not None:
                conn.close()
            raise
        if conn.reusable and not conn.closed and len(idle) < self._max_idle:
            idle.append(conn)
        else:
            conn.close()
        latency = time.perf_counter() - started
        if fields is None:
            return outcome_for_status(status, None, latency)
        retry_after = parse_retry_after(fields.get("Retry-After"))
        return outcome_for_status(status, retry_after, latency, quota=parse_quota(fields))

    async def close(self) -> None:
        """Close every idle connection (the lifespan calls this at shutdown)."""
        for idle in self._idle:
            while idle:
                idle.pop().close()
