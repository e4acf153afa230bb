"""`banditlb sim` and `banditlb oracle` from the command line."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from banditlb.cli.main import main
from banditlb.cli.sim_cmd import parse_params
from banditlb.errors import ConfigError
from banditlb.store import connect, count_attempts, list_runs
from banditlb.store.sweeps import is_sweep_label


def run_ok(args: list[str]) -> None:
    """Run the CLI and require exit status 0."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 0


def test_sim_writes_tables_csv_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tiny sweep prints a table per tier and writes runs, summary and two PNGs."""
    run_ok(
        [
            "sim",
            "--strategies", "random,round_robin",
            "--tiers", "T1,T2",
            "--seeds", "2",
            "--requests", "200",
            "--jobs", "1",
            "--out", str(tmp_path / "out"),
            "--db", str(tmp_path / "runs.db"),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "Tier T1" in out
    assert "Tier T2" in out
    assert "★ best" in out
    assert "8 runs, 1,600 requests" in out
    label = out.split("stored as sweep ", 1)[1].split()[0]
    assert is_sweep_label(label)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["regret.png", "runs.csv", "runs.parquet", "scores.png", "summary.csv"]
    for png in ("regret.png", "scores.png"):
        assert (tmp_path / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    conn = connect(tmp_path / "runs.db")
    stored = list_runs(conn, limit=100)
    conn.close()
    assert len(stored) == 8
    assert {(r.source, r.strategy) for r in stored} == {
        ("simulated", "random"),
        ("simulated", "round_robin"),
    }
    assert {r.label for r in stored} == {label}
    assert all(r.totals["attempts"] > 0 for r in stored)


def test_store_attempts_keeps_every_counted_attempt_for_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--store-attempts stores as many attempts as each run's total; replay has a timeline."""
    from banditlb.dashboard import create_dashboard_app

    db = tmp_path / "runs.db"
    common = ["--tiers", "T2", "--seeds", "2", "--requests", "150", "--jobs", "1"]
    run_ok(["sim", "--strategies", "thompson", *common, "--out", str(tmp_path), "--db", str(db)])
    run_ok(["sim", "--strategies", "thompson", *common, "--out", str(tmp_path), "--db", str(db),
            "--store-attempts"])  # fmt: skip
    out = capsys.readouterr().out
    conn = connect(db)
    plain, traced = re.findall(r"stored as sweep (\S+)", out)
    runs = list_runs(conn, limit=10)
    quiet = sorted((r for r in runs if r.label == plain), key=lambda r: r.seed)
    loud = sorted((r for r in runs if r.label == traced), key=lambda r: r.seed)
    assert (len(quiet), len(loud)) == (2, 2)
    for untraced, run in zip(quiet, loud, strict=True):
        assert count_attempts(conn, run_id=untraced.id) == 0
        assert count_attempts(conn, run_id=run.id) == run.totals["attempts"] > 150
        assert run.totals == untraced.totals  # the same run, simulated again with a trace
    conn.close()
    run = loud[0]

    async def timeline() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=create_dashboard_app(db))
        async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
            response = await client.get(f"/api/runs/{run.id}/timeline")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    line = asyncio.run(timeline())
    assert line["t"]
    assert sum(line["requests"]) == 150
    assert sum(line["attempts"]) == run.totals["attempts"]
    assert sum(line["score"]) == pytest.approx(run.totals["score"])
    assert line["t"][-1] <= run.totals["duration_s"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sim", "--strategies", "nope"], "unknown strategy 'nope'"),
        (["sim", "--tiers", "T9"], "unknown tier 'T9'"),
        (["oracle", "--tier", "T9"], "unknown tier 'T9'"),
        (["sim", "--jobs", "0"], "jobs must be >= 1, got 0"),
        (["sim", "--rate", "-1"], "rate must be a finite number > 0 requests/s, got -1.0"),
        (["sim", "--no-store", "--store-attempts"], "--store-attempts stores into the run store"),
    ],
)
def test_bad_names_exit_2_with_one_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown strategy or tier exits with status 2 and names the value."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert message in captured.err
    assert captured.out == ""  # no progress bar or table before the error


def test_oracle_prints_bound_and_allocation(capsys: pytest.CaptureFixture[str]) -> None:
    """The oracle command prints T1's bound .999 and sends 10, 1 and .1 attempts/s to t1-0."""
    run_ok(["oracle", "--tier", "T1"])
    out = capsys.readouterr().out
    assert "at most 0.9990 points per request" in out
    row = next(line for line in out.splitlines() if "t1-0" in line)
    cells = [cell.strip() for cell in row.split("│")]
    assert cells[4:8] == ["10.000", "1.000", "0.100", "11.100"]


def test_param_options_parse_per_strategy() -> None:
    """`--param strategy.key=value` groups values by strategy; a malformed item is a ConfigError."""
    parsed = parse_params(["thompson.prior_alpha=2", "thompson.prior_beta=3", "ucb1.exploration=1"])
    assert parsed == {
        "thompson": {"prior_alpha": "2", "prior_beta": "3"},
        "ucb1": {"exploration": "1"},
    }
    with pytest.raises(ConfigError, match=r"strategy\.key=value"):
        parse_params(["thompson=2"])


def test_bad_out_or_db_fails_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file as --out or a folder as --db is one error line, exit 2, before any run."""
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        (["--out", str(a_file), "--db", str(tmp_path / "runs.db")], "is a file; give a folder"),
        (["--out", str(a_file / "sub"), "--db", str(tmp_path / "r.db")], "cannot make the folder"),
        (["--out", str(tmp_path / "out"), "--db", str(tmp_path)], "is a directory"),
    ]
    for extra, message in cases:
        with pytest.raises(SystemExit) as exited:
            main(["sim", "--strategies", "random", "--seeds", "1", "--requests", "5", *extra])
        assert exited.value.code == 2
        captured = capsys.readouterr()
        assert message in " ".join(captured.err.split())
        assert "runs," not in captured.out  # the sweep never ran
    assert not (tmp_path / "runs.db").exists()


def test_oracle_table_is_not_squeezed_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    """Piped output keeps every T2 server name and number whole (no '…' truncation)."""
    run_ok(["oracle", "--tier", "T2"])
    out = capsys.readouterr().out
    assert "…" not in out
    row = next(line for line in out.splitlines() if "t2-1 " in line)
    assert [cell.strip() for cell in row.split("│")][1:4] == ["t2-1", "0.92", "2"]
