"""Sweep summaries: t-intervals, Welch ties with the best, % of oracle, files written."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path

import pytest

from banditlb.confidence import t_half_width, welch_p
from banditlb.models.oracle import oracle_bound
from banditlb.scenarios.files import load
from banditlb.sim import simulate
from banditlb.sim.report import summarize, write_runs, write_summary
from banditlb.sim.result import SimResult


def test_t_interval_half_width_matches_hand_computation() -> None:
    """For 1, 2, 3: sd 1, t(.975, 2) = 4.302653, so the half width is 4.302653/√3."""
    assert t_half_width([1.0, 2.0, 3.0]) == pytest.approx(4.302652729749464 / math.sqrt(3))
    assert math.isnan(t_half_width([1.0]))


def test_welch_p_values() -> None:
    """Constant samples: equal tie (p = 1), unequal differ (p = 0); t = −.5/√(2/3), df 4: .5734."""
    assert welch_p([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert welch_p([1.0, 1.0], [2.0, 2.0]) == 0.0
    assert welch_p([1.0, 2.0, 3.0], [1.5, 2.5, 3.5]) == pytest.approx(0.5734, abs=1e-4)


def fake(strategy: str, seed: int, score: float) -> SimResult:
    base = simulate("default", "T1", "round_robin", seed=0, requests=10, record_timeline=False)
    return replace(base, strategy=strategy, seed=seed, score=score, requests=10)


def test_best_and_near_best_are_marked() -> None:
    """The highest mean is best; a strategy Welch cannot tell from it is ≈ best; others neither."""
    runs = [
        *(fake("a", s, v) for s, v in enumerate([9.0, 9.2, 9.4])),
        *(fake("b", s, v) for s, v in enumerate([8.9, 9.3, 9.2])),
        *(fake("c", s, v) for s, v in enumerate([5.0, 5.1, 5.2])),
    ]
    bound = oracle_bound(load("default"), "T1", horizon=1.0)
    rows = {row.strategy: row for row in summarize(runs, {"T1": bound})["T1"]}
    assert (rows["a"].best, rows["a"].near_best) == (True, False)
    assert rows["a"].mean == pytest.approx(0.92)
    assert (rows["b"].best, rows["b"].near_best) == (False, True)
    assert (rows["c"].best, rows["c"].near_best) == (False, False)
    assert rows["a"].pct_oracle == pytest.approx(100 * 0.92 / 0.999)


def test_runs_and_summary_are_written(tmp_path: Path) -> None:
    """runs.csv has one row per run, runs.parquet exists, summary.csv one row per strategy."""
    runs = [simulate("default", "T1", "random", seed=s, requests=50) for s in range(2)]
    paths = write_runs(runs, tmp_path)
    assert [p.name for p in paths] == ["runs.csv", "runs.parquet"]
    with (tmp_path / "runs.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["strategy"], r["seed"], float(r["score"])) for r in rows] == [
        ("random", "0", runs[0].score),
        ("random", "1", runs[1].score),
    ]
    summary = write_summary(summarize(runs, {}), tmp_path)
    with summary.open(encoding="utf-8") as handle:
        assert [r["strategy"] for r in csv.DictReader(handle)] == ["random"]


def test_welch_on_nearly_identical_samples_gives_a_p_value_without_warnings() -> None:
    """Two strategies that score almost the same on every seed compare as 'not different'
    (p well above 0.05) and raise no numerical warning (warnings are errors in the suite)."""
    a = [0.999] * 29 + [0.9991]
    b = [0.999] * 28 + [0.9991, 0.9989]
    assert welch_p(a, b) > 0.5
