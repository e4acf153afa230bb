"""Every parameter of every registered strategy, drawn from hostile values: either the config
refuses it (ConfigError naming the parameter and its range), or the policy it builds keeps
working — choose, observe, estimate, snapshot — with bounded work per call."""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.strategies.base import parameter_ranges
from banditlb.strategies.registry import REGISTRY, make_config, strategy_names

N_ARMS = 5
STEPS = 300
RANDOM_BUDGET = 200 * STEPS  # uniform draws a whole script may take: ~30 per choice is plenty

HOSTILE: list[Any] = [
    math.nan,
    math.inf,
    -math.inf,
    0,
    0.0,
    -0.0,
    -1,
    -1.0,
    1e-308,
    5e-324,
    1e-10,
    1e29,
    -1e29,
    1e308,
    10**30,
    2**63,
    -(2**63),
    "nan",
    "inf",
    "-inf",
    "1e29",
    "1e-308",
    "1e-10",
    "100000000000000000000000000000",
    "1000",
]


class WorkBudgetExceeded(Exception):
    """A policy drew more uniforms than any sane parameter needs: its work is unbounded."""


class BudgetRandom(random.Random):
    """A seeded `random.Random` that raises once a script has drawn `budget` uniforms."""

    def __init__(self, seed: int, budget: int) -> None:
        super().__init__(seed)
        self.left = budget

    def random(self) -> float:
        self.left -= 1
        if self.left < 0:
            raise WorkBudgetExceeded
        return super().random()


def hostile_values(field: dataclasses.Field[Any]) -> st.SearchStrategy[Any]:
    """Hostile values plus arbitrary floats and huge ints, as typed or as CLI strings."""
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(min_value=-1e6, max_value=1e6).map(repr),
    )


def script_outcome(step: int) -> Outcome:
    """A repeating mix of every outcome kind, 429s with and without Retry-After."""
    kinds = [
        Outcome(OutcomeKind.ACCEPTED, 200, None, 0.004),
        Outcome(OutcomeKind.FAILED, 500, None, 0.003),
        Outcome(OutcomeKind.RATE_LIMITED, 429, 1.0, 0.001),
        Outcome(OutcomeKind.RATE_LIMITED, 429, None, 0.001),
        Outcome(OutcomeKind.TIMEOUT, None, None, 2.0),
        Outcome(OutcomeKind.CONNECTION_ERROR, None, None, 0.0),
        Outcome(OutcomeKind.FAILED, 503, None, 0.002),
    ]
    return kinds[(step * 5 + step // 7) % len(kinds)]


def exercise(name: str, params: dict[str, Any]) -> None:
    """Build `name` with `params` and play a few hundred attempts; a ConfigError is fine."""
    try:
        config = make_config(name, params)
    except ConfigError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert message.startswith(("parameter ", "bad parameters")), message
        return
    rng = BudgetRandom(7, RANDOM_BUDGET)
    policy = config.build(N_ARMS, rng)
    now = 0.0
    for step in range(STEPS):
        attempt = 1 + step % 4
        candidates = [a for a in range(N_ARMS) if (a + step) % 3 != 0] or [0]
        arm = policy.choose(now, candidates, attempt)
        assert arm in candidates
        policy.observe(arm, script_outcome(step), now, attempt)
        estimate = policy.estimate(arm, now)
        assert 0.0 <= estimate <= 1.0, estimate
        now += 0.05
    assert len(policy.snapshot(now)) == N_ARMS


@pytest.mark.parametrize("name", strategy_names())
@pytest.mark.timeout(300)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_parameters_are_refused_or_harmless(name: str, data: st.DataObject) -> None:
    """Any hostile values for any parameters: ConfigError, or a policy that keeps working."""
    fields = dataclasses.fields(REGISTRY[name])  # type: ignore[arg-type]
    if not fields:
        return
    chosen = data.draw(st.sets(st.sampled_from([f.name for f in fields]), min_size=1))
    by_name = {f.name: f for f in fields}
    params = {key: data.draw(hostile_values(by_name[key]), label=key) for key in sorted(chosen)}
    exercise(name, params)


@pytest.mark.parametrize("name", strategy_names())
def test_every_numeric_parameter_declares_a_range(name: str) -> None:
    """Every int or float parameter has a declared Range (shown by `banditlb strategies`)."""
    cls = REGISTRY[name]
    ranges = parameter_ranges(cls)
    numeric = [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.type in ("int", "float", int, float)
    ]
    assert sorted(ranges) == sorted(numeric)


REPORTED = [
    ("thompson", {"prior_alpha": "nan"}, "prior_alpha"),
    ("discounted_thompson", {"prior_beta": "nan"}, "prior_beta"),
    ("kl_ucb", {"tolerance": "1e-308"}, "tolerance"),
    ("ucb1", {"exploration": "nan"}, "exploration"),
    ("primal_dual_bwk", {"rate_limit_budget": "1e-10"}, "rate_limit_budget"),
    ("sliding_window_thompson", {"window_requests": 10**29}, "window_requests"),
    ("sliding_window_ucb", {"window": 10**29}, "window"),
    ("blocking", {"max_block": "inf"}, "max_block"),
]


@pytest.mark.parametrize(("name", "params", "field"), REPORTED)
def test_reported_wedges_are_refused_with_the_range(
    name: str, params: dict[str, Any], field: str
) -> None:
    """The values issue 9 found wedging or crashing a balancer are refused, naming the range."""
    with pytest.raises(ConfigError, match=rf"parameter {field} must be (a number|an integer) in"):
        make_config(name, params)
