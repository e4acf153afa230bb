"""The run database's file, connections and schema versions.

The version lives in `PRAGMA user_version`; `MIGRATIONS[i]` takes a database from version i to
version i + 1, and `migrate` applies the missing ones in order inside one transaction each.
Connections use WAL journaling so readers on their own connections never block the writer.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import platformdirs

from banditlb.errors import StoreError

DB_FILENAME = "runs.db"

_V1 = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL CHECK (source IN ('live', 'simulated')),
    strategy TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    scenario TEXT NOT NULL,
    tier TEXT NOT NULL DEFAULT 'all',
    seed INTEGER,
    started_at REAL NOT NULL,
    ended_at REAL,
    totals TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    request_no INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    server TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN
        ('accepted', 'failed', 'rate_limited', 'timeout', 'connection_error')),
    status INTEGER,
    latency_ms REAL NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX attempts_run ON attempts (run_id, id);
"""

_V2 = """
ALTER TABLE runs ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN arm INTEGER NOT NULL DEFAULT -1;
CREATE INDEX runs_started ON runs (started_at);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2)
"""Script i moves the schema from version i to i + 1."""

SCHEMA_VERSION = len(MIGRATIONS)


DB_ENV = "BANDITLB_DB"
"""Environment variable naming the run store when a command gets no --db."""


def default_path() -> Path:
    """$BANDITLB_DB if set, else `runs.db` in the user's data directory
    (e.g. ~/.local/share/banditlb/runs.db). Read at call time, never at import."""
    chosen = os.environ.get(DB_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_data_dir("banditlb")) / DB_FILENAME


def connect(path: Path | str, *, migrate_schema: bool = True) -> sqlite3.Connection:
    """A read-write connection in WAL mode, with the schema brought up to date."""
    target = Path(path)
    if target.is_dir():
        raise StoreError(f"run database {str(target)!r} is a directory; give a file path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"run database {str(target)!r}: cannot create its folder: {exc.strerror or exc}"
        ) from None
    try:
        conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"run database {str(target)!r} cannot be opened: {exc}") from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=10000")
        _refuse_foreign(conn, target)
        _enable_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        if migrate_schema:
            migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"run database {str(target)!r} is not usable: {exc}") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _refuse_foreign(conn: sqlite3.Connection, target: Path) -> None:
    """Refuse an SQLite file that holds tables but is not a banditlb store (before any write).

    An empty file, a fresh database and a banditlb store of any version pass; anything else
    would get our tables, our `user_version` and WAL journaling added to someone else's data.
    """
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if tables and not {"runs", "attempts"} <= tables:
        raise StoreError(
            f"{str(target)!r} is not a banditlb run store (an SQLite file with other tables);"
            " give another --db"
        )


def _enable_wal(conn: sqlite3.Connection, *, attempts: int = 200, pause: float = 0.05) -> None:
    """Switch to WAL, retrying while another process is switching the same fresh file.

    SQLite answers "database is locked" to a journal-mode change at once, without its busy
    handler, when another connection holds the file; the balancers of one `banditlb run` open
    the same fresh store at the same moment. Bounded: about 10 s, then the error stands.
    """
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(pause)


def connect_readonly(path: Path | str) -> sqlite3.Connection:
    """A read-only connection (`mode=ro`) for `runs`, `export` and dashboards.

    Never writes: no tables created, no `user_version` set, no switch to WAL. Refuses, with a
    StoreError naming the file, a path that does not exist, a file that is not SQLite, an
    SQLite file that is not a banditlb run store, and a store of another schema version.
    """
    target = Path(path).resolve()
    if not target.exists():
        raise StoreError(f"run database {str(target)!r} does not exist")
    if not target.is_file():
        raise StoreError(f"run database {str(target)!r} is not a file")
    try:
        conn = sqlite3.connect(
            f"{target.as_uri()}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
        )
    except sqlite3.Error as exc:
        raise StoreError(f"run database {str(target)!r} cannot be opened: {exc}") from None
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        version = schema_version(conn)
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(
            f"{str(target)!r} is not a banditlb run store (SQLite says: {exc})"
        ) from None
    if not {"runs", "attempts"} <= tables:
        conn.close()
        raise StoreError(
            f"{str(target)!r} is not a banditlb run store (an SQLite file without its tables)"
        )
    if version > SCHEMA_VERSION:
        conn.close()
        raise StoreError(
            f"run database {str(target)!r} has schema version {version}, newer than this "
            f"banditlb ({SCHEMA_VERSION}); upgrade banditlb"
        )
    if version != SCHEMA_VERSION:
        conn.close()
        raise StoreError(
            f"run database {str(target)!r} has schema version {version}, this banditlb reads "
            f"{SCHEMA_VERSION}; a recording command (serve, sim) with --db migrates it"
        )
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations the database lacks, up to `target`; returns the new version.

    Each step re-reads the version inside its `BEGIN IMMEDIATE` transaction, so processes
    opening a fresh database at the same moment (one balancer per tier) migrate it once.
    """
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"run database has schema version {version}, newer than this banditlb "
            f"({SCHEMA_VERSION}); upgrade banditlb"
        )
    while version < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(conn)  # another process may have migrated meanwhile
            if version < target:
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
                version += 1
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return version


def _statements(script: str) -> list[str]:
    """Split a migration script on ';' (our scripts hold no semicolons inside statements)."""
    return [part.strip() for part in script.split(";") if part.strip()]
