"""Sweeps: labels, listing, and a whole sweep aggregated per tier × strategy on the server."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

import pytest

from banditlb.errors import StoreError
from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.store import RunCreate, create_run, store_sim_result
from banditlb.store.sim_results import sim_attempts
from banditlb.store.sweeps import (
    compare_sweep,
    is_sweep_label,
    list_sweeps,
    new_sweep_label,
)

SWEEP = "sweep-20261127-201500-ab12"
OLDER = "sweep-20261126-090000-0001"
T_975_2 = 4.302652729749462  # scipy.stats.t.ppf(0.975, 2)


def put(
    conn: sqlite3.Connection,
    *,
    strategy: str,
    tier: str,
    seed: int,
    score: float,
    penalised: int = 0,
    label: str = SWEEP,
    started_at: float = 1_000.0,
    oracle_per_request: float | None = 1.0,
) -> None:
    """A 100-request run whose curve reaches half its score at 50 requests."""
    totals: dict[str, object] = {
        "requests": 100,
        "score": score,
        "delivered": score + penalised,
        "penalised": penalised,
    }
    if oracle_per_request is not None:
        totals["oracle_per_request"] = oracle_per_request
    store_sim_result(
        conn,
        strategy=strategy,
        scenario="default",
        tier=tier,
        seed=seed,
        totals=totals,
        started_at=started_at + seed,
        duration=10.0,
        label=label,
        curve_requests=[50, 100],
        curve_score=[score / 2, score],
    )


@pytest.fixture
def sweep(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Sweep SWEEP: a on T1 (seeds 0-2), b on T1 (seeds 0-1) and T2 (seed 0); plus noise."""
    for seed, (score, pen) in enumerate([(90.0, 2), (95.0, 4), (100.0, 6)]):
        put(conn, strategy="a", tier="T1", seed=seed, score=score, penalised=pen)
    for seed in (0, 1):
        put(conn, strategy="b", tier="T1", seed=seed, score=80.0)
    put(conn, strategy="b", tier="T2", seed=0, score=60.0, oracle_per_request=None)
    put(conn, strategy="a", tier="T1", seed=0, score=1.0, label=OLDER, started_at=10.0)
    put(conn, strategy="a", tier="T1", seed=0, score=1.0, label="my-own-label")
    create_run(
        conn,
        run=RunCreate(source="live", strategy="a", scenario="default", label=SWEEP),
        started_at=5_000.0,
    )
    return conn


def test_sweep_labels_carry_the_utc_start_and_match_the_rule() -> None:
    """Labels are sweep-YYYYMMDD-HHMMSS-xxxx; anything else is refused."""
    assert new_sweep_label(1_795_810_500.0, suffix="ab12") == SWEEP
    assert is_sweep_label(new_sweep_label(0.0))
    for bad in ("sweep-20261127-201500-AB12", "20261127-201500-ab12", "sweep-x", "' OR 1=1 --"):
        assert not is_sweep_label(bad)


def test_sweeps_are_listed_newest_first_with_their_shape(sweep: sqlite3.Connection) -> None:
    """Only simulated runs with a sweep label count; live runs and other labels do not."""
    found = [s.to_dict() for s in list_sweeps(sweep)]
    assert found == [
        {
            "label": SWEEP,
            "scenario": "default",
            "runs": 6,
            "strategies": 2,
            "tiers": 2,
            "seeds": 3,
            "started": 1_000.0,
        },
        {
            "label": OLDER,
            "scenario": "default",
            "runs": 1,
            "strategies": 1,
            "tiers": 1,
            "seeds": 1,
            "started": 10.0,
        },
    ]
    assert [s.label for s in list_sweeps(sweep, limit=1)] == [SWEEP]


