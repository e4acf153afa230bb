"""The referee's control endpoint: scores, resets, and killing or restarting servers.

GET  /healthz                      {"ok": true}
GET  /score?tier=T1&penalty=1      one tier's score and per-server counts
GET  /score?penalty=1              {"tiers": {tier: ...}, "total": {...}}
POST /reset[?tier=T1]              clear one tier's ledger, or all
GET  /servers                      [{name, tier, port, up, error_rate}, ...]
POST /servers/{name}/down|up       close or re-open that server's listening socket

Every route but /healthz goes through the fleet's `AccessPolicy` (`banditlb.access`): the
Host header must name the fleet's bind address (DNS rebinding), POSTs from another site or
origin are refused, and with a control token (`--control-token`, `BANDITLB_CONTROL_TOKEN`)
every request needs `Authorization: Bearer <token>`. Refusals are JSON like the rest.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

from banditlb.access import AccessDenied, AccessPolicy
from banditlb.errors import BanditLBError
from banditlb.fleet.http import Request, Response, error_response, json_response
from banditlb.fleet.slot import ServerSlot
from banditlb.game.ledger import Ledger, Score, ServerCounts

_ROUTES: Mapping[str, str] = MappingProxyType(
    {
        "/healthz": "GET",
        "/score": "GET",
        "/reset": "POST",
        "/servers": "GET",
    }
)


class _Rejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Control:
    """Routes control requests over the fleet's slots (by name) and ledgers (by tier)."""

    def __init__(
        self,
        slots: Mapping[str, ServerSlot],
        ledgers: Mapping[str, Ledger],
        policy: AccessPolicy | None = None,
    ) -> None:
        self.slots = slots
        self.ledgers = ledgers
        self.policy = policy or AccessPolicy()

    async def handle(self, request: Request) -> Response:
        denied = self._denied(request)
        if denied is not None:
            headers = (("WWW-Authenticate", "Bearer"),) if denied.status == 401 else ()
            return error_response(denied.status, denied.message, headers)
        try:
            return await self._route(request)
        except _Rejected as exc:
            return error_response(exc.status, exc.message)
        except BanditLBError as exc:  # e.g. a server's port was taken while it was down
            return error_response(409, str(exc))

    def _denied(self, request: Request) -> AccessDenied | None:
        if request.path.rstrip("/") == "/healthz":
            return None
        host = request.headers.get("host")
        return (
            self.policy.check_host(host)
            or self.policy.check_origin(
                request.method,
                host,
                request.headers.get("origin"),
                request.headers.get("sec-fetch-site"),
            )
            or self.policy.check_token(request.headers.get("authorization"))
        )

    async def _route(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "servers" and parts[3] in ("down", "up"):
            _require(request, "POST")
            return await self._hold(parts[2], parts[3] == "down")
        if path not in _ROUTES:
            raise _Rejected(404, f"no route {request.path!r}")
        _require(request, _ROUTES[path])
        handlers: dict[str, Callable[[Request], Awaitable[Response]]] = {
            "/healthz": self._healthz,
            "/score": self._score,
            "/reset": self._reset,
            "/servers": self._servers,
        }
        return await handlers[path](request)

    async def _healthz(self, request: Request) -> Response:
        return json_response(200, {"ok": True})

    async def _score(self, request: Request) -> Response:
        penalty = _penalty(request.query.get("penalty"))
        tier = request.query.get("tier")
        if tier is not None:
            return json_response(200, self.tier_score(self._tier(tier), penalty))
        tiers = {name: self.tier_score(name, penalty) for name in self.ledgers}
        total = Score(
            ids=sum(t["ids"] for t in tiers.values()),
            attempts=sum(t["attempts"] for t in tiers.values()),
            accepted=sum(t["accepted"] for t in tiers.values()),
            penalised_attempts=sum(t["penalised_attempts"] for t in tiers.values()),
            penalty=penalty,
        )
        return json_response(200, {"tiers": tiers, "total": total.as_dict()})

    async def _reset(self, request: Request) -> Response:
        tier = request.query.get("tier")
        names = [self._tier(tier)] if tier is not None else list(self.ledgers)
        for name in names:
            self.ledgers[name].reset()
        return json_response(200, {"reset": names})

    async def _servers(self, request: Request) -> Response:
        return json_response(200, [slot.row() for slot in self.slots.values()])

    async def _hold(self, name: str, down: bool) -> Response:
        slot = self.slots.get(name)
        if slot is None:
            raise _Rejected(404, f"unknown server {name!r}; see GET /servers")
        await slot.hold_down(down)
        return json_response(200, slot.row())

    def _tier(self, tier: str) -> str:
        if tier not in self.ledgers:
            known = ", ".join(self.ledgers)
            raise _Rejected(400, f"unknown tier {tier!r}; tiers are {known}")
        return tier

    def tier_score(self, tier: str, penalty: float) -> dict[str, Any]:
        """One tier's score, with per-server counts for every server of the tier."""
        ledger = self.ledgers[tier]
        servers = {}
        for slot in self.slots.values():
            if slot.spec.tier == tier:
                counts = ledger.servers.get(slot.name, ServerCounts())
                servers[slot.name] = counts.as_dict()
        return {"tier": tier, **ledger.score(penalty).as_dict(), "servers": servers}


def _require(request: Request, method: str) -> None:
    if request.method != method:
        raise _Rejected(405, f"method {request.method} not allowed on {request.path}; use {method}")


def _penalty(raw: str | None) -> float:
    """The `penalty` query parameter: a finite number >= 0, default 1."""
    if raw is None:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise _Rejected(400, f"penalty must be a finite number >= 0, got {raw!r}")
    return value
