"""The simulator's entry points: one strategy on one scenario tier, on a virtual clock.

A discrete-event simulator of the game, SimPy-style and deterministic: client requests arrive
open-loop every `1 / rate` seconds (as the harness sends them); each is routed by the *same*
`Router` and strategy as the live balancer, against the *same* `ServerModel`s the fleet serves,
and scored by the referee's rules. `simulation.Simulation` holds a run and scores it;
`reference_loop` spells out the game and `fast_loop` plays it faster, attempt for attempt alike.
`simulate` gives a run's totals; `simulate_traced` the same totals and every attempt.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from banditlb.game.router import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_REQUEST_DEADLINE,
    RetryRules,
    Router,
)
from banditlb.models.spec import Scenario
from banditlb.sim.reference_loop import AttemptRecord
from banditlb.sim.result import SimResult
from banditlb.sim.simulation import TIMELINE_POINTS, Simulation
from banditlb.sim.world import build_models, resolve_scenario, tier_specs
from banditlb.strategies.registry import build_strategy, config_params, make_config

__all__ = [
    "DEFAULT_ATTEMPT_TIMEOUT",
    "DEFAULT_REQUEST_DEADLINE",
    "TIMELINE_POINTS",
    "AttemptRecord",
    "Simulation",
    "simulate",
    "simulate_traced",
]


def simulate(
    scenario: Scenario | str | Path | None,
    tier: str,
    strategy: str,
    *,
    seed: int,
    requests: int,
    params: Mapping[str, Any] | None = None,
    rules: RetryRules | None = None,
    rate: float | None = None,
    record_timeline: bool = True,
    attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT,
    request_deadline: float = DEFAULT_REQUEST_DEADLINE,
) -> SimResult:
    """Simulate `requests` client requests on `tier` routed by the registry strategy `strategy`.

    `scenario` is a loaded Scenario, a file path or a built-in name. The strategy's RNG is
    `random.Random(seed)`, and the server models are seeded with `seed` too (not
    `scenario.seed`): different seeds are different worlds as well as different choices.
    `rate` overrides the scenario's arrival rate; `rules` carries the penalty.
    `attempt_timeout` and `request_deadline` default to the live balancer's settings.
    """
    result, _ = _simulate(
        scenario,
        tier,
        strategy,
        seed=seed,
        requests=requests,
        params=params,
        rules=rules,
        rate=rate,
        record_timeline=record_timeline,
        attempt_timeout=attempt_timeout,
        request_deadline=request_deadline,
        trace=False,
    )
    return result


def simulate_traced(
    scenario: Scenario | str | Path | None,
    tier: str,
    strategy: str,
    *,
    seed: int,
    requests: int,
    params: Mapping[str, Any] | None = None,
    rules: RetryRules | None = None,
    rate: float | None = None,
    record_timeline: bool = True,
    attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT,
    request_deadline: float = DEFAULT_REQUEST_DEADLINE,
) -> tuple[SimResult, list[AttemptRecord]]:
    """`simulate` with every attempt's record: the same result, and the attempts in the order
    the balancer saw them end (the reference loop plays the run, which the fast loop matches
    attempt for attempt)."""
    result, trace = _simulate(
        scenario,
        tier,
        strategy,
        seed=seed,
        requests=requests,
        params=params,
        rules=rules,
        rate=rate,
        record_timeline=record_timeline,
        attempt_timeout=attempt_timeout,
        request_deadline=request_deadline,
        trace=True,
    )
    return result, trace or []


def _simulate(
    scenario: Scenario | str | Path | None,
    tier: str,
    strategy: str,
    *,
    seed: int,
    requests: int,
    params: Mapping[str, Any] | None,
    rules: RetryRules | None,
    rate: float | None,
    record_timeline: bool,
    attempt_timeout: float,
    request_deadline: float,
    trace: bool,
) -> tuple[SimResult, list[AttemptRecord] | None]:
    """The one place a run is built from names: `simulate` and `simulate_traced` share it."""
    world = resolve_scenario(scenario)
    specs = tier_specs(world, tier)
    config = make_config(strategy, params)
    policy = build_strategy(strategy, len(specs), random.Random(seed), params)
    router = Router(policy, len(specs), rules)
    sim = Simulation(
        build_models(specs, seed),
        router,
        rate=world.rate if rate is None else rate,
        requests=requests,
        attempt_timeout=attempt_timeout,
        request_deadline=request_deadline,
        timeline_points=TIMELINE_POINTS if record_timeline else 0,
        trace=trace,
    )
    sim.run()
    result = sim.result(
        scenario=world.name, tier=tier, strategy=strategy, seed=seed, params=config_params(config)
    )
    return result, sim.trace
