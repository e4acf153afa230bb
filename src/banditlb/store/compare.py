"""Runs grouped by strategy and tier: mean score with a 95% interval, % of oracle, penalties."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from banditlb.store.cells import Cell, RunNumbers, make_cell, rank
from banditlb.store.rows import Run
from banditlb.store.timeline import run_timeline
from banditlb.store.totals import oracle_total

MAX_CURVE_POINTS = 200


def compare_runs(runs: Sequence[Run]) -> list[Cell]:
    """One cell per (strategy, tier) of whole-run scores; `best` marks each tier's top mean."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.strategy, run.tier), []).append(run)
    return rank(_cell(strategy, tier, members) for (strategy, tier), members in groups.items())


def _cell(strategy: str, tier: str, runs: list[Run]) -> Cell:
    numbers = [
        RunNumbers(
            run_id=run.id,
            requests=_number(run.totals, "requests"),
            score=_number(run.totals, "score"),
            penalised=_number(run.totals, "penalised"),
            delivered=_number(run.totals, "delivered"),
            oracle=oracle if (oracle := oracle_total(run.totals) or 0.0) > 0 else None,
        )
        for run in runs
    ]
    return make_cell(strategy, tier, numbers, list_runs=True)


def _number(totals: dict[str, Any], key: str) -> float:
    value = totals.get(key)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return 0.0


@dataclass(frozen=True, slots=True)
class Curve:
    """A run's cumulative score (and regret vs the oracle when known) against requests served."""

    run_id: str
    strategy: str
    tier: str
    requests: list[int]
    score: list[float]
    regret: list[float] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_curve(conn: sqlite3.Connection, *, run: Run, points: int = MAX_CURVE_POINTS) -> Curve:
    """From stored attempts when there are any, else from the simulator's stored curve."""
    requests: list[int] = []
    score: list[float] = []
    line = run_timeline(conn, run=run)
    if line.t:
        done, total = 0, 0.0
        for n, s in zip(line.requests, line.score, strict=True):
            done += n
            total += s
            requests.append(done)
            score.append(total)
    else:
        stored = run.totals.get("curve") or {}
        requests = [int(n) for n in stored.get("requests", [])]
        score = [float(x) for x in stored.get("score", [])]
    if requests and requests[0] != 0:
        requests, score = [0, *requests], [0.0, *score]
    step = max(1, math.ceil(len(requests) / points))
    keep = sorted({*range(0, len(requests), step), len(requests) - 1} - {-1})
    requests = [requests[i] for i in keep]
    score = [score[i] for i in keep]
    oracle = oracle_total(run.totals)
    runs_requests = run.totals.get("requests")
    regret = None
    if oracle is not None and isinstance(runs_requests, int | float) and runs_requests > 0:
        per_request = oracle / runs_requests
        regret = [per_request * n - s for n, s in zip(requests, score, strict=True)]
    return Curve(run.id, run.strategy, run.tier, requests, score, regret)
