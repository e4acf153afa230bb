"""Keyword-only functions over the `attempts` table: insert in batches, page, stream, count."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from banditlb.store.rows import AttemptRow
from banditlb.store.totals import AttemptLike, outcome_text

MAX_PAGE = 1000
"""The most attempts one page may hold (the dashboard's `limit` rule)."""

_INSERT = (
    "INSERT INTO attempts (run_id, request_no, request_id, attempt, arm, server, outcome,"
    " status, latency_ms, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT id, run_id, request_no, request_id, attempt, arm, server, outcome, status,"
    " latency_ms, at FROM attempts"
)


def insert_attempts(
    conn: sqlite3.Connection, *, run_id: str, records: Iterable[AttemptLike]
) -> int:
    """Insert attempts of one run with one `executemany`; returns how many went in.

    The caller owns the transaction (the recorder wraps each batch in one).
    """
    rows = [
        (
            run_id,
            rec.request_no,
            rec.request_id,
            rec.attempt,
            rec.arm,
            rec.server,
            outcome_text(rec.kind),
            rec.status,
            rec.latency_s * 1000.0,
            rec.at,
        )
        for rec in records
    ]
    if rows:
        conn.executemany(_INSERT, rows)
    return len(rows)


def list_attempts(
    conn: sqlite3.Connection, *, run_id: str, offset: int = 0, limit: int = 100
) -> list[AttemptRow]:
    """One page of a run's attempts in the order they were recorded."""
    rows = conn.execute(
        f"{_SELECT} WHERE run_id = ? ORDER BY id LIMIT ? OFFSET ?", (run_id, limit, offset)
    ).fetchall()
    return [_row(row) for row in rows]


def iter_attempts(
    conn: sqlite3.Connection, *, run_id: str, batch: int = MAX_PAGE
) -> Iterator[AttemptRow]:
    """Every attempt of a run, fetched `batch` rows at a time (keyset paging, O(n) overall)."""
    last = -1
    while True:
        rows = conn.execute(
            f"{_SELECT} WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?", (run_id, last, batch)
        ).fetchall()
        if not rows:
            return
        for row in rows:
            yield _row(row)
        last = rows[-1]["id"]


def count_attempts(conn: sqlite3.Connection, *, run_id: str) -> int:
    return int(
        conn.execute("SELECT COUNT(*) FROM attempts WHERE run_id = ?", (run_id,)).fetchone()[0]
    )


def _row(row: sqlite3.Row) -> AttemptRow:
    return AttemptRow(
        seq=row["id"],
        run_id=row["run_id"],
        request_no=row["request_no"],
        request_id=row["request_id"],
        attempt=row["attempt"],
        arm=row["arm"],
        server=row["server"],
        outcome=row["outcome"],
        status=row["status"],
        latency_ms=row["latency_ms"],
        at=row["at"],
    )
