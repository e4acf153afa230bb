"""The balancer's frozen settings: upstreams, strategy, retry rules and limits, validated.

Every error is a `ConfigError` naming the bad value and the rule. Building the upstream list
from the command line's strings (`--upstreams`, `--tier`, `--param`) is `cli/options.py`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from banditlb.balancer.loops import check_not_own_upstream
from banditlb.errors import ConfigError
from banditlb.game.router import (
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
