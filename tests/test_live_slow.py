"""Long live runs (`make test-slow`): ours beats the blog's best-known learner on real HTTP."""

from __future__ import annotations

import pytest

from banditlb.balancer.app import create_app
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.fleet import Fleet
from banditlb.harness.load import LoadPlan, LoadReport, run_load
from banditlb.scenarios import files as scenario_files

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

REQUESTS = 600  # 60 s at the challenge's 10 requests/s


async def play_t2(strategy: str) -> LoadReport:
    """One minute of the default scenario's T2 at 10 req/s through `strategy`, referee-scored."""
    world = scenario_files.load("default")
    async with Fleet(world, ephemeral=True) as fleet:
        upstreams = tuple(Upstream(s.name, *fleet.address(s.name)) for s in world.tier("T2"))
        settings = BalancerSettings(upstreams, strategy=strategy, seed=4, tier="T2")
        async with serve_in_background(create_app(settings)) as url:
            plan = LoadPlan(
                url=f"{url}/", rps=10, requests=REQUESTS, seed=9,
                referee=fleet.control_url, tier="T2",
            )  # fmt: skip
            return await run_load(plan)


@pytest.mark.timeout(400)
async def test_planner_beats_thompson_live_on_the_rate_limited_tier() -> None:
    """On T2, live for a minute each, the planner's referee score beats Thompson's by > 0.04
    per request (the simulator predicts 0.956 against 0.847) and it pays no penalties."""
    planner = await play_t2("planner")
    thompson = await play_t2("thompson")
    assert planner.score_per_request is not None
    assert thompson.score_per_request is not None
    ours, theirs = planner.score_per_request, thompson.score_per_request
    print(f"live T2: planner {ours:.3f}, thompson {theirs:.3f}")
    assert planner.penalised_attempts == 0
    assert planner.score_per_request - thompson.score_per_request > 0.04
