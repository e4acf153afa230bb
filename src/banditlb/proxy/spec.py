"""The proxy's frozen, validated configuration: upstreams, routes, strategy, listener.

Built by `proxy.config.parse` from a TOML file; nothing here reads the environment or the
network. A secret (an injected header's value read from an environment variable) is a `Secret`,
whose `repr` and `str` never show the value, so a config printed, logged or stored by mistake
still carries no key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from banditlb.game.outcome import OutcomeKind

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
"""RFC 9110 §9.2.2: methods a client may repeat; the proxy retries only these (and POSTs
that carry an Idempotency-Key or match a route marked retryable)."""


class Secret:
    """A header value that must never be shown: `repr`/`str` say only that it is hidden."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value, for the one place that needs it: the header sent upstream."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class DeclaredLimit:
    """What the upstream's provider says its limit is: `requests` per `window` seconds.

    A prior for the planner (`strategies.base.DeclaredLimits`), which refines it from 429s."""

    requests: int
    window: float


@dataclass(frozen=True, slots=True)
class UpstreamSpec:
    """One upstream: where it is, what to add to every request, how long to wait for it."""

    name: str
    scheme: str  # "http" or "https"
    host: str
    port: int
    prefix: str  # path prefix put before the client's path ("" or "/v1", never ending in "/")
    headers: tuple[tuple[str, str | Secret], ...] = ()
    connect_timeout: float = 2.0
    timeout: float = 30.0  # seconds from sending to the answer's headers
    read_timeout: float = 300.0  # seconds of silence allowed while the answer's body streams
    limit: DeclaredLimit | None = None

    @property
    def origin(self) -> str:
        """scheme://host:port, as the client library wants it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def summary(self) -> dict[str, Any]:
        """What /api/state shows: the address and the *names* of injected headers, no values."""
        return {
            "name": self.name,
            "url": self.origin + self.prefix,
            "injected_headers": [name for name, _ in self.headers],
            "timeout": self.timeout,
            "limit": None
            if self.limit is None
            else {"requests": self.limit.requests, "window": self.limit.window},
        }


@dataclass(frozen=True, slots=True)
class StatusRules:
    """What each status counts as on one route: `kinds[status]` for 100..599.

    ACCEPTED, FAILED and RATE_LIMITED are the strategy's outcomes; a status in none of the
    route's lists is the client's own error (`None`): answered at once, never retried, and
    reported to the strategy as a working answer (the upstream did its job)."""

    kinds: tuple[OutcomeKind | None, ...] = field(repr=False)

    def kind(self, status: int) -> OutcomeKind | None:
        return self.kinds[status - 100] if 100 <= status <= 599 else OutcomeKind.FAILED


def default_status_rules() -> StatusRules:
    """2xx/3xx accepted, 429 rate limited, 5xx failed, every other status the client's own."""
    kinds: list[OutcomeKind | None] = []
    for status in range(100, 600):
        if status == 429:
            kinds.append(OutcomeKind.RATE_LIMITED)
        elif 200 <= status < 400:
            kinds.append(OutcomeKind.ACCEPTED)
        elif status >= 500:
            kinds.append(OutcomeKind.FAILED)
        else:
            kinds.append(None)
    return StatusRules(tuple(kinds))


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """Requests whose path starts with `prefix` (whole segments) and whose method is listed."""

    prefix: str = "/"
    methods: frozenset[str] = frozenset()  # empty: every method
    retryable: bool = False  # POSTs to this route may be retried (the API is idempotent)
    free_attempts: int = 3
    max_attempts: int = 3
    penalty: float = 1.0
    deadline: float = 30.0  # seconds after arrival past which no new attempt starts
    max_hold: float = 1.0
    prefer_faster: bool = False  # among equally reliable upstreams, the faster (latency.py)
    latency_tolerance: float = 0.02  # estimates this close count as equal
    hedge_after: float = 0.0  # seconds before a second attempt races the first (0: never)
    status: StatusRules = field(default_factory=default_status_rules)

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method not in self.methods:
            return False
        prefix = self.prefix
        if prefix in ("/", path):
            return True
        return path.startswith(prefix if prefix.endswith("/") else prefix + "/")

    def summary(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "methods": sorted(self.methods),
            "retryable": self.retryable,
            "free_attempts": self.free_attempts,
            "max_attempts": self.max_attempts,
            "penalty": self.penalty,
            "deadline": self.deadline,
            "prefer_faster": self.prefer_faster,
            "hedge_after": self.hedge_after,
        }


DEFAULT_BUFFER_LIMIT = 1 << 20
"""Bytes of a retryable request's body kept for retries (1 MiB); a longer body is streamed
and its request is not retried."""


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """The whole proxy: what `banditlb proxy --config FILE` runs."""

    upstreams: tuple[UpstreamSpec, ...]
    routes: tuple[RouteSpec, ...]  # first match wins; a default route ("/", any method) last
    strategy: str = "planner"
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    host: str = "127.0.0.1"
    port: int = 8080
    admin_host: str = "127.0.0.1"
    admin_port: int = 8081
    buffer_limit: int = DEFAULT_BUFFER_LIMIT
    max_in_flight: int = 1024
    label: str = "proxy"
    source: str = ""

    def route_for(self, method: str, path: str) -> int:
        """Index of the first route that matches (the last one matches everything)."""
        for index, route in enumerate(self.routes):
            if route.matches(method, path):
                return index
        return len(self.routes) - 1

    def summary(self) -> dict[str, Any]:
        """Plain data for /api/state and the run store; never a header value."""
        return {
            "label": self.label,
            "tier": "proxy",
            "scenario": "proxy",
            "strategy": self.strategy,
            "params": dict(self.params),
            "seed": self.seed,
            "penalty": self.routes[-1].penalty,
            "free_attempts": self.routes[-1].free_attempts,
            "upstreams": [u.summary() for u in self.upstreams],
            "routes": [r.summary() for r in self.routes],
            "buffer_limit": self.buffer_limit,
        }
