"""`AccessGuard`: the balancer's `banditlb.access` checks as a thin ASGI wrapper.

Which route gets which check (decided for issue 9 item 8):
- `/` (`POST /`: the game, the referee's and load generators' only route): cross-origin writes
  refused; no Host check (clients may name the balancer as they like; a rebound page would
  send its own Origin and be refused anyway), no token.
- `/healthz`, `/readyz`: nothing (probes).
- `/api/state`, `/metrics` (control surfaces): Host check and, when configured, the token.
- every other route (dashboard pages and its JSON API over the run store): Host check; no token,
  because a browser's EventSource cannot send one.
Refusals are JSON `{"error": ...}` like every other answer.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from banditlb.access import AccessDenied, AccessPolicy

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
TOKEN_PATHS = frozenset({"/api/state", "/metrics"})


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return dict(scope["headers"])


class AccessGuard:
    """Applies `policy` to each HTTP request before the app sees it."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            denied = self.check(scope)
            if denied is not None:
                await _deny(send, denied)
                return
        await self.app(scope, receive, send)

    def check(self, scope: Scope) -> AccessDenied | None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/":  # the hot path (POST /): one pass over the headers
            origin = fetch_site = host = None
            for name, value in scope["headers"]:
                if name == b"origin":
                    origin = value.decode("latin-1")
                elif name == b"sec-fetch-site":
                    fetch_site = value.decode("latin-1")
                elif name == b"host":
                    host = value.decode("latin-1")
            if origin is None and fetch_site is None:
                return None
            return self.policy.check_origin(method, host, origin, fetch_site)
        if path in OPEN_PATHS:
            return None
        headers = _headers(scope)
        host = _text(headers.get(b"host"))
        denied = self.policy.check_host(host) or self.policy.check_origin(
            method, host, _text(headers.get(b"origin")), _text(headers.get(b"sec-fetch-site"))
        )
        if denied is None and path in TOKEN_PATHS:
            denied = self.policy.check_token(_text(headers.get(b"authorization")))
        return denied


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def _deny(send: Send, denied: AccessDenied) -> None:
    body = json.dumps({"error": denied.message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if denied.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": denied.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
