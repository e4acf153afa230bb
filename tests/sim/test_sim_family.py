"""`banditlb sim --scenario random:A-B`: many generated scenarios in one sweep."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from banditlb.cli.main import main
from banditlb.errors import ConfigError
from banditlb.game.router import RetryRules
from banditlb.models.generate import generate
from banditlb.sim.family import run_family
from banditlb.sim.sweep import SweepSpec
from banditlb.store import connect, list_runs
from banditlb.store.totals import oracle_total


def run_main(argv: list[str]) -> int:
    """The CLI's exit status."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    code = exited.value.code
    return code if isinstance(code, int) else 0


def test_random_range_sweeps_every_scenario_and_summarises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """random:4-5 runs each strategy on both tiers of both scenarios; per-scenario and overall
    summaries, robustness.csv, an ECDF PNG and the stored runs (each with its own bound)."""
    out, db = tmp_path / "out", tmp_path / "runs.db"
    argv = ["sim", "--scenario", "random:4-5", "--strategies", "round_robin,random",
            "--seeds", "2", "--requests", "100", "--jobs", "1",
            "--out", str(out), "--db", str(db)]  # fmt: skip
    assert run_main(argv) == 0
    printed = capsys.readouterr().out
    assert "% of oracle per scenario" in printed
    assert "random:4-5 (4 scenarios, 2 seeds × 100 requests)" in printed
    assert "round_robin loses significantly" in printed  # first strategy is the reference
    assert "16 runs, 1,600 requests" in printed
    with (out / "robustness.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert sorted({(r["scenario"], r["tier"]) for r in table}) == [
        ("random-4", "T2"), ("random-4", "T3"), ("random-5", "T2"), ("random-5", "T3")
    ]  # fmt: skip
    assert len(table) == 8
    assert (out / "ecdf.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    conn = connect(db)
    stored = list_runs(conn, limit=100)
    conn.close()
    assert len(stored) == 16
    assert {r.scenario for r in stored} == {"random-4", "random-5"}
    assert all((oracle_total(r.totals) or 0.0) > 0 for r in stored)


def test_one_generated_scenario_and_one_tier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """random:7 with --tiers T2,T2 runs T2 of scenario 7 once and names the planner reference."""
    argv = ["sim", "--scenario", "random:7", "--tiers", "T2,T2", "--strategies", "planner,random",
            "--seeds", "2", "--requests", "100", "--jobs", "1",
            "--out", str(tmp_path), "--no-store"]  # fmt: skip
    assert run_main(argv) == 0
    printed = capsys.readouterr().out
    assert "random:7-7 (1 scenarios" in printed
    assert "planner (reference)" in printed
    assert "random-7-T2" in printed
    assert "4 runs, 400 requests" in printed


def test_results_do_not_depend_on_the_number_of_workers() -> None:
    """Two worker processes give exactly the runs and bounds one process gives."""
    specs = [
        SweepSpec(generate(seed, ("T3",)), ("thompson",), ("T3",), (0, 1), 150, RetryRules())
        for seed in (1, 2)
    ]
    one = run_family(specs, jobs=1)
    two = run_family(specs, jobs=2)
    assert one.runs == two.runs
    assert one.oracles == two.oracles
    assert [(r.scenario, r.seed) for r in one.runs] == [
        ("random-1-T3", 0), ("random-1-T3", 1), ("random-2-T3", 0), ("random-2-T3", 1)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scenario", "random:x"], "random:N or random:A-B"),
        (["--scenario", "random:3", "--tiers", "T1"], "generated tiers are T2, T3"),
        (["--scenario", "random:3", "--reference", "blocking"], "not among the swept"),
        (["--scenario", "random:3", "--store-attempts"], "not available with random:"),
        (["--reference", "random"], "goes with --scenario random:A-B"),
    ],
)
def test_bad_family_input_is_one_error_line(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad ranges, tiers, references and options: one `error:` line, exit 2, nothing run."""
    argv = ["sim", "--strategies", "random", "--seeds", "1", "--requests", "10",
            "--out", str(tmp_path), "--db", str(tmp_path / "runs.db"), *extra]  # fmt: skip
    assert run_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert message in err


def test_a_family_needs_scenarios_with_distinct_names() -> None:
    """No scenarios, or two with one name (runs are keyed by it), is a ConfigError."""
    spec = SweepSpec(generate(1, ("T2",)), ("random",), ("T2",), (0,), 10, RetryRules())
    with pytest.raises(ConfigError, match="at least one scenario"):
        run_family([], jobs=1)
    with pytest.raises(ConfigError, match="distinct name"):
        run_family([spec, spec], jobs=1)
