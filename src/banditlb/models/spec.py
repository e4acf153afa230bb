"""Frozen, validated descriptions of servers and scenarios; models are built from these."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from banditlb.models.limits import (
    AllOf,
    FixedWindow,
    PeriodicOutage,
    RateLimiter,
    StepChange,
    TokenBucket,
    VaryingWindow,
)

LIMIT_KINDS = ("fixed_window", "token_bucket", "sinusoid", "outage", "step")
FAULT_KINDS = ("hang", "slow", "reset", "refused", "malformed", "flap")


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One rate-limit model and its parameters (see `build`)."""

    kind: str
    params: tuple[tuple[str, Any], ...]

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def build(self) -> RateLimiter:
        p = dict(self.params)
        if self.kind == "fixed_window":
            return FixedWindow(
                int(p["limit"]), float(p.get("window", 1.0)), float(p.get("offset", 0.0))
            )
        if self.kind == "token_bucket":
            return TokenBucket(float(p["rate"]), float(p.get("burst", p["rate"])))
        if self.kind == "sinusoid":
            return VaryingWindow(
                float(p["base"]),
                float(p["amplitude"]),
                float(p["period"]),
                float(p.get("phase", 0.0)),
                float(p.get("window", 1.0)),
            )
        if self.kind == "outage":
            return PeriodicOutage(
                float(p["period"]), float(p["duration"]), float(p.get("offset", 0.0))
            )
        if self.kind == "step":
            before, after = p.get("before"), p.get("after")
            return StepChange(
                float(p["at"]),
                before.build() if isinstance(before, LimitSpec) else None,
                after.build() if isinstance(after, LimitSpec) else None,
            )
        raise ValueError(f"unknown limit kind {self.kind!r}")  # unreachable after validation


@dataclass(frozen=True, slots=True)
class LatencySpec:
    """Response latency in seconds: uniform on [mean - jitter, mean + jitter], never negative."""

    mean: float = 0.0
    jitter: float = 0.0


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A misbehaviour in force from `start` to `end` seconds.

    `flap` is down for `down` seconds of every `period`; others fire with `probability`.
    """

    kind: str
    start: float = 0.0
    end: float = math.inf
    probability: float = 1.0
    delay: float = 0.0
    period: float = 0.0
    down: float = 0.0

    def in_force(self, now: float) -> bool:
        if not self.start <= now < self.end:
            return False
        if self.kind == "flap":
            return (now - self.start) % self.period < self.down
        return True


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """One downstream server of a scenario."""

    name: str
    tier: str
    port: int
    error_rate: float
    limits: tuple[LimitSpec, ...] = ()
    retry_after: bool = False
    error_status: int = 500
    latency: LatencySpec = field(default_factory=LatencySpec)
    faults: tuple[FaultSpec, ...] = ()

    def build_limiter(self) -> RateLimiter | None:
        if not self.limits:
            return None
        if len(self.limits) == 1:
            return self.limits[0].build()
        return AllOf([limit.build() for limit in self.limits])


@dataclass(frozen=True, slots=True)
class Scenario:
    """A fleet of servers plus the game's parameters; loaded from TOML by `scenario.load`."""

    name: str
    seed: int
    rate: float
    servers: tuple[ServerSpec, ...]
    description: str = ""
    source: str = "<memory>"

    def tiers(self) -> list[str]:
        """Tier names in first-seen order."""
        return list(dict.fromkeys(s.tier for s in self.servers))

    def tier(self, name: str) -> tuple[ServerSpec, ...]:
        return tuple(s for s in self.servers if s.tier == name)
