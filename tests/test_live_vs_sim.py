"""The simulator predicts the live system: a live run scores inside the simulator's 95% range."""

from __future__ import annotations

import statistics

import pytest

from banditlb.balancer.app import create_app
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.fleet import Fleet
from banditlb.harness.load import LoadPlan, run_load
from banditlb.models.scenario import loads
from banditlb.sim.engine import simulate

REQUESTS = 150  # 15 s at the challenge's 10 requests/s
RATE = 10.0
SHORT_SCENARIO = """
name = "short"
seed = 3
rate = 10.0
""" + "\n".join(
    f"""
[[servers]]
name = "s{i}"
tier = "T2"
port = {4200 + i}
error_rate = {error}
retry_after = {str(i % 2 == 0).lower()}
latency = {{ mean = 0.003, jitter = 0.001 }}
limits = [{{ kind = "fixed_window", limit = {limit}, window = 1.0 }}]
"""
    for i, (error, limit) in enumerate([(0.1, 2), (0.3, 3), (0.5, 4), (0.7, 6), (0.9, 8)])
)


@pytest.mark.anyio
async def test_live_thompson_scores_inside_the_simulators_95_percent_range() -> None:
    """A live Thompson run at 10 req/s scores within mean ± 1.96 sd of 40 simulated runs."""
    scenario = loads(SHORT_SCENARIO, "short")
    simulated = [
        simulate(scenario, "T2", "thompson", seed=seed, requests=REQUESTS).score_per_request
        for seed in range(40)
    ]
    mean, sd = statistics.fmean(simulated), statistics.stdev(simulated)
    low, high = mean - 1.96 * sd, mean + 1.96 * sd
    async with Fleet(scenario, ephemeral=True) as fleet:
        upstreams = tuple(Upstream(s.name, *fleet.address(s.name)) for s in scenario.servers)
        settings = BalancerSettings(upstreams, strategy="thompson", seed=1, tier="T2")
        async with serve_in_background(create_app(settings)) as url:
            plan = LoadPlan(
                url=f"{url}/", rps=RATE, requests=REQUESTS, seed=2,
                referee=fleet.control_url, tier="T2",
            )  # fmt: skip
            report = await run_load(plan)
    live = report.score_per_request
    print(f"live {live:.3f}; simulated mean {mean:.3f}, 95% range [{low:.3f}, {high:.3f}]")
    assert report.sent == REQUESTS
    assert low <= live <= high, f"live {live:.3f} outside simulated [{low:.3f}, {high:.3f}]"
    # The range must be informative: far narrower than "anything between 0 and 1".
    assert high - low < 0.3
