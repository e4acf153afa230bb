"""A run's attempts folded into fixed time buckets: what replay and regret curves draw.

The result is bounded whatever the run's length: at most `MAX_BUCKETS` buckets (the bucket
widens past one second for long runs) times the number of servers.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from banditlb.store.rows import Run
from banditlb.store.totals import oracle_total

MAX_BUCKETS = 3600


@dataclass(slots=True)
class ServerSeries:
    attempts: list[int]
    accepted: list[int]
    rate_limited: list[int]


@dataclass(slots=True)
class Timeline:
    """Per-bucket counts; `t` holds each bucket's start in seconds since the first attempt."""

    run_id: str
    bucket_s: float
    t: list[float]
    requests: list[int]
    attempts: list[int]
    delivered: list[int]
    failed: list[int]
    rate_limited: list[int]
    errors: list[int]
    penalised: list[int]
    score: list[float]
    latency_ms_mean: list[float | None]
    penalty: float
    oracle: float | None
    oracle_per_s: float | None
    servers: dict[str, ServerSeries] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_timeline(conn: sqlite3.Connection, *, run: Run, free_attempts: int = 3) -> Timeline:
    """Fold `run`'s stored attempts into buckets of one second (wider for runs over an hour)."""
    penalty = float(run.totals.get("penalty", run.params.get("penalty", 1.0)))
    span_row = conn.execute(
        "SELECT MIN(at), MAX(at) FROM attempts WHERE run_id = ?", (run.id,)
    ).fetchone()
    first, last = span_row[0], span_row[1]
    if first is None:
        n, bucket = 0, 1.0
    else:
        bucket = float(max(1, math.ceil((last - first + 1e-9) / MAX_BUCKETS)))
        n = int((last - first) // bucket) + 1
    line = Timeline(
        run_id=run.id,
        bucket_s=bucket,
        t=[i * bucket for i in range(n)],
        requests=[0] * n,
        attempts=[0] * n,
        delivered=[0] * n,
        failed=[0] * n,
        rate_limited=[0] * n,
        errors=[0] * n,
        penalised=[0] * n,
        score=[0.0] * n,
        latency_ms_mean=[None] * n,
        penalty=penalty,
        oracle=None,
        oracle_per_s=None,
    )
    if n:
        _fill(conn, line, run_id=run.id, first=first, bucket=bucket, free_attempts=free_attempts)
    oracle = oracle_total(run.totals)
    if oracle is not None:
        line.oracle = oracle
        duration = _duration(run, n * bucket)
        line.oracle_per_s = oracle / duration if duration > 0 else None
    return line


def _fill(
    conn: sqlite3.Connection,
    line: Timeline,
    *,
    run_id: str,
    first: float,
    bucket: float,
    free_attempts: int,
) -> None:
    n = len(line.t)
    latency_sum = [0.0] * n
    rows = conn.execute(
        "SELECT MIN(CAST((at - ?) / ? AS INTEGER), ?) AS b, server, outcome,"
        " attempt > ? AS pen, attempt = 1 AS first_try, COUNT(*) AS c, SUM(latency_ms) AS lat"
        " FROM attempts WHERE run_id = ? GROUP BY b, server, outcome, pen, first_try",
        (first, bucket, n - 1, free_attempts, run_id),
    ).fetchall()
    for b, server, outcome, pen, first_try, count, lat in rows:
        line.attempts[b] += count
        latency_sum[b] += lat or 0.0
        if first_try:
            line.requests[b] += count
        if pen:
            line.penalised[b] += count
        if outcome == "accepted":
            line.delivered[b] += count
        elif outcome == "failed":
            line.failed[b] += count
        elif outcome == "rate_limited":
            line.rate_limited[b] += count
        else:
            line.errors[b] += count
        series = line.servers.get(server)
        if series is None:
            series = line.servers[server] = ServerSeries([0] * n, [0] * n, [0] * n)
        series.attempts[b] += count
        if outcome == "accepted":
            series.accepted[b] += count
        elif outcome == "rate_limited":
            series.rate_limited[b] += count
    for b in range(n):
        line.score[b] = line.delivered[b] - line.penalty * line.penalised[b]
        if line.attempts[b]:
            line.latency_ms_mean[b] = latency_sum[b] / line.attempts[b]
    line.servers = dict(sorted(line.servers.items()))


def _duration(run: Run, fallback: float) -> float:
    stated = run.totals.get("duration_s")
    if isinstance(stated, int | float) and stated > 0:
        return float(stated)
    if run.ended_at is not None and run.ended_at > run.started_at:
        return run.ended_at - run.started_at
    return fallback
