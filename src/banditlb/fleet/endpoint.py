"""The HTTP face of one `ServerModel`: validate the id, ask the model, tell the referee, answer.

The referee counts an attempt the moment the model decides it (the server has read a valid
body): 200/5xx/429 with their status, hang/reset/malformed with the pseudo status `NO_ANSWER`.
Requests that meet a down server (refused or flapping) are reset and never counted; so are
requests with a bad method, path or body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from types import MappingProxyType

from banditlb.errors import InvalidIdError
from banditlb.fleet.http import Misbehaviour, Request, Response, error_response, json_response
from banditlb.ids import parse_id
from banditlb.models.server import Fault, ServerModel
from banditlb.referee import NO_ANSWER, Ledger

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


class ServerEndpoint:
    """Serves `POST /` for one server, recording every counted attempt in its tier's ledger."""

    def __init__(self, model: ServerModel, ledger: Ledger, now: Callable[[], float]) -> None:
        self.model = model
        self.ledger = ledger
        self._now = now

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
        if reply.status == 200:
            return json_response(200, {"id": request_id, "server": self.name})
        if reply.status == 429:
            headers: tuple[tuple[str, str], ...] = ()
            if reply.retry_after is not None:
                headers = (("retry-after", format_seconds(reply.retry_after)),)
            return error_response(429, f"{self.name}: rate limited", headers)
        return error_response(reply.status, f"{self.name}: failed")
