"""A client request's body, either kept (so it can be sent again) or streamed once.

Decision (issue 12): a request that may be retried has its body read first, up to
`buffer_limit` bytes (1 MiB by default), so each attempt sends the same bytes. A body that
turns out longer, or declares a longer `Content-Length`, is streamed to the first attempt as it
arrives (the bytes already read first) and that request is never retried: a body cannot be sent
twice without keeping it. Requests that are not safe to retry are always streamed, never held.

`started` says whether any of the body was handed to an attempt: a streamed request whose
attempt failed to connect before reading any of it may still go to another upstream. `gone`
says the client hung up mid-body: the attempt then failed through no fault of the upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.types import Receive

from banditlb.balancer.intake import ClientGoneError


class RequestBody:
    """Reads one request's body from ASGI `receive` (see the module docstring)."""

    __slots__ = ("_done", "_prefix", "_receive", "gone", "kept", "started")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._prefix: list[bytes] = []
        self._done = False
        self.kept: bytes | None = None  # the whole body, when it was kept for retries
        self.started = False
        self.gone = False  # the client hung up before its body ended

    @property
    def complete(self) -> bool:
        """Whether the client's body has been read to its end."""
        return self._done

    async def _chunk(self) -> bytes:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.gone = True
            raise ClientGoneError("client disconnected while sending its body")
        if not message.get("more_body", False):
            self._done = True
        body: bytes = message.get("body", b"")
        return body

    async def keep(self, limit: int, declared: int | None) -> bool:
        """Read the whole body if it fits in `limit` bytes; True when kept (then retryable)."""
        if declared is not None and declared > limit:
            return False
        size = 0
        while not self._done:
            chunk = await self._chunk()
            size += len(chunk)
            self._prefix.append(chunk)
            if size > limit:
                return False
        self.kept = b"".join(self._prefix)
        self._prefix = []
        return True

    def payload(self) -> bytes | AsyncIterator[bytes] | None:
        """What to give the client library for one attempt: bytes when kept, else a stream
        (None for an empty body that was read whole, so no body is framed at all)."""
        if self.kept is not None:
            return self.kept or None
        if self._done and not any(self._prefix):
            return None
        return self._stream()

    async def _stream(self) -> AsyncIterator[bytes]:
        self.started = True
        prefix, self._prefix = self._prefix, []
        for chunk in prefix:
            if chunk:
                yield chunk
        while not self._done:
            chunk = await self._chunk()
            if chunk:
                yield chunk
