"""Simulator sweeps: every run of one `banditlb sim` shares a label `sweep-YYYYMMDD-HHMMSS-xxxx`.

`list_sweeps` lists them; `compare_sweep` folds a whole sweep (1,530 runs for a full one) into
one cell per tier × strategy and one averaged regret curve per tier × strategy, on the server,
so what the dashboard receives does not grow with the number of seeds.
Labels reach SQL only as bound parameters, after the regex check.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from banditlb.errors import StoreError
from banditlb.store.cells import Cell, make_cell, rank

SWEEP_LABEL_PATTERN = r"sweep-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}"
SWEEP_LABEL_RE = re.compile(rf"^{SWEEP_LABEL_PATTERN}$")
SWEEP_LABEL_RULE = "a sweep label looks like sweep-20261127-201500-ab12 (UTC date, time, 4 hex)"
SWEEP_CURVE_POINTS = 100
"""Points of each averaged regret curve (plus the origin), whatever the runs' length."""
CURVE_DECIMALS = 3
"""Curve values are rounded to a thousandth of a point: plenty for a plot, half the bytes."""


def new_sweep_label(started_at: float, suffix: str | None = None) -> str:
    """A label for a sweep started at `started_at` (Unix seconds); suffix random by default."""
    stamp = datetime.fromtimestamp(started_at, tz=UTC).strftime("%Y%m%d-%H%M%S")
    tail = suffix if suffix is not None else secrets.token_hex(2)
    return check_sweep_label(f"sweep-{stamp}-{tail}")


def is_sweep_label(text: str) -> bool:
    return SWEEP_LABEL_RE.fullmatch(text) is not None


def check_sweep_label(text: str) -> str:
    """Return `text` if it is a well-formed sweep label, else raise StoreError naming the rule."""
    if not is_sweep_label(text):
        raise StoreError(f"bad sweep label {text[:40]!r}: {SWEEP_LABEL_RULE}")
    return text


@dataclass(frozen=True, slots=True)
class Sweep:
    """One stored sweep: how many runs, distinct strategies, tiers and seeds, first start."""

    label: str
    scenario: str
    runs: int
    strategies: int
    tiers: int
    seeds: int
    started: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_sweeps(conn: sqlite3.Connection, *, limit: int = 100) -> list[Sweep]:
    """Sweeps newest first: simulated runs grouped by a label that has the sweep form."""
    rows = conn.execute(
        "SELECT label, group_concat(DISTINCT scenario) AS scenario, COUNT(*) AS runs,"
        " COUNT(DISTINCT strategy) AS strategies, COUNT(DISTINCT tier) AS tiers,"
        " COUNT(DISTINCT seed) AS seeds, MIN(started_at) AS started"
        " FROM runs WHERE source = 'simulated' AND label GLOB 'sweep-*'"
        " GROUP BY label ORDER BY started DESC, label DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [
        Sweep(
            label=row["label"],
            scenario=row["scenario"] or "",
            runs=row["runs"],
            strategies=row["strategies"],
            tiers=row["tiers"],
            seeds=row["seeds"],
            started=row["started"],
        )
        for row in rows
        if is_sweep_label(row["label"])
    ]


@dataclass(frozen=True, slots=True)
class SweepCurve:
    """Cumulative score and regret averaged over a cell's runs at the same request counts."""

    strategy: str
    tier: str
    n: int
    requests: list[int]
    score: list[float]
    regret: list[float] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SweepComparison:
    sweep: Sweep
    cells: list[Cell]
    curves: list[SweepCurve]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sweep": self.sweep.to_dict(),
            "cells": [cell.to_dict() for cell in self.cells],
            "curves": [curve.to_dict() for curve in self.curves],
        }


@dataclass(slots=True)
class _RunNumbers:
    requests: float
    score: float
    penalised: float
    delivered: float
    oracle: float | None
    curve_requests: list[float]
    curve_score: list[float]
    run_id: str = ""  # not read: a sweep's cells do not list their runs


