"""What one simulated run came to: the referee's score, outcome counts, per-arm counts, timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SimResult:
    """One run of one strategy on one tier with one seed; plain data, picklable, comparable.

    Scores follow the referee (`banditlb.game.ledger.Ledger`): every attempt the servers read counts
    (429s included; refused connections do not). `timeline_score[i]` is the cumulative score of
    the first `timeline_requests[i]` requests (by arrival), for regret plots.
    """

    scenario: str
    tier: str
    strategy: str
    seed: int
    requests: int
    rate: float
    penalty: float
    accepted: int
    attempts: int
    penalised_attempts: int
    score: float
    rate_limited: int
    failed: int
    timeouts: int
    connection_errors: int
    duration: float
    arm_names: tuple[str, ...]
    arm_attempts: tuple[int, ...]
    arm_accepted: tuple[int, ...]
    arm_rate_limited: tuple[int, ...]
    timeline_requests: tuple[int, ...] = ()
    timeline_score: tuple[float, ...] = ()
    params: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def score_per_request(self) -> float:
        return self.score / self.requests

    @property
    def rate_limited_share(self) -> float:
        """429s as a share of the attempts the referee counted."""
        return self.rate_limited / self.attempts if self.attempts else 0.0

    @property
    def penalised_per_request(self) -> float:
        return self.penalised_attempts / self.requests

    @property
    def attempts_per_request(self) -> float:
        return self.attempts / self.requests

    def as_row(self) -> dict[str, Any]:
        """One flat row for CSV/Parquet (per-arm counts as ';'-joined text)."""
        return {
            "scenario": self.scenario,
            "tier": self.tier,
            "strategy": self.strategy,
            "seed": self.seed,
            "requests": self.requests,
            "rate": self.rate,
            "penalty": self.penalty,
            "accepted": self.accepted,
            "attempts": self.attempts,
            "penalised_attempts": self.penalised_attempts,
            "score": self.score,
            "score_per_request": self.score_per_request,
            "rate_limited": self.rate_limited,
            "rate_limited_share": self.rate_limited_share,
            "failed": self.failed,
            "timeouts": self.timeouts,
            "connection_errors": self.connection_errors,
            "duration": self.duration,
            "arm_attempts": ";".join(map(str, self.arm_attempts)),
            "arm_accepted": ";".join(map(str, self.arm_accepted)),
            "arm_rate_limited": ";".join(map(str, self.arm_rate_limited)),
            "params": ";".join(f"{k}={v}" for k, v in self.params),
        }
