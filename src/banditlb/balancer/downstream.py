"""The one place HTTP answers and client exceptions become `Outcome`s.

`Downstream` is the whole interface the balancer needs (`send(arm, request_id) -> Outcome`);
`HttpDownstream` implements it with a pooled, keep-alive aiohttp session owned by the app's
lifespan. Tests pass a fake with the same method. Retry-After and the rate-limit fields are read
by `balancer/headers.py` (re-exported here: `parse_retry_after`, `parse_quota`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import aiohttp
from yarl import URL

from banditlb.balancer.headers import parse_quota, parse_retry_after
from banditlb.balancer.settings import Upstream
from banditlb.game.outcome import Outcome, OutcomeKind, outcome_for_status

# Checked in order, first match wins: timeouts before connection errors because
# aiohttp's ServerTimeoutError is both a ClientError and a TimeoutError.
EXCEPTION_KINDS: tuple[tuple[type[BaseException], OutcomeKind], ...] = (
    (TimeoutError, OutcomeKind.TIMEOUT),  # includes aiohttp.ServerTimeoutError
    (aiohttp.ClientError, OutcomeKind.CONNECTION_ERROR),  # refused, reset, malformed answers
    (OSError, OutcomeKind.CONNECTION_ERROR),  # resets below aiohttp's wrapping
)
__all__ = [
    "CAUGHT",
    "EXCEPTION_KINDS",
    "Downstream",
    "HttpDownstream",
    "make_session",
    "outcome_for_exception",
    "parse_quota",
    "parse_retry_after",
]

CAUGHT: tuple[type[BaseException], ...] = tuple(exc for exc, _ in EXCEPTION_KINDS)

_BODY_LIMIT = 64 * 1024  # answers are read (to keep the connection reusable) up to this size


class Downstream(Protocol):
    """Deliver one attempt of `request_id` to upstream number `arm`; `via` is the client
    request's own `Via` header ("" when none), which a proxy passes on (loop detection)."""

    async def send(self, arm: int, request_id: str, via: str = "") -> Outcome: ...


def outcome_for_exception(exc: BaseException, latency: float = 0.0) -> Outcome:
    """Map a caught client exception to TIMEOUT or CONNECTION_ERROR."""
    for exc_type, kind in EXCEPTION_KINDS:
        if isinstance(exc, exc_type):
            return Outcome(kind, None, None, latency)
    raise TypeError(f"{type(exc).__name__} is not a downstream error") from exc


def make_session(max_connections: int, attempt_timeout: float) -> aiohttp.ClientSession:
    """A keep-alive session with a pooled connector; the caller (the lifespan) closes it."""
    connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=30.0)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=attempt_timeout),
        auto_decompress=False,
        # Only Host, Content-Type and Content-Length go out: less to build and parse per attempt.
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
    )


class HttpDownstream:
    """Sends the id as the raw body of `POST /` to the chosen upstream."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        upstreams: Sequence[Upstream],
        attempt_timeout: float,
        *,
        via: str | None = None,
    ) -> None:
        self._session = session
        self._urls = [URL(u.url) for u in upstreams]  # parsed once, not per attempt
        self._timeout = aiohttp.ClientTimeout(total=attempt_timeout)
        self._headers = {"Content-Type": "text/plain"}
        self._via = via
        if via is not None:  # loop detection: see `banditlb.balancer.loops`
            self._headers["Via"] = via

    async def send(self, arm: int, request_id: str, via: str = "") -> Outcome:
        headers = self._headers
        if via and self._via is not None:  # the hops so far, then this balancer (RFC 9110)
            headers = {**headers, "Via": f"{via}, {self._via}"}
        started = time.perf_counter()
        try:
            async with self._session.post(
                self._urls[arm],
                data=request_id.encode("ascii"),
                headers=headers,
                timeout=self._timeout,
            ) as response:
                await response.content.read(_BODY_LIMIT)
                status = response.status
                fields = response.headers
                retry_after = parse_retry_after(fields.get("Retry-After"))
                quota = parse_quota(fields)
        except CAUGHT as exc:
            return outcome_for_exception(exc, time.perf_counter() - started)
        return outcome_for_status(status, retry_after, time.perf_counter() - started, quota=quota)
