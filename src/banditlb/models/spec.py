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
from banditlb.models.pacing import GCRA, Concurrency
from banditlb.models.sliding import SlidingCounter, SlidingLog
from banditlb.models.varying_bucket import PiecewiseBucket, SinusoidBucket

LIMIT_KINDS = (
    "fixed_window",
    "token_bucket",
    "sinusoid",
    "outage",
    "step",
    "sliding_log",
    "sliding_counter",
    "gcra",
    "leaky_bucket",
    "concurrency",
    "sinusoid_bucket",
    "piecewise_bucket",
)
FAULT_KINDS = ("hang", "slow", "reset", "refused", "malformed", "flap")
RETRY_AFTER_MODES = ("seconds", "date", "fractional", "none")
"""How a server's 429s carry Retry-After: integer delta-seconds (ceil, >= 1), an HTTP-date,
today's millisecond fractions (opt-in only), or not at all. TOML true = seconds, false = none."""
RATE_LIMIT_HEADERS = ("ietf", "x", "none")
"""Rate-limit fields a server sends on every answer: IETF RateLimit/RateLimit-Policy, the common
X-RateLimit-Limit/-Remaining/-Reset, or none."""


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One rate-limit model and its parameters (see `build`)."""

    kind: str
    params: tuple[tuple[str, Any], ...]

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def build(self, hold: float = 0.0) -> RateLimiter:
        """The limiter; `hold` is a concurrency slot's hold time when the spec gives none."""
        p = dict(self.params)
        kind = self.kind
        if kind == "fixed_window":
            return FixedWindow(
                int(p["limit"]), float(p.get("window", 1.0)), float(p.get("offset", 0.0))
            )
        if kind == "token_bucket":
            return TokenBucket(float(p["rate"]), float(p.get("burst", p["rate"])))
        if kind == "sinusoid":
            return VaryingWindow(
                float(p["base"]),
                float(p["amplitude"]),
                float(p["period"]),
                float(p.get("phase", 0.0)),
                float(p.get("window", 1.0)),
            )
        if kind == "outage":
            return PeriodicOutage(
                float(p["period"]), float(p["duration"]), float(p.get("offset", 0.0))
            )
        if kind == "step":
            before, after = p.get("before"), p.get("after")
            return StepChange(
                float(p["at"]),
                before.build(hold) if isinstance(before, LimitSpec) else None,
                after.build(hold) if isinstance(after, LimitSpec) else None,
            )
        if kind == "sliding_log":
            return SlidingLog(int(p["limit"]), float(p.get("window", 1.0)))
        if kind == "sliding_counter":
            return SlidingCounter(int(p["limit"]), float(p.get("window", 1.0)))
        if kind == "gcra":
            return GCRA(float(p["interval"]), float(p.get("tolerance", 0.0)))
        if kind == "leaky_bucket":  # GCRA by rate and burst
            rate = float(p["rate"])
            return GCRA(1.0 / rate, (float(p.get("burst", 1.0)) - 1.0) / rate)
        if kind == "concurrency":
            return Concurrency(int(p["limit"]), float(p.get("hold", hold)))
        if kind == "sinusoid_bucket":
            base = float(p["base"])
            return SinusoidBucket(
                base,
                float(p["amplitude"]),
                float(p["period"]),
                float(p.get("phase", 0.0)),
                float(p.get("burst", max(1.0, base))),
            )
        if kind == "piecewise_bucket":
            segments = tuple((float(a), float(r)) for a, r in p["segments"])
            period = p.get("period")
            return PiecewiseBucket(
                segments,
                float(p.get("burst", max(1.0, *(r for _, r in segments)))),
                None if period is None else float(period),
            )
        raise ValueError(f"unknown limit kind {kind!r}")  # unreachable after validation


@dataclass(frozen=True, slots=True)
class LatencySpec:
    """Response latency in seconds: uniform on [mean - jitter, mean + jitter], never negative."""

    mean: float = 0.0
    jitter: float = 0.0


@dataclass(frozen=True, slots=True)
class DriftSpec:
    """An error rate that drifts: error_rate + amplitude · sin(2π t / period + phase), in [0, 1]."""

    amplitude: float
    period: float
    phase: float = 0.0


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
    retry_after: str = "none"  # a RETRY_AFTER_MODES name; True/False are accepted and mapped
    error_status: int = 500
    latency: LatencySpec = field(default_factory=LatencySpec)
    faults: tuple[FaultSpec, ...] = ()
    rate_limit_headers: str = "none"
    error_drift: DriftSpec | None = None

    def error_rate_at(self, now: float) -> float:
        """The probability of a 5xx for a request admitted at `now` (drift included)."""
        drift = self.error_drift
        if drift is None:
            return self.error_rate
        angle = 2.0 * math.pi * now / drift.period + drift.phase
        return min(1.0, max(0.0, self.error_rate + drift.amplitude * math.sin(angle)))

    def __post_init__(self) -> None:
        # `True`/`False` (the old boolean form) mean "seconds"/"none"; stored as the mode name.
        if isinstance(self.retry_after, bool):
            object.__setattr__(self, "retry_after", "seconds" if self.retry_after else "none")
        if self.retry_after not in RETRY_AFTER_MODES:
            raise ValueError(f"retry_after must be one of {RETRY_AFTER_MODES}")
        if self.rate_limit_headers not in RATE_LIMIT_HEADERS:
            raise ValueError(f"rate_limit_headers must be one of {RATE_LIMIT_HEADERS}")

    def build_limiter(self) -> RateLimiter | None:
        """The server's limiter; a concurrency slot is held for the latency mean by default."""
        if not self.limits:
            return None
        hold = self.latency.mean
        if len(self.limits) == 1:
            return self.limits[0].build(hold)
        return AllOf([limit.build(hold) for limit in self.limits])


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
