"""Loop detection: a balancer that is (directly or through others) its own upstream.

Every attempt the balancer forwards carries `Via: 1.1 <mark>`, where the mark names this
balancer instance (`banditlb-` and 12 hex digits drawn from the OS at start-up: not a simulated
choice, so it needs no seed, and two balancers on different machines never share one). A
request that arrives with our own mark in its `Via` header went round a loop: it is refused
with 508 Loop Detected before any attempt, so one client request costs at most one extra hop
per attempt instead of multiplying (issue 9 measured 3,835 requests from one).

At start-up `check_not_own_upstream` refuses an upstream list that names the balancer's own
listening address, the one loop that can be seen without sending anything.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable

from banditlb.errors import BanditLBError, ConfigError

VIA_HEADER = "Via"


class LoopDetectedError(BanditLBError):
    """The request already went through this balancer."""

    http_status = 508


def new_mark() -> str:
    """A name for this balancer instance in `Via` headers."""
    return f"banditlb-{secrets.token_hex(6)}"


def via_value(mark: str) -> str:
    """The `Via` header value this balancer adds to every forwarded attempt (RFC 9110 7.6.3)."""
    return f"1.1 {mark}"


def carries_mark(via: str | None, mark: str) -> bool:
    """Whether a request's `Via` header (comma-separated hops) names this balancer."""
    if not via:
        return False
    for hop in via.split(","):
        parts = hop.split()
        if len(parts) >= 2 and parts[1] == mark:
            return True
    return False


def refuse_loop(via: str | None, mark: str) -> None:
    """Raise `LoopDetectedError` when the request already carries our mark."""
    if carries_mark(via, mark):
        raise LoopDetectedError(
            f"loop detected: this request already went through this balancer ({mark}); "
            "check that no upstream forwards back to it"
        )


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def check_not_own_upstream(
    upstreams: Iterable[tuple[str, int]], bind_host: str, bind_port: int
) -> None:
    """Refuse an upstream that is this balancer's own listening address.

    Same port, and the same host or both local (loopback, "localhost", or a wildcard bind such
    as 0.0.0.0, which also listens on loopback). A port-0 bind cannot be checked here: the
    `Via` mark catches that loop at the first request.
    """
    if bind_port == 0:
        return
    for host, port in upstreams:
        if port != bind_port:
            continue
        if host == bind_host or (_is_local(host) and _is_local(bind_host)):
            raise ConfigError(
                f"upstream {host}:{port} is this balancer's own address "
                f"({bind_host}:{bind_port}); it would forward every request to itself"
            )
