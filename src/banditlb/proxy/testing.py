"""A scripted upstream API for the proxy's tests and benchmarks (a raw ASGI app).

Serve it with `balancer.serving.serve_in_background(upstream)` on an ephemeral loopback port.
Whatever prefix the proxy adds, the path's *last* segment picks the behaviour:

- `.../echo`: 200 JSON describing the request (method, path, query, headers, body length and
  SHA-256), so a test sees exactly what the proxy forwarded;
- `.../sse?n=N&gap=S`: `text/event-stream`, N events `data: i` S seconds apart; with a
  `gate`, every event after the first waits for it (so a test can read the first event
  through the proxy while the upstream provably has not finished);
- `.../bytes?size=N`: N bytes streamed in 64 KiB chunks, without Content-Length;
- `.../broken`: promises 1000 bytes, sends 10 and drops the connection;
- `.../status?code=C&h-NAME=VALUE`: status C with those extra headers;
- anything else: `self.status` (200 by default; set it to 500 to make the upstream fail),
  with `self.headers` added, after `self.delay` seconds; within `self.limit` requests per
  whole second of `self.now()` only (beyond: 429 with `Retry-After: 1`).
`requests` keeps what every request carried (method, path, query, headers, body).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

_BLOCK = b"x" * 65536


@dataclass(slots=True)
class Seen:
    """One request as the upstream received it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n == name.lower()), None)

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name.lower()]


@dataclass
class ScriptedUpstream:
    """See the module docstring."""

    name: str
    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    limit: int | None = None
    delay: float = 0.0  # seconds the scripted answer waits
    now: Callable[[], float] = time.monotonic
    requests: list[Seen] = field(default_factory=list)
    gate: asyncio.Event | None = None
    keep: bool = True  # keep `requests` (benchmarks turn it off)
    _second: int = -1
    _count: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while (message := await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in scope["headers"]]
        if self.keep:
            self.requests.append(Seen(scope["method"], path, query, headers, body))
        params = dict(parse_qsl(query))
        last = path.rstrip("/").rsplit("/", 1)[-1]
        if last == "echo":
            await self._echo(send, Seen(scope["method"], path, query, headers, body))
        elif last == "sse":
            await self._sse(send, int(params.get("n", "3")), float(params.get("gap", "0")))
        elif last == "broken":
            await self._broken(send)
        elif last == "bytes":
            await self._bytes(send, int(params.get("size", "0")))
        elif last == "status":
            extra = [(k[2:].encode(), v.encode()) for k, v in params.items() if k.startswith("h-")]
            await _answer(send, int(params.get("code", "200")), b"{}", extra)
        else:
            await self._scripted(send)

    async def _scripted(self, send: Send) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.limit is not None:
            second = int(self.now())
            if second != self._second:
                self._second, self._count = second, 0
            if self._count >= self.limit:
                await _answer(send, 429, b'{"error": "rate limited"}', [(b"retry-after", b"1")])
                return
            self._count += 1
        body = json.dumps({"upstream": self.name, "status": self.status}).encode()
        await _answer(send, self.status, body, self.headers)

    async def _echo(self, send: Send, seen: Seen) -> None:
        document = {
            "upstream": self.name,
            "method": seen.method,
            "path": seen.path,
            "query": seen.query,
            "headers": seen.headers,
            "body_length": len(seen.body),
            "body_sha256": hashlib.sha256(seen.body).hexdigest(),
        }
        await _answer(send, 200, json.dumps(document).encode(), self.headers)

    async def _sse(self, send: Send, n: int, gap: float) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        for i in range(n):
            if i > 0 and self.gate is not None:
                await self.gate.wait()
            if i > 0 and gap:
                await asyncio.sleep(gap)
            await send(
                {"type": "http.response.body", "body": b"data: %d\n\n" % i, "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})

    async def _broken(self, send: Send) -> None:
        """Promise 1000 bytes, send 10, then fail: the server drops the connection."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"1000")],
            }
        )
        await send({"type": "http.response.body", "body": b"0123456789", "more_body": True})
        raise ConnectionAbortedError("scripted upstream breaks off mid-body")

    async def _bytes(self, send: Send, size: int) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/octet-stream")],
            }
        )
        left = size
        while left > 0:
            chunk = _BLOCK[: min(left, len(_BLOCK))]
            left -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
