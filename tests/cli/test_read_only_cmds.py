"""Read-only commands (`runs`, `export`, `dashboard`) never write to the file they are given."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from banditlb.cli.main import main
from banditlb.store import connect


def run_main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code or 0)


def foreign_sqlite(path: Path) -> Path:
    """Someone else's SQLite file: one table, user_version 0, rollback journal."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("INSERT INTO notes (text) VALUES ('keep me')")
    conn.commit()
    conn.close()
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


COMMANDS = [
    ["runs", "--db", "{db}"],
    ["export", "20261127-201500-ab12", "--db", "{db}", "--out", "{out}"],
    ["dashboard", "--db", "{db}", "--port", "0"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=["runs", "export", "dashboard"])
def test_foreign_sqlite_file_is_refused_untouched(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A foreign SQLite file: one `error:` line, exit 2, and the file is byte-for-byte unchanged."""
    db = foreign_sqlite(tmp_path / "foreign.sqlite")
    before = digest(db)
    out = tmp_path / "out.csv"
    code = run_main([a.format(db=db, out=out) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert "is not a banditlb run store" in err
    assert digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.sqlite"]  # no -wal, -shm
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["notes"]
    conn.close()


@pytest.mark.parametrize("argv", COMMANDS, ids=["runs", "export", "dashboard"])
def test_text_file_is_refused_untouched(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not SQLite at all is refused with one line and left as it was."""
    db = tmp_path / "notes.txt"
    db.write_text("hello, not a database\n" * 50)
    before = digest(db)
    code = run_main([a.format(db=db, out=tmp_path / "o.csv") for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "is not a banditlb run store" in err
    assert digest(db) == before


def test_runs_on_an_old_store_does_not_migrate_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`runs` on a store of an older schema says how to migrate it and leaves it as it was."""
    db = tmp_path / "old.db"
    conn = connect(db, migrate_schema=False)
    from banditlb.store.schema import migrate

    migrate(conn, target=1)
    conn.close()
    before = digest(db)
    assert run_main(["runs", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "has schema version 1" in err
    assert "migrates it" in err
    assert digest(db) == before


def test_serve_refuses_a_foreign_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even a recording command refuses to add its tables to someone else's SQLite file."""
    db = foreign_sqlite(tmp_path / "foreign.sqlite")
    before = digest(db)
    assert run_main(["serve", "--tier", "T1", "--port", "0", "--db", str(db)]) == 2
    assert "is not a banditlb run store" in capsys.readouterr().err
    assert digest(db) == before


def test_dashboard_on_a_missing_store_refuses_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dashboard --db notadb` exits 2 before serving (no 503s later) and makes no file."""
    missing = tmp_path / "notadb"
    assert run_main(["dashboard", "--db", str(missing), "--port", "0"]) == 2
    assert capsys.readouterr().err == f"error: run database '{missing}' does not exist\n"
    assert not missing.exists()
