"""Keyword-only functions over the `runs` table: create, finish, read, list, store a sim result."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from banditlb.errors import StoreError
from banditlb.store.attempts import insert_attempts
from banditlb.store.rows import SOURCES, Run, RunCreate
from banditlb.store.run_ids import check_run_id, new_run_id
from banditlb.store.totals import AttemptLike

_COLUMNS = "id, source, strategy, scenario, params, tier, seed, label, started_at, ended_at, totals"


def create_run(
    conn: sqlite3.Connection,
    *,
    run: RunCreate,
    started_at: float | None = None,
    run_id: str | None = None,
) -> Run:
    """Insert a new run (started now unless told) and return it; the id is made if not given."""
    if run.source not in SOURCES:
        raise StoreError(f"run source must be one of {', '.join(SOURCES)}; got {run.source!r}")
    start = time.time() if started_at is None else started_at
    params = json.dumps(run.params, sort_keys=True, allow_nan=False)
    for _ in range(20):
        ident = check_run_id(run_id) if run_id is not None else new_run_id(start)
        try:
            conn.execute(
                "INSERT INTO runs (id, source, strategy, scenario, params, tier, seed, label,"
                " started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ident,
                    run.source,
                    run.strategy,
                    run.scenario,
                    params,
                    run.tier,
                    run.seed,
                    run.label,
                    start,
                ),
            )
        except sqlite3.IntegrityError as exc:
            if run_id is not None:
                raise StoreError(f"run {run_id} already exists") from exc
            continue
        return get_run(conn, run_id=ident)
    raise StoreError("could not find a free run id in 20 tries")  # pragma: no cover


def finish_run(
    conn: sqlite3.Connection,
    *,
    run_id: str,
    totals: Mapping[str, Any],
    ended_at: float | None = None,
) -> Run:
    """Set a run's end time and totals (merged over any totals it already has)."""
    current = get_run(conn, run_id=run_id)
    merged = {**current.totals, **totals}
    conn.execute(
        "UPDATE runs SET ended_at = ?, totals = ? WHERE id = ?",
        (
            time.time() if ended_at is None else ended_at,
            json.dumps(merged, sort_keys=True, allow_nan=False),
            run_id,
        ),
    )
    return get_run(conn, run_id=run_id)


def get_run(conn: sqlite3.Connection, *, run_id: str) -> Run:
    """The run with this id, or StoreError when there is none."""
    check_run_id(run_id)
    row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise StoreError(f"no run {run_id} in the run database")
    return _run(row)


def list_runs(
    conn: sqlite3.Connection,
    *,
    limit: int = 50,
    offset: int = 0,
    source: str | None = None,
    strategy: str | None = None,
    tier: str | None = None,
    label: str | None = None,
) -> list[Run]:
    """Runs newest first, optionally only one source, strategy, tier or label (sweep)."""
    if source is not None and source not in SOURCES:
        raise StoreError(f"run source must be one of {', '.join(SOURCES)}; got {source!r}")
    where, args = _filters(source=source, strategy=strategy, tier=tier, label=label)
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM runs {where} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?",
        (*args, limit, offset),
    ).fetchall()
    return [_run(row) for row in rows]


def _filters(**equal: str | None) -> tuple[str, tuple[Any, ...]]:
    """`WHERE a = ? AND ...` for the columns given a value (names are ours, never user input)."""
    chosen = {column: value for column, value in equal.items() if value is not None}
    if not chosen:
        return "", ()
    return "WHERE " + " AND ".join(f"{c} = ?" for c in chosen), tuple(chosen.values())


def delete_runs(
    conn: sqlite3.Connection,
    *,
    run_ids: Sequence[str] = (),
    label: str | None = None,
    started_before: float | None = None,
    keep_newest: int | None = None,
) -> int:
    """Delete runs (and their attempts) chosen by id, by sweep label, by age, or all but the
    newest `keep_newest`; criteria combine with OR. One transaction; returns how many."""
    ids = [check_run_id(run_id) for run_id in run_ids]
    doomed: set[str] = set(ids)
    if label is not None:
        doomed.update(r[0] for r in conn.execute("SELECT id FROM runs WHERE label = ?", (label,)))
    if started_before is not None:
        doomed.update(
            r[0]
            for r in conn.execute("SELECT id FROM runs WHERE started_at < ?", (started_before,))
        )
    if keep_newest is not None:
        doomed.update(
            r[0]
            for r in conn.execute(
                "SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT -1 OFFSET ?",
                (keep_newest,),
            )
        )
    known = {r[0] for r in conn.execute("SELECT id FROM runs")} if ids else set()
    missing = [run_id for run_id in ids if run_id not in known]
    if missing:
        raise StoreError(f"no run {missing[0]} in this run store")
    if not doomed:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for run_id in sorted(doomed):
            conn.execute("DELETE FROM attempts WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return len(doomed)


def store_sim_result(
    conn: sqlite3.Connection,
    *,
    strategy: str,
    scenario: str,
    totals: Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
    tier: str = "all",
    seed: int | None = None,
    started_at: float | None = None,
    duration: float | None = None,
    label: str = "",
    attempts: Iterable[AttemptLike] = (),
    curve_requests: Sequence[int] = (),
    curve_score: Sequence[float] = (),
) -> Run:
    """Store one finished simulator run (totals, and its attempts when the simulator kept them).

    `started_at` is the wall time the simulation ran (now by default); `duration` the simulated
    seconds, stored as `ended_at - started_at` so regret curves have a time axis.
    `curve_score[i]` is the cumulative score after `curve_requests[i]` requests (the
    simulator's timeline); it is kept in `totals["curve"]` for regret plots.
    """
    if len(curve_requests) != len(curve_score):
        raise StoreError(
            f"curve_requests ({len(curve_requests)}) and curve_score ({len(curve_score)})"
            " must have the same length"
        )
    stored_totals = dict(totals)
    if curve_requests:
        stored_totals["curve"] = {
            "requests": [int(n) for n in curve_requests],
            "score": [float(x) for x in curve_score],
        }
    start = time.time() if started_at is None else started_at
    conn.execute("BEGIN IMMEDIATE")
    try:
        run = create_run(
            conn,
            run=RunCreate(
                source="simulated",
                strategy=strategy,
                scenario=scenario,
                params=dict(params or {}),
                tier=tier,
                seed=seed,
                label=label,
            ),
            started_at=start,
        )
        insert_attempts(conn, run_id=run.id, records=attempts)
        end = start + duration if duration is not None else start
        run = finish_run(conn, run_id=run.id, totals=stored_totals, ended_at=end)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return run


def _run(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"],
        source=row["source"],
        strategy=row["strategy"],
        scenario=row["scenario"],
        params=json.loads(row["params"]),
        tier=row["tier"],
        seed=row["seed"],
        label=row["label"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        totals=json.loads(row["totals"]),
    )
