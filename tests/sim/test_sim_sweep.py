"""Sweeps: parsing, validation, and results that do not depend on the number of processes."""

from __future__ import annotations

import pytest

from banditlb.errors import ConfigError
from banditlb.scenarios.files import load
from banditlb.sim.sweep import SweepSpec, parse_strategies, run_sweep, seeds_from_count
from banditlb.strategies.registry import strategy_names


def test_parse_strategies() -> None:
    """'all' is the whole registry; a list keeps its order and drops repeats."""
    assert parse_strategies("all") == tuple(strategy_names())
    assert parse_strategies("thompson, random,thompson") == ("thompson", "random")
    with pytest.raises(ConfigError, match="unknown strategy 'nope'"):
        parse_strategies("random,nope")


def test_spec_rejects_unknown_tier_and_stray_params() -> None:
    """A tier the scenario lacks, or params for a strategy not swept, is a ConfigError."""
    scenario = load("default")
    with pytest.raises(ConfigError, match="unknown tier 'T4'"):
        SweepSpec(scenario, ("random",), ("T4",), (0,), 10)
    with pytest.raises(ConfigError, match="not swept"):
        SweepSpec(scenario, ("random",), ("T1",), (0,), 10, params={"thompson": {}})


def test_parallel_sweep_equals_serial_sweep() -> None:
    """Two worker processes give exactly the runs and oracle bounds one process gives, in order."""
    spec = SweepSpec(
        load("default"), ("random", "thompson"), ("T1", "T2"), seeds_from_count(2), 300
    )
    serial = run_sweep(spec, jobs=1)
    parallel = run_sweep(spec, jobs=2)
    assert serial.runs == parallel.runs
    assert serial.oracles == parallel.oracles
    assert [(r.tier, r.strategy, r.seed) for r in serial.runs] == [
        ("T1", "random", 0),
        ("T1", "random", 1),
        ("T1", "thompson", 0),
        ("T1", "thompson", 1),
        ("T2", "random", 0),
        ("T2", "random", 1),
        ("T2", "thompson", 0),
        ("T2", "thompson", 1),
    ]
    assert serial.oracles["T1"].horizon == 30.0
