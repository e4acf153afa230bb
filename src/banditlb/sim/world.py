"""The simulated world of one run: a tier's servers as `ServerModel`s, seeded by the run's seed."""

from __future__ import annotations

from pathlib import Path

from banditlb.errors import ConfigError
from banditlb.models.server import ServerModel
from banditlb.models.spec import Scenario, ServerSpec
from banditlb.scenarios import files as scenario_files


def resolve_scenario(scenario: Scenario | str | Path | None) -> Scenario:
    """A loaded scenario as is; a path or built-in name is loaded (None means 'default')."""
    return scenario if isinstance(scenario, Scenario) else scenario_files.load(scenario)


def tier_specs(scenario: Scenario, tier: str) -> tuple[ServerSpec, ...]:
    """The servers of `tier`, or ConfigError naming the tier and the scenario's tiers."""
    specs = scenario.tier(tier)
    if not specs:
        raise ConfigError(
            f"unknown tier {tier!r} in scenario {scenario.name!r}; "
            f"tiers: {', '.join(scenario.tiers())}"
        )
    return specs


def build_models(specs: tuple[ServerSpec, ...], seed: int) -> list[ServerModel]:
    """Fresh server models for one run, in tier order (arm i is `specs[i]`).

    Seeded with the *simulation* seed, not `scenario.seed`: a sweep over seeds varies the
    servers' coin flips and latencies as well as the strategy's, so the spread across seeds
    covers both kinds of luck. Each server's streams are still keyed by its name.
    """
    return [ServerModel(spec, seed) for spec in specs]
