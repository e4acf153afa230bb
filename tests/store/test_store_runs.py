"""Runs and attempts: ids, round trips, paging, listing, simulator results."""

from __future__ import annotations

import sqlite3

import pytest
from store_doubles import attempt

from banditlb.errors import StoreError
from banditlb.store import (
    RunCreate,
    count_attempts,
    create_run,
    finish_run,
    get_run,
    insert_attempts,
    list_attempts,
    list_runs,
    new_run_id,
    store_sim_result,
)
from banditlb.store.attempts import iter_attempts
from banditlb.store.run_ids import check_run_id, is_run_id

LIVE = RunCreate(source="live", strategy="thompson", scenario="default", params={"prior": 1})


def test_run_ids_carry_the_utc_start_and_match_the_rule() -> None:
    """Ids are YYYYMMDD-HHMMSS-xxxx from the UTC start time; anything else is refused."""
    assert new_run_id(1_795_810_500.0, suffix="ab12") == "20261127-201500-ab12"
    assert is_run_id(new_run_id(0.0))
    for bad in ("20261127-201500-AB12", "../etc/passwd", "20261127-201500-ab123", ""):
        assert not is_run_id(bad)
        with pytest.raises(StoreError, match="run id looks like"):
            check_run_id(bad)


def test_run_round_trip(conn: sqlite3.Connection) -> None:
    """A created and finished run reads back with its params and merged totals."""
    run = create_run(conn, run=LIVE, started_at=100.0, run_id="20261127-201500-ab12")
    assert run.started_at == 100.0
    assert run.ended_at is None
    assert run.params == {"prior": 1}
    finish_run(conn, run_id=run.id, totals={"score": 5.0}, ended_at=160.0)
    done = finish_run(conn, run_id=run.id, totals={"oracle": 8.0}, ended_at=161.0)
    assert done == get_run(conn, run_id=run.id)
    assert done.totals == {"score": 5.0, "oracle": 8.0}
    assert done.ended_at == 161.0
    assert done.tier == "all"
    assert done.source == "live"


def test_duplicate_and_unknown_runs_are_store_errors(conn: sqlite3.Connection) -> None:
    """Reusing an id or reading a missing run raises StoreError naming the run."""
    create_run(conn, run=LIVE, run_id="20261127-201500-ab12")
    with pytest.raises(StoreError, match="already exists"):
        create_run(conn, run=LIVE, run_id="20261127-201500-ab12")
    with pytest.raises(StoreError, match="no run 20261127-201500-ffff"):
        get_run(conn, run_id="20261127-201500-ffff")


def test_bad_source_is_refused(conn: sqlite3.Connection) -> None:
    """Only live and simulated runs exist."""
    with pytest.raises(StoreError, match="source must be one of live, simulated"):
        create_run(conn, run=RunCreate(source="other", strategy="x", scenario="y"))  # type: ignore[arg-type]


def test_attempts_round_trip_and_page_in_order(conn: sqlite3.Connection) -> None:
    """Attempts come back page by page in insertion order with latency in ms."""
    run = create_run(conn, run=LIVE)
    assert insert_attempts(conn, run_id=run.id, records=[attempt(n) for n in range(25)]) == 25
    page = list_attempts(conn, run_id=run.id, offset=20, limit=10)
    assert [row.request_no for row in page] == [20, 21, 22, 23, 24]
    first = list_attempts(conn, run_id=run.id, limit=1)[0]
    assert (first.request_id, first.server, first.outcome, first.status) == (
        "0" * 24,
        "s0",
        "accepted",
        200,
    )
    assert first.latency_ms == pytest.approx(4.0)
    assert count_attempts(conn, run_id=run.id) == 25
    assert [row.request_no for row in iter_attempts(conn, run_id=run.id, batch=7)] == list(
        range(25)
    )


def test_list_runs_newest_first_and_by_source(conn: sqlite3.Connection) -> None:
    """Listing orders by start time, newest first, and filters by source."""
    old = create_run(conn, run=LIVE, started_at=10.0)
    new = create_run(conn, run=LIVE, started_at=20.0)
    sim = store_sim_result(
        conn, strategy="ucb1", scenario="default", totals={"score": 1.0}, started_at=15.0
    )
    assert [run.id for run in list_runs(conn)] == [new.id, sim.id, old.id]
    assert [run.id for run in list_runs(conn, source="simulated")] == [sim.id]
    assert [run.id for run in list_runs(conn, limit=1, offset=1)] == [sim.id]


def test_store_sim_result_keeps_totals_curve_and_duration(conn: sqlite3.Connection) -> None:
    """A simulator result is one finished run: totals, its score curve, simulated duration."""
    run = store_sim_result(
        conn,
        strategy="thompson",
        scenario="default",
        tier="T1",
        seed=3,
        params={"prior": 2},
        totals={"requests": 100, "score": 70.0},
        started_at=1000.0,
        duration=60.0,
        curve_requests=[50, 100],
        curve_score=[30.0, 70.0],
    )
    assert run.source == "simulated"
    assert (run.tier, run.seed, run.params) == ("T1", 3, {"prior": 2})
    assert run.ended_at == 1060.0
    assert run.totals["curve"] == {"requests": [50, 100], "score": [30.0, 70.0]}
    with pytest.raises(StoreError, match="same length"):
        store_sim_result(
            conn, strategy="x", scenario="y", totals={}, curve_requests=[1], curve_score=[]
        )


def test_a_simulator_result_is_stored_through_its_adapter(conn: sqlite3.Connection) -> None:
    """sim_result_fields turns a SimResult into store_sim_result's keyword arguments."""
    from banditlb.sim.result import SimResult
    from banditlb.store.sim_results import sim_result_fields

    result = SimResult(
        scenario="default",
        tier="T2",
        strategy="thompson",
        seed=4,
        requests=200,
        rate=10.0,
        penalty=1.0,
        accepted=150,
        attempts=260,
        penalised_attempts=5,
        score=145.0,
        rate_limited=30,
        failed=75,
        timeouts=3,
        connection_errors=2,
        duration=20.0,
        arm_names=("a", "b"),
        arm_attempts=(200, 60),
        arm_accepted=(140, 10),
        arm_rate_limited=(25, 5),
        timeline_requests=(100, 200),
        timeline_score=(70.0, 145.0),
        params=(("prior", 1.0),),
    )
    run = store_sim_result(conn, **sim_result_fields(result, oracle_per_request=0.9))
    assert (run.source, run.strategy, run.tier, run.seed) == ("simulated", "thompson", "T2", 4)
    assert run.params == {"prior": 1.0}
    assert run.totals["oracle"] == pytest.approx(180.0)
    assert (run.totals["score"], run.totals["penalised"], run.totals["errors"]) == (145.0, 5, 5)
    assert run.totals["arms"]["b"] == {"attempts": 60, "accepted": 10, "rate_limited": 5}
    assert run.totals["curve"] == {"requests": [100, 200], "score": [70.0, 145.0]}
    assert run.ended_at == pytest.approx(run.started_at + 20.0)


def test_a_live_run_is_described_by_the_balancer_settings() -> None:
    """live_run maps the balancer's settings summary onto a RunCreate."""
    from banditlb.store import live_run

    summary = {"strategy": "ucb1", "scenario": "", "tier": "T2", "seed": 9, "params": {"c": 2}}
    assert live_run(summary) == RunCreate(
        source="live", strategy="ucb1", scenario="custom", params={"c": 2}, tier="T2", seed=9
    )
