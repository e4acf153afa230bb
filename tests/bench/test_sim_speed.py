"""Simulator speed: requests per second per core, and the full default sweep's wall time."""

from __future__ import annotations

import os
import time

import pytest

from banditlb.scenarios.files import load
from banditlb.sim import simulate
from banditlb.sim.sweep import SweepSpec, run_sweep, seeds_from_count
from banditlb.strategies.registry import strategy_names

REQUESTS = 10_000
SEEDS = 30
TIERS = ("T1", "T2", "T3")


@pytest.mark.bench
def test_requests_per_second_per_core() -> None:
    """Prints simulated requests/s on one core per strategy and tier, slowest first, with each
    strategy's share of a full sweep (30 seeds × 3 tiers) in single-core seconds."""
    scenario = load("default")
    rows = []
    for strategy in strategy_names():
        speeds = []
        for tier in TIERS:
            started = time.perf_counter()
            simulate(scenario, tier, strategy, seed=0, requests=REQUESTS)
            speeds.append(REQUESTS / (time.perf_counter() - started))
        sweep_seconds = sum(SEEDS * REQUESTS / speed for speed in speeds)
        rows.append((sweep_seconds, strategy, speeds))
    print(f"\nload average {os.getloadavg()[0]:.2f} (these are single-core numbers)")
    for sweep_seconds, strategy, speeds in sorted(rows, reverse=True):
        shown = "  ".join(
            f"{tier} {speed:>9,.0f}" for tier, speed in zip(TIERS, speeds, strict=True)
        )
        print(f"{strategy:>26}: {shown} requests/s; {sweep_seconds:5.1f} s of a full sweep")
    total = sum(row[0] for row in rows)
    cores = os.cpu_count() or 1
    print(f"full sweep ≈ {total:.0f} s on one core, ≈ {total / cores:.0f} s on {cores} cores")


@pytest.mark.bench
def test_full_sweep_time() -> None:
    """Prints the time of every strategy × 3 tiers × 30 seeds × 10,000 requests on all cores."""
    spec = SweepSpec(
        load("default"),
        tuple(strategy_names()),
        TIERS,
        seeds_from_count(SEEDS),
        REQUESTS,
    )
    started = time.perf_counter()
    result = run_sweep(spec)
    elapsed = time.perf_counter() - started
    total = len(result.runs) * REQUESTS
    cores = os.cpu_count() or 1
    print(
        f"\nfull sweep: {len(result.runs)} runs, {total:,} requests in {elapsed:.1f} s on "
        f"{cores} cores ({total / elapsed / cores:,.0f} requests/s/core)"
    )