def compare_sweep(
    conn: sqlite3.Connection, *, label: str, points: int = SWEEP_CURVE_POINTS
) -> SweepComparison:
    """The sweep's tier × strategy cells (best per tier marked) and averaged regret curves.

    Raises StoreError for a malformed label or one no stored run carries.
    """
    check_sweep_label(label)
    rows = conn.execute(
        "SELECT strategy, tier, scenario, seed, started_at,"
        " json_extract(totals, '$.requests') AS requests,"
        " json_extract(totals, '$.score') AS score,"
        " json_extract(totals, '$.penalised') AS penalised,"
        " json_extract(totals, '$.delivered') AS delivered,"
        " json_extract(totals, '$.oracle') AS oracle,"
        " json_extract(totals, '$.oracle_per_request') AS oracle_per_request,"
        " json_extract(totals, '$.curve') AS curve"
        " FROM runs WHERE label = ? AND source = 'simulated'",
        (label,),
    ).fetchall()
    if not rows:
        raise StoreError(f"no sweep {label} in the run database")
    groups: dict[tuple[str, str], list[_RunNumbers]] = {}
    for row in rows:
        numbers = _numbers(row)
        if numbers is not None:
            groups.setdefault((row["tier"], row["strategy"]), []).append(numbers)
    cells = rank(
        make_cell(strategy, tier, runs, per_request=True)
        for (tier, strategy), runs in groups.items()
    )
    curves = [
        _curve(strategy, tier, groups[tier, strategy], points) for tier, strategy in sorted(groups)
    ]
    sweep = Sweep(
        label=label,
        scenario=",".join(sorted({row["scenario"] for row in rows})),
        runs=len(rows),
        strategies=len({row["strategy"] for row in rows}),
        tiers=len({row["tier"] for row in rows}),
        seeds=len({row["seed"] for row in rows}),
        started=min(row["started_at"] for row in rows),
    )
    return SweepComparison(sweep, cells, curves)


def _numbers(row: sqlite3.Row) -> _RunNumbers | None:
    """A run's numbers, or None when it served no requests (nothing to average per request)."""
    requests = _finite(row["requests"])
    if requests is None or requests <= 0:
        return None
    oracle = _finite(row["oracle"])
    if oracle is None:
        per_request = _finite(row["oracle_per_request"])
        oracle = None if per_request is None else per_request * requests
    curve = json.loads(row["curve"]) if row["curve"] else {}
    return _RunNumbers(
        requests=requests,
        score=_finite(row["score"]) or 0.0,
        penalised=_finite(row["penalised"]) or 0.0,
        delivered=_finite(row["delivered"]) or 0.0,
        oracle=oracle if oracle is not None and oracle > 0 else None,
        curve_requests=[float(n) for n in curve.get("requests", [])],
        curve_score=[float(x) for x in curve.get("score", [])],
    )


def _curve(strategy: str, tier: str, runs: list[_RunNumbers], points: int) -> SweepCurve:
    """Each run's cumulative score interpolated at the same request counts, then averaged.

    The grid runs from 0 to the shortest run's requests; regret is each run's oracle bound
    per request × requests − score, averaged (None unless every run has a bound).
    """
    import numpy as np

    length = min(run.requests for run in runs)
    steps = max(1, min(points, int(length)))
    grid = [round(i * length / steps) for i in range(steps + 1)]
    xs = np.asarray(grid, dtype=float)
    scores = np.zeros(len(grid))
    regrets = np.zeros(len(grid))
    for run in runs:
        x, y = run.curve_requests, run.curve_score
        if not x or len(x) != len(y):  # no stored curve: a straight line to the final score
            x, y = [run.requests], [run.score]
        if x[0] != 0:
            x, y = [0.0, *x], [0.0, *y]
        score = np.interp(xs, np.asarray(x), np.asarray(y))
        scores += score
        if run.oracle is not None:
            regrets += run.oracle / run.requests * xs - score
    n = len(runs)
    with_bound = all(run.oracle is not None for run in runs)
    return SweepCurve(
        strategy=strategy,
        tier=tier,
        n=n,
        requests=grid,
        score=[round(float(v), CURVE_DECIMALS) for v in scores / n],
        regret=[round(float(v), CURVE_DECIMALS) for v in regrets / n] if with_bound else None,
    )


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
