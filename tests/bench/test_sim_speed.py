"""Simulator speed: requests per second per core, and the full default sweep's wall time."""

from __future__ import annotations

import os
import time

import pytest

from banditlb.models.scenario import load
from banditlb.sim import simulate
from banditlb.sim.sweep import SweepSpec, run_sweep, seeds_from_count
from banditlb.strategies.registry import strategy_names

REQUESTS = 10_000


@pytest.mark.bench
def test_requests_per_second_per_core() -> None:
    """Prints simulated requests/s on one core per strategy and tier (Thompson is the target)."""
    scenario = load("default")
    for strategy in strategy_names():
        speeds = []
        for tier in ("T1", "T2", "T3"):
            started = time.perf_counter()
            simulate(scenario, tier, strategy, seed=0, requests=REQUESTS)
            speeds.append(REQUESTS / (time.perf_counter() - started))
        shown = "  ".join(
            f"{tier} {speed:>9,.0f}" for tier, speed in zip(("T1", "T2", "T3"), speeds, strict=True)
        )
        print(f"\n{strategy:>26}: {shown} requests/s")


@pytest.mark.bench
def test_full_sweep_time() -> None:
    """Prints the time of every strategy × 3 tiers × 30 seeds × 10,000 requests on all cores."""
    spec = SweepSpec(
        load("default"),
        tuple(strategy_names()),
        ("T1", "T2", "T3"),
        seeds_from_count(30),
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
