"""Running totals of a run, kept attempt by attempt in O(1): the numbers stored in `runs.totals`.

Score follows the referee: delivered requests − penalty × attempts beyond the free ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard


class AttemptLike(Protocol):
    """What the store needs from one attempt; the balancer's `AttemptRecord` fits it.

    `kind` is an `OutcomeKind` (a `str`) or its text value.
    """

    @property
    def request_no(self) -> int: ...
    @property
    def request_id(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def arm(self) -> int: ...
    @property
    def server(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def latency_s(self) -> float: ...
    @property
    def at(self) -> float: ...


@dataclass(slots=True)
class Tally:
    """Counts over attempts; `requests` counts first attempts, `delivered` accepted ones."""

    free_attempts: int = 3
    penalty: float = 1.0
    requests: int = 0
    attempts: int = 0
    delivered: int = 0
    failed: int = 0
    rate_limited: int = 0
    errors: int = 0
    penalised: int = 0

    def add(self, attempt: int, outcome: str) -> None:
        self.attempts += 1
        if attempt == 1:
            self.requests += 1
        if attempt > self.free_attempts:
            self.penalised += 1
        if outcome == "accepted":
            self.delivered += 1
        elif outcome == "rate_limited":
            self.rate_limited += 1
        elif outcome == "failed":
            self.failed += 1
        else:
            self.errors += 1

    @property
    def score(self) -> float:
        return self.delivered - self.penalty * self.penalised

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "attempts": self.attempts,
            "delivered": self.delivered,
            "accepted": self.delivered,
            "failed": self.failed,
            "rate_limited": self.rate_limited,
            "errors": self.errors,
            "penalised": self.penalised,
            "penalty": self.penalty,
            "score": self.score,
        }


def outcome_text(outcome: object) -> str:
    """An outcome as stored: the value of an `OutcomeKind`, or the text given."""
    value = getattr(outcome, "value", outcome)
    return str(value)


def oracle_total(totals: Mapping[str, Any]) -> float | None:
    """The run's score bound: `oracle`, else `oracle_per_request` × `requests`; None if unknown."""
    total = totals.get("oracle")
    if _finite(total):
        return float(total)
    per_request, requests = totals.get("oracle_per_request"), totals.get("requests")
    if _finite(per_request) and _finite(requests):
        return float(per_request) * float(requests)
    return None


def _finite(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
