"""A temp run database with stored runs, and a fake balancer state, for dashboard tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from banditlb.balancer.recording import AttemptRecord
from banditlb.game.outcome import OutcomeKind
from banditlb.store import (
    RunCreate,
    connect,
    create_run,
    finish_run,
    insert_attempts,
    store_sim_result,
)

LIVE_ID = "20261127-201500-ab12"
EMPTY_ID = "20261127-201600-cd34"
SERVERS = ("s0", "s1", "s2")


def make_store(path: Path, *, seconds: int = 30, rate: int = 10) -> dict[str, str]:
    """One live run with `seconds` × `rate` attempts on three servers of rates 0.9/0.5/0.2,
    one live run without attempts, and two simulated runs per strategy on tier T1."""
    conn = connect(path)
    run = create_run(
        conn,
        run=RunCreate(source="live", strategy="thompson", scenario="default", tier="T1"),
        run_id=LIVE_ID,
        started_at=1_000.0,
    )
    records = []
    n = 0
    for second in range(seconds):
        for k in range(rate):
            arm = (n * 7) % 3
            accepted = (n * 37 % 100) < (90, 50, 20)[arm]
            kind = OutcomeKind.ACCEPTED if accepted else OutcomeKind.FAILED
            records.append(
                AttemptRecord(
                    n + 1,
                    f"{n:024d}",
                    1,
                    arm,
                    SERVERS[arm],
                    kind,
                    200 if accepted else 500,
                    0.003 + 0.001 * arm,
                    1_000.0 + second + k / rate,
                )
            )
            n += 1
    insert_attempts(conn, run_id=run.id, records=records)
    delivered = sum(r.kind is OutcomeKind.ACCEPTED for r in records)
    finish_run(
        conn,
        run_id=run.id,
        ended_at=1_000.0 + seconds,
        totals={
            "requests": n,
            "delivered": delivered,
            "penalised": 0,
            "score": float(delivered),
            "oracle": 0.9 * n,
        },
    )
    create_run(
        conn,
        run=RunCreate(source="live", strategy="ucb1", scenario="default", tier="T1"),
        run_id=EMPTY_ID,
        started_at=2_000.0,
    )
    ids = {"live": LIVE_ID, "empty": EMPTY_ID}
    for strategy, scores in (("thompson", (250.0, 260.0)), ("round_robin", (150.0, 170.0))):
        for seed, score in enumerate(scores):
            sim = store_sim_result(
                conn,
                strategy=strategy,
                scenario="default",
                tier="T1",
                seed=seed,
                totals={"requests": 300, "score": score, "oracle": 270.0, "penalised": 3},
                started_at=3_000.0 + seed,
                duration=30.0,
                curve_requests=[100, 200, 300],
                curve_score=[score / 3, 2 * score / 3, score],
            )
            ids[f"{strategy}-{seed}"] = sim.id
    conn.close()
    return ids


class FakeBalancer:
    """A balancer state document whose numbers grow each time it is read."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self, request: object) -> dict[str, Any]:
        self.reads += 1
        k = self.reads
        return {
            "settings": {
                "strategy": "thompson",
                "scenario": "default",
                "tier": "T1",
                "label": "",
                "penalty": 1.0,
            },
            "now": 10.0 * k,
            "uptime_s": 10.0 * k,
            "in_flight": 0,
            "stats": {
                "requests": 100 * k,
                "delivered": 80 * k,
                "attempts": 150 * k,
                "penalised_attempts": k,
                "latency": {
                    "count": 100 * k,
                    "p50_s": 0.004,
                    "p99_s": 0.02,
                    "histogram": {
                        "bounds_s": [0.001, 0.01, 0.1, float("inf")],
                        "counts": [0, 90 * k, 10 * k, 0],
                    },
                },
                "arms": [
                    {
                        "arm": 0,
                        "server": "s0",
                        "accepted": 70 * k,
                        "failed": 10 * k,
                        "rate_limited": 20 * k,
                        "timeout": 0,
                        "connection_error": 0,
                    },
                    {
                        "arm": 1,
                        "server": "s1",
                        "accepted": 10 * k,
                        "failed": 40 * k,
                        "rate_limited": 0,
                        "timeout": 0,
                        "connection_error": 0,
                    },
                ],
                "per_second": {"end": 10 * k, "requests": [10, 10], "delivered": [8, 8]},
            },
            "strategy": {
                "name": "thompson",
                "arms": [
                    {
                        "arm": 0,
                        "server": "s0",
                        "alpha": 1.0 + 70 * k,
                        "beta": 1.0 + 10 * k,
                        "estimate": 0.87,
                        "capacity": 5.0,
                        "blocked_until": 10.0 * k + 1.5,
                    },
                    {
                        "arm": 1,
                        "server": "s1",
                        "alpha": 1.0 + 10 * k,
                        "beta": 1.0 + 40 * k,
                        "estimate": 0.2,
                        "capacity": None,
                        "blocked_until": 0.0,
                    },
                ],
            },
        }
