"""The HTTP face of one `ServerModel`: validate the id, ask the model, tell the referee, answer.

The referee counts an attempt the moment the model decides it (the server has read a valid
body): 200/5xx/429 with their status, hang/reset/malformed with the pseudo status `NO_ANSWER`.
Requests that meet a down server (refused or flapping) are reset and never counted; so are
requests with a bad method, path or body.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from email.utils import formatdate
from types import MappingProxyType

from banditlb.errors import InvalidIdError
from banditlb.fleet.http import Misbehaviour, Request, Response, error_response, json_response
from banditlb.game.ids import parse_id
from banditlb.game.ledger import NO_ANSWER, Ledger
from banditlb.game.outcome import Quota
from banditlb.models.server import Fault, Reply, ServerModel, whole_seconds

Headers = tuple[tuple[str, str], ...]

_NO_ANSWER_FAULTS: Mapping[Fault, Misbehaviour] = MappingProxyType(
    {
        Fault.HANG: Misbehaviour.HANG,
        Fault.RESET: Misbehaviour.RESET,
        Fault.MALFORMED: Misbehaviour.MALFORMED,
    }
)


def format_seconds(seconds: float) -> str:
    """A `Retry-After` value: seconds to the millisecond, no trailing zeros ("0.35", "2")."""
    text = f"{max(0.0, seconds):.3f}".rstrip("0").rstrip(".")
    return text or "0"


def http_date(epoch: float) -> str:
    """An IMF-fixdate (RFC 9110): "Sun, 06 Nov 1994 08:49:37 GMT", rounded up to the second."""
    return formatdate(math.ceil(epoch), usegmt=True)


def retry_after_header(reply: Reply, mode: str, wall: float) -> Headers:
    """The 429's Retry-After in the server's mode; "date" is ceil(wall + wait) on the wall clock."""
    if reply.retry_after is None:
        return ()
    if mode == "date" and reply.wait is not None:
        return (("retry-after", http_date(wall + reply.wait)),)
    return (("retry-after", format_seconds(reply.retry_after)),)


def quota_headers(quota: Quota | None, fields: str) -> Headers:
    """The rate-limit fields for `quota` (already in whole seconds, see `models.server.advertise`).

    "ietf" (draft-ietf-httpapi-ratelimit-headers, structured fields):
    `RateLimit-Policy: "default";q=LIMIT;w=WINDOW` and `RateLimit: "default";r=REMAINING;t=RESET`;
    "x": `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (delta seconds).
    """
    if quota is None or fields == "none":
        return ()
    reset = whole_seconds(quota.reset)
    if fields == "x":
        headers: Headers = (
            ("x-ratelimit-remaining", str(quota.remaining)),
            ("x-ratelimit-reset", str(reset)),
        )
        if quota.limit is not None:
            headers = (("x-ratelimit-limit", str(quota.limit)), *headers)
        return headers
    headers = (("ratelimit", f'"default";r={quota.remaining};t={reset}'),)
    if quota.limit is not None:
        policy = f'"default";q={quota.limit}'
        if quota.window is not None:
            policy += f";w={whole_seconds(quota.window)}"
        headers = (("ratelimit-policy", policy), *headers)
    return headers


class ServerEndpoint:
    """Serves `POST /` for one server, recording every counted attempt in its tier's ledger."""

    def __init__(
        self,
        model: ServerModel,
        ledger: Ledger,
        now: Callable[[], float],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.model = model
        self.ledger = ledger
        self._now = now
        self._wall = wall  # epoch seconds, for HTTP-dates only
        self._retry_after = str(model.spec.retry_after)
        self._fields = model.spec.rate_limit_headers

    @property
    def name(self) -> str:
        return self.model.name

    def is_down(self) -> bool:
        """Whether the model's refused/flap faults have this server down right now."""
        return self.model.is_down(self._now())

    async def handle(self, request: Request) -> Response | Misbehaviour:
        if request.path != "/":
            return error_response(404, f"no route {request.path!r}; servers answer POST /")
        if request.method != "POST":
            return error_response(
                405, f"method {request.method} not allowed; use POST /", (("allow", "POST"),)
            )
        try:
            request_id = parse_id(request.body)
        except InvalidIdError as exc:
            return error_response(400, str(exc))
        now = self._now()
        if self.model.is_down(now):
            return Misbehaviour.RESET
        reply = self.model.handle(now)
        wall = self._wall() if reply.wait is not None and self._retry_after == "date" else 0.0
        if not reply.counted:
            return Misbehaviour.RESET
        self.ledger.record(
            request_id, self.name, NO_ANSWER if reply.status is None else reply.status
        )
        if reply.fault is Fault.HANG:
            return Misbehaviour.HANG
        if reply.latency > 0:
            await asyncio.sleep(reply.latency)
        if reply.status is None:
            return _NO_ANSWER_FAULTS.get(reply.fault or Fault.RESET, Misbehaviour.RESET)
        fields = quota_headers(reply.quota, self._fields)
        if reply.status == 200:
            return json_response(200, {"id": request_id, "server": self.name}, fields)
        if reply.status == 429:
            headers = retry_after_header(reply, self._retry_after, wall) + fields
            return error_response(429, f"{self.name}: rate limited", headers)
        return error_response(reply.status, f"{self.name}: failed", fields)