def test_a_sweep_is_aggregated_per_tier_and_strategy(sweep: sqlite3.Connection) -> None:
    """Mean score per request, t interval over seeds, % of oracle, penalties, best per tier."""
    result = compare_sweep(sweep, label=SWEEP)
    assert (result.sweep.runs, result.sweep.seeds) == (6, 3)
    cells = [cell.to_dict() for cell in result.cells]
    assert [(c["tier"], c["strategy"], c["n"], c["best"]) for c in cells] == [
        ("T1", "a", 3, True),
        ("T1", "b", 2, False),
        ("T2", "b", 1, True),
    ]
    a, b, b2 = cells
    assert a["score"] == pytest.approx(0.95, abs=1e-15)
    assert a["ci95"] == pytest.approx(T_975_2 * 0.05 / math.sqrt(3), rel=1e-12)
    assert a["pct_oracle"] == pytest.approx(95.0, abs=1e-12)
    assert a["penalised"] == pytest.approx(0.04, abs=1e-15)
    assert a["delivered"] == pytest.approx(0.99, abs=1e-15)
    assert (b["score"], b["ci95"], b["pct_oracle"]) == (0.8, 0.0, 80.0)
    assert (b2["score"], b2["ci95"], b2["pct_oracle"]) == (0.6, None, None)


def test_a_sweep_has_one_averaged_curve_per_tier_and_strategy(sweep: sqlite3.Connection) -> None:
    """Curves are averaged over seeds at fixed request counts; regret needs every bound."""
    curves = {(c.tier, c.strategy): c for c in compare_sweep(sweep, label=SWEEP, points=4).curves}
    assert list(curves) == [("T1", "a"), ("T1", "b"), ("T2", "b")]
    a = curves["T1", "a"]
    assert a.n == 3
    assert a.requests == [0, 25, 50, 75, 100]
    assert a.score == pytest.approx([0.0, 23.75, 47.5, 71.25, 95.0], abs=1e-12)
    assert a.regret == pytest.approx([0.0, 1.25, 2.5, 3.75, 5.0], abs=1e-12)
    assert curves["T2", "b"].regret is None
    assert len(compare_sweep(sweep, label=SWEEP).curves[0].requests) == 101


def test_unknown_or_malformed_sweeps_are_store_errors(sweep: sqlite3.Connection) -> None:
    """A label no run carries, or one of the wrong form, raises StoreError naming it."""
    with pytest.raises(StoreError, match="no sweep sweep-20261127-201500-ffff"):
        compare_sweep(sweep, label="sweep-20261127-201500-ffff")
    with pytest.raises(StoreError, match="sweep label looks like"):
        compare_sweep(sweep, label="my-own-label")


@dataclass(frozen=True)
class Traced:
    request: int
    arm: int
    sent: float
    answered: float
    outcome: Outcome
    counted: bool


def test_a_simulator_trace_becomes_the_referees_attempts() -> None:
    """Counted attempts only, numbered per request, stamped start + virtual answer time."""
    ok = Outcome(OutcomeKind.ACCEPTED, 200, None, 0.5)
    bad = Outcome(OutcomeKind.FAILED, 500, None, 0.25)
    refused = Outcome(OutcomeKind.CONNECTION_ERROR)
    trace = [
        Traced(0, 1, 0.0, 0.0, refused, False),
        Traced(0, 0, 0.0, 0.25, bad, True),
        Traced(1, 1, 0.1, 0.6, ok, True),
        Traced(0, 1, 0.25, 0.75, ok, True),
    ]
    rows = list(sim_attempts(trace, arm_names=("s0", "s1"), started_at=100.0))
    assert [(r.request_no, r.request_id, r.attempt, r.server, r.kind) for r in rows] == [
        (1, "0", 1, "s0", "failed"),
        (2, "1", 1, "s1", "accepted"),
        (1, "0", 2, "s1", "accepted"),
    ]
    assert [(r.at, r.latency_s, r.status) for r in rows] == [
        (100.25, 0.25, 500),
        (100.6, 0.5, 200),
        (100.75, 0.5, 200),
    ]
