"""Exports, timelines and comparisons over stored runs; the runs/export CLI commands."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from store_doubles import attempt
from typer.testing import CliRunner

from banditlb.cli.main import build_app, main
from banditlb.errors import StoreError
from banditlb.game.outcome import OutcomeKind
from banditlb.store import (
    RunCreate,
    create_run,
    finish_run,
    get_run,
    insert_attempts,
    store_sim_result,
)
from banditlb.store.compare import compare_runs, run_curve
from banditlb.store.export import export_attempts
from banditlb.store.timeline import run_timeline

RUN = RunCreate(source="live", strategy="thompson", scenario="default", tier="T1")
RUN_ID = "20261127-201500-ab12"


def seed_run(conn: sqlite3.Connection) -> str:
    """Six requests over 3 s: request 5 fails, then gets a penalised 4th attempt accepted."""
    run = create_run(conn, run=RUN, run_id=RUN_ID, started_at=1000.0)
    records = [attempt(n, at=1000.0 + n * 0.5) for n in range(5)]
    records += [
        attempt(5, attempt_no=1, kind=OutcomeKind.FAILED, at=1002.5),
        attempt(5, attempt_no=2, kind=OutcomeKind.RATE_LIMITED, at=1002.6),
        attempt(5, attempt_no=3, kind=OutcomeKind.FAILED, at=1002.7),
        attempt(5, attempt_no=4, kind=OutcomeKind.ACCEPTED, at=1002.8),
    ]
    insert_attempts(conn, run_id=run.id, records=records)
    finish_run(
        conn,
        run_id=run.id,
        ended_at=1003.0,
        totals={"requests": 6, "delivered": 6, "penalised": 1, "score": 5.0, "oracle": 6.0},
    )
    return run.id


def test_csv_and_parquet_exports_hold_every_attempt(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    """Both formats have one row per attempt with the same columns."""
    run_id = seed_run(conn)
    assert export_attempts(conn, run_id=run_id, fmt="csv", out=tmp_path / "a.csv") == 9
    with (tmp_path / "a.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 9
    assert (rows[-1]["attempt"], rows[-1]["outcome"], rows[-1]["status"]) == (
        "4",
        "accepted",
        "200",
    )
    assert export_attempts(conn, run_id=run_id, fmt="parquet", out=tmp_path / "a.parquet") == 9
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.num_rows == 9
    assert table.column_names == list(rows[0].keys())
    assert table.column("outcome").to_pylist()[6] == "rate_limited"


def test_export_refuses_unknown_runs_and_formats(conn: sqlite3.Connection, tmp_path: Path) -> None:
    """Unknown runs and formats are StoreErrors and write no file."""
    with pytest.raises(StoreError, match="no run"):
        export_attempts(conn, run_id="20261127-201500-ffff", fmt="csv", out=tmp_path / "x.csv")
    with pytest.raises(StoreError, match="format must be one of csv, parquet"):
        export_attempts(conn, run_id=seed_run(conn), fmt="xlsx", out=tmp_path / "x.xlsx")
    assert not (tmp_path / "x.csv").exists()
    assert not (tmp_path / "x.xlsx").exists()


def test_timeline_buckets_per_second(conn: sqlite3.Connection) -> None:
    """Attempts fold into one-second buckets with score, penalties and per-server counts."""
    seed_run(conn)
    line = run_timeline(conn, run=get_run(conn, run_id=RUN_ID))
    assert line.t == [0.0, 1.0, 2.0]
    assert line.requests == [2, 2, 2]
    assert line.attempts == [2, 2, 5]
    assert line.delivered == [2, 2, 2]
    assert line.penalised == [0, 0, 1]
    assert line.score == [2.0, 2.0, 1.0]
    assert line.oracle_per_s == pytest.approx(2.0)
    assert sorted(line.servers) == ["s0", "s1", "s2"]
    assert line.servers["s2"].rate_limited == [0, 0, 1]


def test_curves_and_comparison(conn: sqlite3.Connection) -> None:
    """Curves give regret against the oracle; cells average seeds and mark each tier's best."""
    live = get_run(conn, run_id=seed_run(conn))
    curve = run_curve(conn, run=live)
    assert curve.requests == [0, 2, 4, 6]
    assert curve.score == [0.0, 2.0, 4.0, 5.0]
    assert curve.regret == [0.0, 0.0, 0.0, 1.0]
    sims = [
        store_sim_result(
            conn,
            strategy="ucb1",
            scenario="default",
            tier="T1",
            seed=seed,
            totals={"requests": 6, "score": score, "oracle": 6.0, "penalised": 0},
            curve_requests=[3, 6],
            curve_score=[score / 2, score],
        )
        for seed, score in ((1, 3.0), (2, 4.0))
    ]
    assert run_curve(conn, run=sims[0]).regret == [0.0, 1.5, 3.0]
    cells = compare_runs([live, *sims])
    assert [(c.strategy, c.n, c.score, c.best) for c in cells] == [
        ("thompson", 1, 5.0, True),
        ("ucb1", 2, 3.5, False),
    ]
    assert cells[0].ci95 is None
    assert cells[1].ci95 == pytest.approx(6.353, abs=1e-3)  # t(0.975, 1) * 0.7071 / sqrt(2)
    assert cells[1].pct_oracle == pytest.approx(58.333, abs=1e-3)


