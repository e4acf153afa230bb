"""Who may use a control surface: Host names (against DNS rebinding), same-origin writes (against
cross-site POSTs from a browser), and an optional bearer token. Shared by the balancer's
`/api/state` and `/metrics` and the fleet's control endpoint; no HTTP library here, so both
servers (Starlette and h11) ask the same questions with their own header access.

Defaults (issue 9 item 8):
- Host: a server bound to a loopback address answers only Host names that are loopback
  (`localhost`, `127.0.0.1`, `::1`, the bound address); bound to one other address, only that
  address; bound to a wildcard (`0.0.0.0`, `::`) there is no single name to check, so Host is
  not checked (`serve` already warns when listening beyond loopback). A request without Host
  (HTTP/1.0) is let through: a browser always sends one.
- Writes (any method but GET/HEAD/OPTIONS): refused when `Sec-Fetch-Site` says another site or
  origin sent it, or `Origin` names a host this server does not answer to (or is "null").
  Command-line clients send neither header and are unaffected.
- Token: when one is configured (`--control-token` or `BANDITLB_CONTROL_TOKEN`), protected
  routes need `Authorization: Bearer <token>` (compared in constant time).
Every refusal is an `AccessDenied(status, message)`; servers answer it as JSON.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

TOKEN_ENV = "BANDITLB_CONTROL_TOKEN"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class AccessDenied:
    """Why a request is refused: the HTTP status to answer and a message naming the rule."""

    status: int
    message: str


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def allowed_hosts_for(bind_host: str) -> frozenset[str] | None:
    """The Host names a server bound to `bind_host` answers; None means any (wildcard bind)."""
    host = bind_host.strip("[]").lower()
    address = _address(host)
    if address is not None and address.is_unspecified:
        return None
    if host == "localhost" or (address is not None and address.is_loopback):
        return LOOPBACK_NAMES | {host}
    return frozenset({host})


def hostname(value: str) -> str:
    """The name part of a Host header or URL authority, lower case, without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    name, _, _ = value.partition(":")
    return name


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """The checks one server applies; see the module docstring."""

    allowed_hosts: frozenset[str] | None = LOOPBACK_NAMES
    token: str | None = None

    @classmethod
    def for_bind(cls, bind_host: str, token: str | None = None) -> AccessPolicy:
        return cls(allowed_hosts_for(bind_host), token or None)

    def check_host(self, host: str | None) -> AccessDenied | None:
        """Refuse a Host header naming something else than this server (DNS rebinding)."""
        if self.allowed_hosts is None or host is None:
            return None
        name = hostname(host)
        if name in self.allowed_hosts:
            return None
        names = ", ".join(sorted(self.allowed_hosts))
        return AccessDenied(403, f"Host {host!r} is not a name of this server (allowed: {names})")

    def check_origin(
        self, method: str, host: str | None, origin: str | None, fetch_site: str | None
    ) -> AccessDenied | None:
        """Refuse a state-changing request a browser sent from another site or origin."""
        if method.upper() in SAFE_METHODS:
            return None
        if fetch_site is not None and fetch_site.strip().lower() not in ("same-origin", "none"):
            return AccessDenied(403, f"cross-site {method} refused (Sec-Fetch-Site: {fetch_site})")
        if origin is None:
            return None
        origin_host = hostname(urlsplit(origin.strip()).netloc) if origin != "null" else ""
        allowed = self.allowed_hosts
        if allowed is None:
            allowed = frozenset({hostname(host)}) if host else frozenset()
        if origin_host and origin_host in allowed:
            return None
        return AccessDenied(403, f"cross-origin {method} from {origin!r} refused")

    def check_token(self, authorization: str | None) -> AccessDenied | None:
        """With a token configured, require `Authorization: Bearer <token>`."""
        if self.token is None:
            return None
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        ):
            return None
        return AccessDenied(401, "this endpoint needs Authorization: Bearer <control token>")
