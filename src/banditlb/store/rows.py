"""The store's input and output records; inputs are what callers give, outputs what reads return."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Source = Literal["live", "simulated"]
SOURCES: tuple[str, ...] = ("live", "simulated")
OUTCOMES: tuple[str, ...] = ("accepted", "failed", "rate_limited", "timeout", "connection_error")


@dataclass(frozen=True, slots=True)
class RunCreate:
    """What a run is, known when it starts."""

    source: Source
    strategy: str
    scenario: str
    params: dict[str, Any] = field(default_factory=dict)
    tier: str = "all"
    seed: int | None = None
    label: str = ""


def live_run(summary: Mapping[str, Any]) -> RunCreate:
    """A live run described by the balancer's `settings.summary()` (the /api/state settings)."""
    return RunCreate(
        source="live",
        strategy=str(summary.get("strategy", "")),
        scenario=str(summary.get("scenario") or "custom"),
        params=dict(summary.get("params") or {}),
        tier=str(summary.get("tier") or "all"),
        seed=summary.get("seed"),
        label=str(summary.get("label") or ""),
    )


@dataclass(frozen=True, slots=True)
class Run:
    """A stored run as read back."""

    id: str
    source: str
    strategy: str
    scenario: str
    params: dict[str, Any]
    tier: str
    seed: int | None
    label: str
    started_at: float
    ended_at: float | None
    totals: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """A stored attempt as read back; `seq` orders attempts within the whole database."""

    seq: int
    run_id: str
    request_no: int
    request_id: str
    attempt: int
    arm: int
    server: str
    outcome: str
    status: int | None
    latency_ms: float
    at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ATTEMPT_COLUMNS: tuple[str, ...] = (
    "seq",
    "run_id",
    "request_no",
    "request_id",
    "attempt",
    "arm",
    "server",
    "outcome",
    "status",
    "latency_ms",
    "at",
)
