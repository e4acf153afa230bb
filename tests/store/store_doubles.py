"""Attempt records for store tests: the balancer's own `AttemptRecord`."""

from __future__ import annotations

from banditlb.balancer.recording import AttemptRecord
from banditlb.game.outcome import OutcomeKind

_STATUS = {OutcomeKind.ACCEPTED: 200, OutcomeKind.FAILED: 500, OutcomeKind.RATE_LIMITED: 429}


def attempt(
    n: int,
    *,
    attempt_no: int = 1,
    kind: OutcomeKind = OutcomeKind.ACCEPTED,
    at: float = 0.0,
    servers: int = 3,
) -> AttemptRecord:
    """Attempt `attempt_no` of request `n` on server s{n % servers}, 4 ms long, at `at`."""
    arm = n % servers
    return AttemptRecord(
        n, f"{n:024d}", attempt_no, arm, f"s{arm}", kind, _STATUS.get(kind), 0.004, at
    )
