"""The balancer's frozen settings, and the parsers that build its upstream list.

`--upstreams 127.0.0.1:4000-4009,10.0.0.2:80` lists servers (a port range expands in order);
`--tier T1` takes the tier's servers from a scenario (the built-in default unless told).
Every error is a `ConfigError` naming the bad value and the rule.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from banditlb.balancer.loops import check_not_own_upstream
from banditlb.errors import ConfigError
from banditlb.models import scenario as scenario_io
from banditlb.models.spec import Scenario
from banditlb.router import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_MAX_HOLD,
    DEFAULT_REQUEST_DEADLINE,
    RetryRules,
)
from banditlb.strategies.registry import DEFAULT_STRATEGY, config_params, make_config


@dataclass(frozen=True, slots=True)
class Upstream:
    """One downstream server: a name for people and an address for the client."""

    name: str
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


_SECONDS_OPTIONS = MappingProxyType(
    {
        "attempt_timeout": "--attempt-timeout",
        "request_deadline": "--deadline",
        "body_timeout": "body_timeout",
    }
)
"""Each duration setting and the name users know it by in messages (the CLI option)."""


@dataclass(frozen=True, slots=True)
class BalancerSettings:
    """Everything one balancer needs; validated on construction."""

    upstreams: tuple[Upstream, ...]
    strategy: str = DEFAULT_STRATEGY
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    penalty: float = 1.0
    free_attempts: int = 3
    max_attempts: int = 10
    max_hold: float = DEFAULT_MAX_HOLD
    attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT
    request_deadline: float = DEFAULT_REQUEST_DEADLINE
    host: str = "127.0.0.1"
    port: int = 8000
    max_in_flight: int = 1024
    body_timeout: float = 5.0  # seconds a client may take to send its body (then 408)
    label: str = ""
    tier: str = ""
    scenario: str = ""
    control_token: str | None = None  # Bearer token for /api/state and /metrics (access.py)

    def __post_init__(self) -> None:
        if not self.upstreams:
            raise ConfigError("upstreams must list at least one server")
        names = [u.name for u in self.upstreams]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ConfigError(f"upstream names must be unique; {dup!r} is used twice")
        for name, option in _SECONDS_OPTIONS.items():
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{option} must be a finite number of seconds > 0, got {value!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be between 0 and 65535, got {self.port}")
        if self.max_in_flight < 1:
            raise ConfigError(f"--max-in-flight must be >= 1, got {self.max_in_flight}")
        check_not_own_upstream(((u.host, u.port) for u in self.upstreams), self.host, self.port)
        self.rules()  # RetryRules validates penalty and attempt counts
        # Validate the strategy name and parameters now, and freeze the parameters.
        make_config(self.strategy, self.params)
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def rules(self) -> RetryRules:
        return RetryRules(self.free_attempts, self.penalty, self.max_attempts, self.max_hold)

    def summary(self) -> dict[str, Any]:
        """Plain data for `/api/state` and run records."""
        return {
            "label": self.label,
            "tier": self.tier,
            "scenario": self.scenario,
            "strategy": self.strategy,
            "params": config_params(make_config(self.strategy, self.params)),
            "seed": self.seed,
            "penalty": self.penalty,
            "free_attempts": self.free_attempts,
            "max_attempts": self.max_attempts,
            "max_hold": self.max_hold,
            "attempt_timeout": self.attempt_timeout,
            "request_deadline": self.request_deadline,
            "upstreams": [{"name": u.name, "host": u.host, "port": u.port} for u in self.upstreams],
        }


_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")


def _host(text: str, entry: str) -> str:
    """An IP address or a plain host name; a URL (`http://...`) or anything else is refused."""
    if "://" in entry:
        raise ConfigError(
            f"upstream {entry!r}: give host:port without a scheme, e.g. 127.0.0.1:4000"
        )
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    if not (text.isascii() and _HOSTNAME.fullmatch(text)):
        raise ConfigError(
            f"upstream {entry!r}: host {text!r} must be an IP address or a host name"
            " (ASCII letters, digits, '-' and '.')"
        )
    return text


def _port(text: str, entry: str) -> int:
    # int() would also take "4_000" and non-ASCII digits ("４０００"): only ASCII digits pass.
    if not (text.isascii() and text.isdigit() and len(text) <= 5):
        raise ConfigError(f"upstream {entry!r}: port {text!r} is not a number in 1..65535")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ConfigError(f"upstream {entry!r}: port {port} must be between 1 and 65535")
    return port


def parse_upstreams(text: str) -> tuple[Upstream, ...]:
    """Parse `host:port[-port],...` into upstreams named `host:port`, in the order given."""
    upstreams: list[Upstream] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            raise ConfigError(f"upstreams {text!r}: empty entry; use host:port[-port],...")
        host, sep, ports = entry.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not ports:
            raise ConfigError(f"upstream {entry!r}: must be host:port or host:first-last")
        host = _host(host, entry)
        first_text, dash, last_text = ports.partition("-")
        first = _port(first_text, entry)
        last = _port(last_text, entry) if dash else first
        if last < first:
            raise ConfigError(f"upstream {entry!r}: port range {first}-{last} runs backwards")
        upstreams.extend(Upstream(f"{host}:{p}", host, p) for p in range(first, last + 1))
    seen: set[str] = set()
    for upstream in upstreams:
        if upstream.name in seen:
            raise ConfigError(f"upstreams {text!r}: {upstream.name} is listed twice")
        seen.add(upstream.name)
    return tuple(upstreams)


def tier_upstreams(
    tier: str,
    scenario: Scenario | str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    port_offset: int = 0,
) -> tuple[Upstream, ...]:
    """The servers of `tier` in a scenario (built-in default unless named), ports shifted."""
    loaded = scenario if isinstance(scenario, Scenario) else scenario_io.load(scenario)
    servers = loaded.tier(tier)
    if not servers:
        raise ConfigError(
            f"tier {tier!r} is not in scenario {loaded.name!r}; tiers: {', '.join(loaded.tiers())}"
        )
    upstreams = []
    for server in servers:
        port = server.port + port_offset
        if not 1 <= port <= 65535:
            raise ConfigError(
                f"server {server.name}: port {server.port} + offset {port_offset} = {port} "
                "is outside 1..65535"
            )
        upstreams.append(Upstream(server.name, host, port))
    return tuple(upstreams)


def parse_params(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["k=v", ...]` into a dict; the strategy registry coerces the values."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"strategy parameter {pair!r} must look like name=value")
        params[key.strip()] = value.strip()
    return params
