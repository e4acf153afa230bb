"""What a new user expects of the CLI (issue 9): --version, -h, `strategies`, --json, filters,
deleting runs, the store from $BANDITLB_DB, sim on any scenario's tiers, plurals, no wrapping."""

from __future__ import annotations

import json
import socket
import sqlite3
import tomllib
from importlib import resources
from pathlib import Path

import httpx
import pytest

from banditlb.cli.main import main
from banditlb.harness.processes import banditlb_command, start_process, wait_healthy
from banditlb.store import connect, list_runs

ONE_TIER = """
name = "one-tier"
seed = 3
rate = 10.0

[[servers]]
name = "good"
tier = "edge"
port = 7100
error_rate = 0.1

[[servers]]
name = "bad"
tier = "edge"
port = 7101
error_rate = 0.7
"""


def run_main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code or 0)


def sim_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "sim",
        "--strategy", "random,thompson",
        "--seeds", "1",
        "--requests", "60",
        "--jobs", "1",
        "--out", str(tmp_path / "out"),
        "--db", str(tmp_path / "runs.db"),
        *extra,
    ]  # fmt: skip


def test_version_and_short_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints the version; `-h` is help, for the app and for a subcommand."""
    from banditlb import __version__

    assert run_main(["--version"]) == 0
    assert capsys.readouterr().out == f"banditlb {__version__}\n"
    assert run_main(["-h"]) == 0
    assert "Usage: banditlb" in capsys.readouterr().out
    assert run_main(["sim", "-h"]) == 0
    assert "--seed-offset" in capsys.readouterr().out


def test_strategies_lists_every_strategy_with_defaults_and_ranges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`strategies --json`: every registered name, its source line, parameters and ranges."""
    from banditlb.strategies.registry import strategy_names

    assert run_main(["strategies", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in listed] == strategy_names()
    thompson = next(s for s in listed if s["name"] == "thompson")
    assert "V4" in thompson["source"]
    alpha = next(p for p in thompson["parameters"] if p["name"] == "prior_alpha")
    assert alpha == {
        "name": "prior_alpha",
        "type": "float",
        "default": 1.0,
        "range": "a number in [0.001, 1e+06]",
    }
    assert [s["name"] for s in listed if s["default"]] == ["planner"]
    assert run_main(["strategies"]) == 0
    table = capsys.readouterr().out
    assert "kl_ucb" in table
    assert "tolerance=0.0001  a number in [1e-12, 0.5)" in table


def test_sim_runs_a_one_tier_scenario_without_tiers_and_one_seed_is_not_nan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --tiers: the scenario's own tiers; one seed: '1 seed' and 'n/a', never 'nan'."""
    scenario = tmp_path / "one.toml"
    scenario.write_text(ONE_TIER)
    assert run_main(sim_args(tmp_path, "--scenario", str(scenario))) == 0
    out = capsys.readouterr().out
    assert "Tier edge (1 seed, oracle" in out
    assert "nan" not in out
    assert " n/a " in out
    assert "2 runs, 120 requests" in out
    conn = connect(tmp_path / "runs.db")
    assert {run.tier for run in list_runs(conn)} == {"edge"}
    conn.close()


def test_sim_tiers_named_twice_run_once_and_seed_offset_shifts_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--tier T1,T1` runs T1 once; `--seed-offset 5 --seeds 2` runs seeds 5 and 6; --json."""
    args = sim_args(tmp_path, "--tier", "T1,T1", "--seed-offset", "5", "--json")
    args[args.index("--seeds") + 1] = "2"
    assert run_main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tiers"] == ["T1"]
    assert summary["seeds"] == [5, 6]
    assert sorted(row["strategy"] for row in summary["summary"]) == ["random", "thompson"]
    assert all(row["runs"] == 2 for row in summary["summary"])
    conn = connect(tmp_path / "runs.db")
    assert sorted(run.seed for run in list_runs(conn)) == [5, 5, 6, 6]
    conn.close()


def test_sim_output_does_not_wrap_when_piped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Piped (not a terminal), the 'wrote …' line keeps every path whole on one line."""
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "out"
    args = sim_args(tmp_path, "--tier", "T1")
    args[args.index("--out") + 1] = str(deep)
    assert run_main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    wrote = next(line for line in lines if "; wrote " in line)
    assert str(deep / "runs.csv") in wrote
    assert str(deep / "scores.png") in wrote


def test_runs_filters_json_and_the_store_from_banditlb_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """$BANDITLB_DB picks the store; `runs --strategy/--tier/--sweep --json` filter it."""
    assert run_main(sim_args(tmp_path, "--tiers", "T1,T2")) == 0
    label = capsys.readouterr().out.split("stored as sweep ", 1)[1].split()[0]
    monkeypatch.setenv("BANDITLB_DB", str(tmp_path / "runs.db"))
    assert run_main(["runs", "--json", "--strategy", "thompson", "--tier", "T2"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [(r["strategy"], r["tier"], r["label"]) for r in runs] == [("thompson", "T2", label)]
    assert run_main(["runs", "--json", "--sweep", label]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    assert run_main(["runs", "--json", "--sweep", "sweep-20000101-000000-abcd"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_runs_delete_and_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`runs delete ID` removes a run and its attempts; `runs prune --keep N` keeps the newest."""
    db = tmp_path / "runs.db"
    assert run_main([*sim_args(tmp_path, "--tiers", "T1,T2"), "--store-attempts"]) == 0
    capsys.readouterr()
    conn = connect(db)
    ids = [run.id for run in list_runs(conn)]
    conn.close()
    assert len(ids) == 4
    assert run_main(["runs", "delete", ids[0], "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"deleted 1 run from {db}\n"
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT COUNT(*) FROM attempts WHERE run_id = ?", (ids[0],)).fetchone() == (
        0,
    )
    raw.close()
    assert run_main(["runs", "prune", "--keep", "1", "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"deleted 2 runs from {db}\n"
    conn = connect(db)
    assert [run.id for run in list_runs(conn)] == [ids[1]]
    conn.close()
    assert run_main(["runs", "prune", "--db", str(db)]) == 2
    assert "give --older-than DAYS or --keep N" in capsys.readouterr().err
    assert run_main(["runs", "delete", "20990101-000000-abcd", "--db", str(db)]) == 2
    assert "no run 20990101-000000-abcd" in capsys.readouterr().err


def test_export_of_a_run_without_attempts_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A simulated run stored without attempts: exit 1, one line naming the flag, no file."""
    assert run_main(sim_args(tmp_path, "--tier", "T1")) == 0
    capsys.readouterr()
    conn = connect(tmp_path / "runs.db")
    run_id = list_runs(conn)[0].id
    conn.close()
    target = tmp_path / "x.csv"
    code = run_main(["export", run_id, "--db", str(tmp_path / "runs.db"), "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 1
    assert err == (
        f"error: run {run_id} has no stored attempts to export: simulated runs keep attempts"
        " only with `banditlb sim --store-attempts`\n"
    )
    assert not target.exists()


def test_oracle_and_scenarios_as_json_and_a_builtin_toml(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`oracle --json`, `scenarios --json`, and `scenarios show default` prints the TOML."""
    assert run_main(["oracle", "--tier", "T2", "--json"]) == 0
    bound = json.loads(capsys.readouterr().out)
    assert bound["tier"] == "T2"
    assert round(bound["score_per_request"], 4) == 0.9928
    assert len(bound["servers"]) == 10
    assert run_main(["scenarios", "--json"]) == 0
    assert "default" in json.loads(capsys.readouterr().out)
    assert run_main(["scenarios", "show", "default"]) == 0
    shown = capsys.readouterr().out
    stored = resources.files("banditlb.scenarios").joinpath("default.toml").read_text("utf-8")
    assert shown == stored
    assert tomllib.loads(shown)["name"] == "default"
    assert run_main(["scenarios", "show"]) == 2
    assert "give a scenario: `banditlb scenarios show NAME`" in capsys.readouterr().err
    assert run_main(["scenarios", "default", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tiers"] == ["T1", "T2", "T3"]


@pytest.mark.anyio
async def test_live_run_stores_the_scenario_by_name_like_sim(tmp_path: Path) -> None:
    """`serve --tier edge --scenario FILE` records scenario 'one-tier' (its name), not the path."""
    scenario = tmp_path / "one.toml"
    scenario.write_text(ONE_TIER)
    db = tmp_path / "runs.db"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = banditlb_command(
        "serve", "--tier", "edge", "--scenario", str(scenario), "--port", str(port),
        "--db", str(db),
    )  # fmt: skip
    process = await start_process("serve", command)
    try:
        await wait_healthy(process, f"http://127.0.0.1:{port}/healthz")
        async with httpx.AsyncClient() as client:
            state = (await client.get(f"http://127.0.0.1:{port}/api/state")).json()
    finally:
        await process.stop()
    assert state["settings"]["scenario"] == "one-tier"
    conn = connect(db)
    assert [run.scenario for run in list_runs(conn)] == ["one-tier"]
    conn.close()


def test_dashboard_port_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """BANDITLB_DASHBOARD_PORT and BANDITLB_DB stand in for --port and --db."""
    db = tmp_path / "runs.db"
    connect(db).close()
    monkeypatch.setenv("BANDITLB_DB", str(db))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("BANDITLB_DASHBOARD_PORT", str(port))
        assert run_main(["dashboard"]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
