"""A real balancer on a loopback port in front of a real fleet, and a raw HTTP/1.1 client that
sends exactly the bytes a test wants (bad framing, slow bodies), for end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from banditlb.balancer.app import create_app
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.fleet import Fleet

GOOD_ID = "abcdefghijklmnopqrstuvwx"


def upstreams_of(fleet: Fleet, names: Sequence[str]) -> tuple[Upstream, ...]:
    return tuple(Upstream(name, *fleet.address(name)) for name in names)


@asynccontextmanager
async def live_balancer(
    fleet: Fleet, names: Sequence[str], **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """uvicorn serving `create_app` on an ephemeral port, upstreams = fleet servers `names`."""
    values: dict[str, Any] = {"strategy": "round_robin", "attempt_timeout": 0.2, **overrides}
    settings = BalancerSettings(upstreams=upstreams_of(fleet, names), **values)
    async with (
        serve_in_background(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=10.0) as client,
    ):
        yield client


@dataclass(frozen=True)
class Raw:
    """One raw HTTP/1.1 request; `length=None` sends Content-Length: len(body)."""

    method: str = "POST"
    path: str = "/"
    body: bytes = GOOD_ID.encode()
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/plain"),)
    length: int | None = None
    chunked: bool = False

    def encode(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.chunked:
            lines.append("Transfer-Encoding: chunked")
            size = 64 * 1024
            chunks = [
                f"{len(self.body[i : i + size]):x}\r\n".encode() + self.body[i : i + size] + b"\r\n"
                for i in range(0, len(self.body), size)
            ]
            payload = b"".join(chunks) + b"0\r\n\r\n"
        else:
            length = len(self.body) if self.length is None else self.length
            lines.append(f"Content-Length: {length}")
            payload = self.body
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def exchange(
    url: str, raw: bytes, *, timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read one response (status, lower-cased headers, body); bounded in time."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(raw)  # not drained: the server may answer before reading it all
        async with asyncio.timeout(timeout):
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, body
    finally:
        writer.transport.abort()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
