"""The simulator's `SimResult` as keyword arguments for `store_sim_result`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from banditlb.sim.result import SimResult


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
