"""The independent fleet's t1–t3 as built-ins: same servers, and our oracle close to theirs.

Compared with `../shared/referee/` when it is there (skipped otherwise): its scenario JSON and
its own `oracle.py`, run as a separate process (its code is not imported).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from banditlb.models.limits import AllOf, FixedWindow, PeriodicOutage, TokenBucket
from banditlb.models.oracle import oracle_bound
from banditlb.models.varying_bucket import SinusoidBucket
from banditlb.scenarios import files as scenario_files

REFEREE = Path(__file__).resolve().parents[2].parent / "shared" / "referee"
NAMES = ("t1", "t2", "t3")

needs_referee = pytest.mark.skipif(
    not (REFEREE / "oracle.py").exists(), reason="../shared/referee is not on this machine"
)


def referee_json(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((REFEREE / "scenarios" / f"{name}.json").read_text())
    return data


@pytest.mark.parametrize("name", NAMES)
def test_referee_scenarios_are_built_in_with_one_tier(name: str) -> None:
    """referee_t1..t3 load as built-ins: ten servers of one tier, no hints, no fields."""
    loaded = scenario_files.load(f"referee_{name}")
    assert f"referee_{name}" in scenario_files.builtin_names()
    assert loaded.tiers() == [name.upper()]
    assert len(loaded.servers) == 10
    assert {(s.retry_after, s.rate_limit_headers) for s in loaded.servers} == {("none", "none")}


def test_referee_t3_uses_sinusoid_buckets_and_outages_that_start_up() -> None:
    """t3's first servers: a sinusoid-refilled bucket; a bucket with an outage from 30 s."""
    servers = scenario_files.load("referee_t3").servers
    sinusoid = servers[0].build_limiter()
    assert isinstance(sinusoid, SinusoidBucket)
    assert (sinusoid.base, sinusoid.amplitude, sinusoid.period, sinusoid.burst) == (3, 2, 30, 3)
    stacked = servers[2].build_limiter()
    assert isinstance(stacked, AllOf)
    bucket, outage = stacked.parts
    assert isinstance(bucket, TokenBucket)
    assert isinstance(outage, PeriodicOutage)
    assert [outage.in_outage(t) for t in (0.0, 29.9, 30.0, 39.9, 40.0, 70.0)] == [
        False,
        False,
        True,
        True,
        False,
        True,
    ]
    assert isinstance(scenario_files.load("referee_t2").servers[0].build_limiter(), FixedWindow)


@needs_referee
@pytest.mark.parametrize("name", NAMES)
def test_servers_match_the_referee_json(name: str) -> None:
    """Ports, error rates and seed are the referee scenario's, server for server."""
    data = referee_json(name)
    loaded = scenario_files.load(f"referee_{name}")
    servers = data["servers"]
    assert isinstance(servers, list)
    assert [(s.port, s.error_rate) for s in loaded.servers] == [
        (int(s["port"]), float(s["error_rate"])) for s in servers
    ]
    assert loaded.seed == data["seed"]


@needs_referee
@pytest.mark.parametrize("name", NAMES)
def test_our_oracle_is_within_half_a_percent_of_theirs(name: str) -> None:
    """Over their 60 s horizon our LP bound is within 0.005 per request of their oracle.py's."""
    ran = subprocess.run(
        [sys.executable, str(REFEREE / "oracle.py"), str(REFEREE / "scenarios" / f"{name}.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    theirs = json.loads(ran.stdout.splitlines()[0])["oracle"]
    ours = oracle_bound(
        scenario_files.load(f"referee_{name}"), name.upper(), horizon=60.0
    ).score_per_request
    assert ours == pytest.approx(theirs, abs=0.005)
