"""End to end on loopback: fleet + balancer (uvicorn, port 0) + open-loop load + referee."""

from __future__ import annotations

import pytest

from banditlb.balancer.app import create_app
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.fleet import Fleet
from banditlb.harness.load import LoadPlan, LoadReport, run_load
from banditlb.models.scenario import loads
from banditlb.models.spec import Scenario
from banditlb.scenarios import files as scenario_files

pytestmark = pytest.mark.anyio


def two_good_among_eight_bad() -> Scenario:
    """Ten T1-like servers: two accept 95% of requests, eight accept 5%."""
    servers = []
    for i in range(10):
        error_rate = 0.05 if i in (3, 7) else 0.95
        servers.append(
            f'[[servers]]\nname = "s{i}"\ntier = "T1"\nport = {4100 + i}\n'
            f"error_rate = {error_rate}\n"
        )
    return loads('name = "2of10"\nseed = 5\n' + "\n".join(servers), "test")


async def play(scenario: Scenario, strategy: str, *, requests: int = 300) -> LoadReport:
    """Run one balancer with `strategy` against a fresh ephemeral fleet; referee-scored."""
    async with Fleet(scenario, ephemeral=True) as fleet:
        upstreams = tuple(
            Upstream(spec.name, *fleet.address(spec.name)) for spec in scenario.tier("T1")
        )
        settings = BalancerSettings(upstreams, strategy=strategy, seed=11, tier="T1")
        async with serve_in_background(create_app(settings)) as url:
            plan = LoadPlan(
                url=f"{url}/", rps=200, requests=requests, seed=3,
                referee=fleet.control_url, tier="T1",
            )  # fmt: skip
            return await run_load(plan)


async def test_referee_accepted_equals_balancer_delivered() -> None:
    """Every id the balancer answers 200 for is one the referee saw accepted, and no more."""
    report = await play(scenario_files.load("default"), "thompson")
    assert report.referee is not None
    assert (report.sent, report.errors, report.dropped) == (300, 0, 0)
    assert report.accepted == report.delivered
    assert report.referee["ids"] == 300
    assert report.penalised_attempts == 0
    assert report.score == report.delivered


async def test_thompson_beats_random_when_two_of_ten_servers_are_good() -> None:
    """Thompson delivers far more than random on 2 good servers among 8 bad ones."""
    scenario = two_good_among_eight_bad()
    thompson = await play(scenario, "thompson")
    uniform = await play(scenario, "random")
    assert thompson.accepted is not None
    assert uniform.accepted is not None
    # Expected: random ≈ 1 - 0.77**3 ≈ 54% delivered; Thompson > 85% once it has learnt.
    assert uniform.accepted < 0.70 * 300
    assert thompson.accepted > 0.85 * 300
    assert thompson.accepted == thompson.delivered
