"""The referee's ledger: attempts and acceptances per id, and the game's score.

Score = ids accepted − penalty × attempts beyond the `free_attempts`-th on the same id.
Every attempt whose body passed validation counts, 429s included. Used by the fleet (live)
and the simulator alike, so both score the same way.

An attempt the server read but never answered (a hang, reset or malformed fault) is recorded
with the pseudo status `NO_ANSWER` (0) and counts as failed ("5xx" in per-server counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

NO_ANSWER: Final = 0
"""Pseudo status for an attempt the server read but never answered: counted, and failed."""


@dataclass(slots=True)
class ServerCounts:
    ok: int = 0
    failed: int = 0
    rate_limited: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"200": self.ok, "5xx": self.failed, "429": self.rate_limited}


@dataclass(frozen=True, slots=True)
class Score:
    ids: int
    attempts: int
    accepted: int
    penalised_attempts: int
    penalty: float

    @property
    def score(self) -> float:
        return self.accepted - self.penalty * self.penalised_attempts

    @property
    def score_per_id(self) -> float:
        """Score divided by the distinct ids seen (0.0 before any)."""
        return self.score / self.ids if self.ids else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "ids": self.ids,
            "attempts": self.attempts,
            "accepted": self.accepted,
            "penalised_attempts": self.penalised_attempts,
            "penalty": self.penalty,
            "score": self.score,
            "score_per_id": self.score_per_id,
        }


@dataclass(slots=True)
class Ledger:
    """Per-id attempt counts and acceptance; O(1) per attempt, O(1) to score."""

    free_attempts: int = 3
    attempts: dict[str, int] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    servers: dict[str, ServerCounts] = field(default_factory=dict)
    total_attempts: int = 0
    penalised: int = 0

    def record(self, request_id: str, server: str, status: int) -> None:
        """Count one validated attempt on `server` answered with `status` (or `NO_ANSWER`).

        200 accepts the id; 429 is rate limited; anything else (5xx, `NO_ANSWER`) failed.
        """
        count = self.attempts.get(request_id, 0) + 1
        self.attempts[request_id] = count
        self.total_attempts += 1
        if count > self.free_attempts:
            self.penalised += 1
        counts = self.servers.get(server)
        if counts is None:
            counts = self.servers[server] = ServerCounts()
        if status == 200:
            counts.ok += 1
            self.accepted.add(request_id)
        elif status == 429:
            counts.rate_limited += 1
        else:
            counts.failed += 1

    def score(self, penalty: float = 1.0) -> Score:
        """The game's score at `penalty` points per penalised attempt."""
        return Score(
            len(self.attempts), self.total_attempts, len(self.accepted), self.penalised, penalty
        )

    def reset(self) -> None:
        self.attempts.clear()
        self.accepted.clear()
        self.servers.clear()
        self.total_attempts = 0
        self.penalised = 0