def test_runs_and_export_commands(db_path: Path, conn: sqlite3.Connection, tmp_path: Path) -> None:
    """`banditlb runs` lists the run; `banditlb export` writes the file."""
    run_id = seed_run(conn)
    runner = CliRunner()
    shown = runner.invoke(build_app(), ["runs", "--db", str(db_path)], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert run_id in shown.output
    assert "83.3%" in shown.output
    out = tmp_path / "out.csv"
    done = runner.invoke(
        build_app(), ["export", run_id, "--format", "csv", "--out", str(out), "--db", str(db_path)]
    )
    assert done.exit_code == 0, done.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 10


def test_export_of_an_unknown_run_exits_2_with_one_line(
    db_path: Path, conn: sqlite3.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown or malformed run id is one error line and exit status 2."""
    seed_run(conn)
    for bad in ("20261127-201500-ffff", "../../etc/passwd"):
        with pytest.raises(SystemExit) as stopped:
            main(["export", bad, "--db", str(db_path)])
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ")
        assert err.count("error:") == 1
        assert "run" in err
        assert "Traceback" not in err


def test_runs_without_a_database_and_dashboard_help(tmp_path: Path) -> None:
    """`runs` on a missing file says nothing is stored; `dashboard` is a registered command."""
    runner = CliRunner()
    empty = runner.invoke(build_app(), ["runs", "--db", str(tmp_path / "none.db")])
    assert empty.exit_code == 0
    assert "no runs stored yet" in empty.output
    assert not (tmp_path / "none.db").exists()
    helped = runner.invoke(build_app(), ["dashboard", "--help"], env={"COLUMNS": "200"})
    assert helped.exit_code == 0
    assert "--port" in helped.output


def test_export_to_a_bad_path_is_a_store_error(conn: sqlite3.Connection, tmp_path: Path) -> None:
    """A folder, a missing folder or an unwritable target is a StoreError naming the path."""
    run_id = seed_run(conn)
    with pytest.raises(StoreError, match="is a directory"):
        export_attempts(conn, run_id=run_id, fmt="csv", out=tmp_path)
    missing = tmp_path / "nope" / "x.csv"
    with pytest.raises(StoreError, match=r"folder .*nope' does not exist"):
        export_attempts(conn, run_id=run_id, fmt="parquet", out=missing)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"folder .*file' does not exist"):
        export_attempts(conn, run_id=run_id, fmt="csv", out=blocker / "x.csv")


def test_cli_bad_database_or_output_exits_2_with_one_line(
    db_path: Path, conn: sqlite3.Connection, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`runs`/`export` on a folder or a non-SQLite file, or to a folder, is one error line."""
    run_id = seed_run(conn)
    junk = tmp_path / "junk.db"
    junk.write_text("not a database, only text " * 40)
    cases = [
        (["runs", "--db", str(tmp_path)], "is not a file"),
        (["runs", "--db", str(junk)], "file is not a database"),
        (["export", run_id, "--db", str(junk)], "file is not a database"),
        (["export", run_id, "--db", str(db_path), "--out", str(tmp_path)], "is a directory"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: "), argv
        assert message in " ".join(err.split()), argv
        assert "Traceback" not in err


def test_runs_table_keeps_ids_whole_when_piped(
    db_path: Path, conn: sqlite3.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """Piped `banditlb runs` (no terminal, default width) shows the full run id to copy."""
    run_id = seed_run(conn)
    with pytest.raises(SystemExit) as stopped:
        main(["runs", "--db", str(db_path)])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert run_id in out
    assert "…" not in out
