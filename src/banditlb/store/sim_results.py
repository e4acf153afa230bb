"""The simulator's `SimResult` (and its trace) as keyword arguments for `store_sim_result`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from banditlb.game.outcome import Outcome
    from banditlb.sim.result import SimResult


class TraceRecord(Protocol):
    """What the store reads from one simulator trace record (`sim.engine.AttemptRecord`)."""

    @property
    def request(self) -> int: ...
    @property
    def arm(self) -> int: ...
    @property
    def sent(self) -> float: ...
    @property
    def answered(self) -> float: ...
    @property
    def outcome(self) -> Outcome: ...
    @property
    def counted(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class SimAttempt:
    """One simulated attempt in the store's shape (`totals.AttemptLike`)."""

    request_no: int
    request_id: str
    attempt: int
    arm: int
    server: str
    kind: str
    status: int | None
    latency_s: float
    at: float


def sim_attempts(
    trace: Iterable[TraceRecord], *, arm_names: tuple[str, ...], started_at: float
) -> Iterator[SimAttempt]:
    """The attempts the referee counted, as stored attempts of a run that began at `started_at`.

    `at` is `started_at` plus the virtual second the answer came back (as the live balancer
    stamps an attempt when it is answered), so replay's time axis is the simulated one.
    Attempts are numbered per request as the referee counts them; connections a server refused
    never reached it and are left out, so the stored attempts add up to the run's totals
    (`attempts`, `penalised`, `score`). Request numbers are 1-based, the id is the index.
    """
    counts: dict[int, int] = {}
    for rec in trace:
        if not rec.counted:
            continue
        n = counts.get(rec.request, 0) + 1
        counts[rec.request] = n
        yield SimAttempt(
            request_no=rec.request + 1,
            request_id=str(rec.request),
            attempt=n,
            arm=rec.arm,
            server=arm_names[rec.arm],
            kind=str(rec.outcome.kind.value),
            status=rec.outcome.status,
            latency_s=rec.answered - rec.sent,
            at=started_at + rec.answered,
        )


def sim_result_fields(
    result: SimResult, *, oracle_per_request: float | None = None
) -> dict[str, Any]:
    """Plain values for `store_sim_result(conn, **fields)`.

    `oracle_per_request` is the LP bound (`oracle.oracle_bound(...).score_per_request`); the
    run's total bound is that times its requests.
    """
    totals: dict[str, Any] = {
        "requests": result.requests,
        "attempts": result.attempts,
        "delivered": result.accepted,
        "accepted": result.accepted,
        "failed": result.failed,
        "rate_limited": result.rate_limited,
        "errors": result.timeouts + result.connection_errors,
        "penalised": result.penalised_attempts,
        "penalty": result.penalty,
        "score": result.score,
        "rate": result.rate,
        "duration_s": result.duration,
        "arms": {
            name: {"attempts": n, "accepted": ok, "rate_limited": limited}
            for name, n, ok, limited in zip(
                result.arm_names,
                result.arm_attempts,
                result.arm_accepted,
                result.arm_rate_limited,
                strict=True,
            )
        },
    }
    if oracle_per_request is not None:
        totals["oracle_per_request"] = oracle_per_request
        totals["oracle"] = oracle_per_request * result.requests
    return {
        "strategy": result.strategy,
        "scenario": result.scenario,
        "tier": result.tier,
        "seed": result.seed,
        "params": dict(result.params),
        "totals": totals,
        "duration": result.duration,
        "curve_requests": result.timeline_requests,
        "curve_score": result.timeline_score,
    }
