"""Schema versions: fresh files, migration from v1, WAL mode, refusing newer files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from banditlb.errors import StoreError
from banditlb.store.schema import (
    SCHEMA_VERSION,
    connect,
    connect_readonly,
    default_path,
    migrate,
    schema_version,
)


def test_fresh_database_is_at_current_version_in_wal_mode(db_path: Path) -> None:
    """A new file gets every migration and WAL journaling."""
    conn = connect(db_path)
    assert schema_version(conn) == SCHEMA_VERSION == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_migration_from_v1_keeps_rows_and_adds_columns(db_path: Path) -> None:
    """A v1 file with a run and an attempt migrates to the current version, data intact."""
    raw = sqlite3.connect(db_path, isolation_level=None)
    assert migrate(raw, target=1) == 1
    raw.execute(
        "INSERT INTO runs (id, source, strategy, scenario, started_at)"
        " VALUES ('20261127-201500-ab12', 'live', 'thompson', 'default', 1.0)"
    )
    raw.execute(
        "INSERT INTO attempts (run_id, request_no, request_id, attempt, server, outcome,"
        " status, latency_ms, at) VALUES ('20261127-201500-ab12', 1, 'x', 1, 's0',"
        " 'accepted', 200, 4.0, 1.5)"
    )
    raw.close()

    conn = connect(db_path)
    assert schema_version(conn) == SCHEMA_VERSION
    run = conn.execute("SELECT id, label FROM runs").fetchone()
    assert tuple(run) == ("20261127-201500-ab12", "")
    assert conn.execute("SELECT arm, latency_ms FROM attempts").fetchone()[:] == (-1, 4.0)
    conn.close()


def test_newer_database_is_refused(db_path: Path) -> None:
    """A file from a newer banditlb is an error naming both versions."""
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreError, match=f"version {SCHEMA_VERSION + 1}, newer"):
        connect(db_path)


def test_readonly_connection_needs_an_existing_current_file(tmp_path: Path) -> None:
    """Read-only opens fail on a missing file and cannot write."""
    with pytest.raises(StoreError, match="does not exist"):
        connect_readonly(tmp_path / "missing.db")
    connect(tmp_path / "runs.db").close()
    reader = connect_readonly(tmp_path / "runs.db")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute("DELETE FROM runs")
    reader.close()


def test_default_path_is_runs_db_in_the_user_data_dir() -> None:
    """The default file is runs.db under a banditlb data directory."""
    path = default_path()
    assert path.name == "runs.db"
    assert path.parent.name == "banditlb"


def test_directory_as_database_is_a_store_error(tmp_path: Path) -> None:
    """A folder given as the run database is refused with a message naming it."""
    with pytest.raises(StoreError, match="is a directory"):
        connect(tmp_path)


def test_file_that_is_not_sqlite_is_a_store_error(tmp_path: Path) -> None:
    """A non-SQLite file is a StoreError (not a raw sqlite3 error), read-write and read-only."""
    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all, just some text that is long enough" * 20)
    with pytest.raises(StoreError, match=r"junk\.db.*not usable: file is not a database"):
        connect(junk)
    with pytest.raises(StoreError, match=r"junk\.db.* not a banditlb run store .*not a database"):
        connect_readonly(junk)


def test_database_under_a_file_is_a_store_error(tmp_path: Path) -> None:
    """A path whose parent is a regular file cannot be created; the error names the path."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create its folder"):
        connect(blocker / "runs.db")


def test_processes_opening_a_fresh_database_at_once_migrate_it_once(tmp_path: Path) -> None:
    """Four processes connecting to a new database together all succeed; the schema is current."""
    import subprocess
    import sys
    import time

    db = tmp_path / "race.db"
    start_at = time.time() + 2.0  # every process imports first, then all connect together
    code = (
        "import time; from banditlb.store import connect; "
        f"time.sleep(max(0.0, {start_at} - time.time())); connect({str(db)!r}).close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in range(6)
    ]
    errors = [p.communicate(timeout=60)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    conn = connect(db)
    try:
        assert schema_version(conn) == SCHEMA_VERSION
    finally:
        conn.close()
