"""Every bad strategy parameter is a ConfigError whose message names the parameter."""

from __future__ import annotations

import random

import pytest

from banditlb.errors import ConfigError
from banditlb.strategies.registry import build_strategy, config_params, make_config

BAD = [
    ("ucb1", {"exploration": -1.0}, "exploration"),
    ("thompson", {"prior_alpha": 0.0}, "prior_alpha"),
    ("discover_exploit", {"discovery_budget": -1}, "discovery_budget"),
    ("attempt_aware_ucb", {"early_exploration": -0.5}, "early_exploration"),
    ("attempt_aware_ucb", {"late_exploration": -0.5}, "late_exploration"),
    ("attempt_aware_ucb", {"early_attempts": 0}, "early_attempts"),
    ("variance_scaled_thompson", {"first_scale": 0.0}, "first_scale"),
    ("variance_scaled_thompson", {"second_scale": 1.5}, "second_scale"),
    ("variance_scaled_thompson", {"third_scale": -1.0}, "third_scale"),
    ("masked_thompson", {"cooldown": -1.0}, "cooldown"),
    ("sliding_window_thompson", {"window_requests": -1}, "window_requests"),
    ("sliding_window_thompson", {"window_seconds": -2.0}, "window_seconds"),
    ("sliding_window_thompson", {"window_requests": 0, "window_seconds": 0.0}, "window_requests"),
    ("blocking", {"base_block": 0.0}, "base_block"),
    ("blocking", {"max_block": -1.0}, "max_block"),
    ("blocking", {"base_block": 5.0, "max_block": 1.0}, "max_block"),
    ("balanced_exploration", {"rate_limit_budget": 0.0}, "rate_limit_budget"),
    ("balanced_exploration", {"exploration": -1.0}, "exploration"),
    ("balanced_exploration", {"discount": 1.5}, "discount"),
    ("primal_dual_bwk", {"rate_limit_budget": 2.0}, "rate_limit_budget"),
    ("primal_dual_bwk", {"learning_rate": 0.0}, "learning_rate"),
    ("primal_dual_bwk", {"free_attempts": 1}, "free_attempts"),
    ("primal_dual_bwk", {"discount": 0.0}, "discount"),
    ("exp3", {"gamma": 0.0}, "gamma"),
    ("exp3", {"gamma": 1.5}, "gamma"),
    ("discounted_thompson", {"discount": 0.0}, "discount"),
    ("discounted_thompson", {"prior_beta": -1.0}, "prior_beta"),
    ("sliding_window_ucb", {"window": 0}, "window"),
    ("sliding_window_ucb", {"exploration": -0.1}, "exploration"),
    ("kl_ucb", {"c": -1.0}, "c"),
    ("kl_ucb", {"tolerance": 0.0}, "tolerance"),
    ("planner", {"window": 0.0}, "window"),
    ("planner", {"replan_interval": -1.0}, "replan_interval"),
    ("planner", {"drift": 0.0}, "drift"),
    ("planner", {"probe_interval": 0.0}, "probe_interval"),
    ("planner", {"probe_interval": 5.0, "max_probe_interval": 1.0}, "max_probe_interval"),
    ("planner", {"outage_after": 0.0}, "outage_after"),
    ("planner", {"explore_attempts": -1}, "explore_attempts"),
    ("planner", {"raise_trial": 0.0}, "raise_trial"),
    ("planner", {"free_attempts": 0}, "free_attempts"),
    ("planner", {"rate_horizon": 0.0}, "rate_horizon"),
]


@pytest.mark.parametrize(("name", "params", "field"), BAD)
def test_bad_parameter_names_the_parameter(name: str, params: dict[str, float], field: str) -> None:
    """A value breaking the parameter's rule raises ConfigError naming that parameter."""
    with pytest.raises(ConfigError, match=rf"parameter {field} "):
        make_config(name, params)


def test_string_parameters_are_coerced_then_validated() -> None:
    """CLI strings are coerced to the field type and still validated."""
    assert config_params(make_config("planner", {"window": "2.0"}))["window"] == 2.0
    with pytest.raises(
        ConfigError, match=r"parameter window must be (a number|a number in .*), got 'x'"
    ):
        make_config("planner", {"window": "x"})
    with pytest.raises(
        ConfigError, match=r"parameter exploration must be a number in \[0, 1000\], got 'x'"
    ):
        make_config("ucb1", {"exploration": "x"})


def test_unknown_parameter_is_named() -> None:
    """A parameter the strategy does not have is rejected by name."""
    with pytest.raises(ConfigError, match="strategy 'blocking' has no parameter 'window'"):
        make_config("blocking", {"window": 1})


def test_zero_arms_is_rejected() -> None:
    """A strategy needs at least one server."""
    with pytest.raises(ConfigError, match="at least one server, got 0"):
        build_strategy("planner", 0, random.Random(0))
