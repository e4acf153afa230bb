"""A stored run's attempts written out as CSV or Parquet, streamed in pages (memory stays flat)."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from banditlb.errors import StoreError
from banditlb.store.attempts import MAX_PAGE, iter_attempts
from banditlb.store.rows import ATTEMPT_COLUMNS, AttemptRow
from banditlb.store.runs import get_run

FORMATS = ("csv", "parquet")


def export_attempts(conn: sqlite3.Connection, *, run_id: str, fmt: str, out: Path) -> int:
    """Write run `run_id`'s attempts to `out` as `fmt`; returns the number of rows written."""
    if fmt not in FORMATS:
        raise StoreError(f"export format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    get_run(conn, run_id=run_id)  # unknown run -> StoreError before any file is made
    _check_target(out)
    counted = _Counted(iter_attempts(conn, run_id=run_id))
    try:
        if fmt == "csv":
            with out.open("w", encoding="utf-8", newline="") as handle:
                handle.writelines(csv_chunks(counted))
            return counted.count
        return _write_parquet(counted, out)
    except OSError as exc:
        raise StoreError(f"cannot write export file {str(out)!r}: {exc.strerror or exc}") from None


def _check_target(out: Path) -> None:
    """The export file must be a file path in an existing folder."""
    if out.is_dir():
        raise StoreError(f"export file {str(out)!r} is a directory; give a file path")
    if not out.parent.is_dir():
        raise StoreError(f"export file {str(out)!r}: folder {str(out.parent)!r} does not exist")


class _Counted(Iterator[AttemptRow]):
    """Passes rows through and counts them."""

    def __init__(self, rows: Iterator[AttemptRow]) -> None:
        self._rows = rows
        self.count = 0

    def __next__(self) -> AttemptRow:
        row = next(self._rows)
        self.count += 1
        return row


def csv_chunks(rows: Iterator[AttemptRow], *, chunk: int = MAX_PAGE) -> Iterator[str]:
    """The CSV text (header first) in pieces of about `chunk` rows, for files and HTTP streams."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ATTEMPT_COLUMNS)
    pending = 0
    for row in rows:
        writer.writerow(_values(row))
        pending += 1
        if pending >= chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def _values(row: AttemptRow) -> list[Any]:
    return [getattr(row, column) for column in ATTEMPT_COLUMNS]


def _write_parquet(rows: Iterator[AttemptRow], out: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("seq", pa.int64()),
            ("run_id", pa.string()),
            ("request_no", pa.int64()),
            ("request_id", pa.string()),
            ("attempt", pa.int32()),
            ("arm", pa.int32()),
            ("server", pa.string()),
            ("outcome", pa.string()),
            ("status", pa.int32()),
            ("latency_ms", pa.float64()),
            ("at", pa.float64()),
        ]
    )
    count = 0
    with pq.ParquetWriter(str(out), schema) as writer:
        while True:
            page = [_values(row) for _, row in zip(range(MAX_PAGE * 10), rows, strict=False)]
            if page or not count:
                columns = list(zip(*page, strict=True)) if page else [()] * len(schema)
                data = dict(zip(schema.names, columns, strict=True))
                writer.write_table(pa.table(data, schema=schema))
                count += len(page)
            if len(page) < MAX_PAGE * 10:
                return count
