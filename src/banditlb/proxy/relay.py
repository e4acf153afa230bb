"""Answers to the client: an upstream's, streamed as it arrives, or the proxy's own JSON.

`relay` sends the upstream's status and headers at once, then its body chunk by chunk as
aiohttp reads it (`iter_any`: an event stream's events go out one by one), or in one write
when the whole body came with the headers. While a body streams, a watcher on `receive()`
ends it when the client hangs up.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp
from starlette.types import Receive, Scope, Send

from banditlb.balancer.downstream import CAUGHT
from banditlb.proxy.body import RequestBody

log = logging.getLogger(__name__)


async def answer_json(
    send: Send, status: int, document: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """A complete JSON answer from the proxy itself (not from an upstream)."""
    body = json.dumps(document).encode()
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


async def relay(
    *,
    scope: Scope,
    receive: Receive,
    send: Send,
    response: aiohttp.ClientResponse,
    headers: list[tuple[bytes, bytes]],
    body: RequestBody,
) -> None:
    """Stream the upstream's answer (status, `headers`) to the client as its bytes arrive.

    A client that hangs up ends the stream (watched once the request body is read: an
    endless event stream must not outlive its reader); an upstream that breaks off
    mid-body ends the client's connection without completing the answer, so the client
    sees a truncated body rather than a short one that looks whole."""
    try:
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": headers,
            }
        )
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        content = response.content
        if content.is_eof():  # the whole (small) body came with the headers: one write
            await send({"type": "http.response.body", "body": content.read_nowait()})
            return
        await _pump(content.iter_any(), send, receive, body, content.is_eof)
    finally:
        response.release()


async def _pump(
    chunks: AsyncIterator[bytes],
    send: Send,
    receive: Receive,
    body: RequestBody,
    at_end: Callable[[], bool],
) -> None:
    task = asyncio.current_task()
    watcher: asyncio.Task[None] | None = None
    gone = False

    async def watch() -> None:
        nonlocal gone
        message = await receive()
        if message["type"] == "http.disconnect" and task is not None:
            gone = True
            task.cancel("banditlb: client went away")

    if body.complete and task is not None and not at_end():
        watcher = asyncio.ensure_future(watch())  # a body still to come: watch the client
    try:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except asyncio.CancelledError:
        if not gone or task is None:
            raise
        task.uncancel()
    except CAUGHT as exc:  # the upstream broke off mid-body: the answer stays incomplete
        log.warning("upstream answer broke off mid-body", extra={"error": type(exc).__name__})
    finally:
        if watcher is not None and not watcher.done():
            watcher.cancel()
