"""`LATENCY_BLIND` is a promise the simulator relies on: checked against each class's code."""

from __future__ import annotations

import ast
import importlib
import inspect
import random

import pytest

from banditlb.game.router import Router
from banditlb.models.scenario import loads
from banditlb.sim import Simulation
from banditlb.sim.world import build_models, tier_specs
from banditlb.strategies.base import latency_blind
from banditlb.strategies.registry import build_strategy, strategy_names
from banditlb.testing import ScriptedStrategy

ONE_SERVER = """
name = "one"
rate = 4.0

[[servers]]
name = "s"
tier = "X"
port = 7000
error_rate = 0.5
latency = { mean = 0.05, jitter = 0.01 }
"""


def reads_latency(cls: type) -> bool:
    """Whether the class's module, or a strategies module it imports (its parts, such as the
    planner's capacity model), reads an attribute named `latency`."""
    module = inspect.getmodule(cls)
    assert module is not None
    tree = ast.parse(inspect.getsource(module))
    parts = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("banditlb.strategies")
    }
    trees = [tree, *(ast.parse(inspect.getsource(importlib.import_module(m))) for m in parts)]
    return any(
        isinstance(node, ast.Attribute) and node.attr == "latency"
        for part in trees
        for node in ast.walk(part)
    )


@pytest.mark.parametrize("name", strategy_names())
def test_a_latency_blind_strategy_never_reads_latency(name: str) -> None:
    """Every class that declares LATENCY_BLIND = True has no `.latency` in its code or parts."""
    cls = type(build_strategy(name, 3, random.Random(0)))
    if latency_blind(build_strategy(name, 3, random.Random(0))):
        assert not reads_latency(cls), f"{cls.__name__} reads .latency"


def test_the_planner_reads_latency_and_is_not_blind() -> None:
    """The check can fail: the planner reads latency, and it does not claim to be blind."""
    planner = build_strategy("planner", 3, random.Random(0))
    assert reads_latency(type(planner))  # through its capacity model
    assert not latency_blind(planner)
    assert (
        sum(latency_blind(build_strategy(n, 3, random.Random(0))) for n in strategy_names()) == 16
    )


class _Blind(ScriptedStrategy):
    LATENCY_BLIND = True


@pytest.mark.parametrize(("cls", "shared"), [(_Blind, True), (ScriptedStrategy, False)])
def test_the_fast_loop_shares_outcomes_only_with_blind_strategies(
    cls: type[ScriptedStrategy], shared: bool
) -> None:
    """A blind strategy sees shared outcomes (latency 0); any other, each attempt's latency."""
    specs = tier_specs(loads(ONE_SERVER), "X")
    policy = cls(1)
    Simulation(build_models(specs, 1), Router(policy, 1), rate=4.0, requests=40).run()
    outcomes = [outcome for _, outcome, _, _ in policy.observed]
    assert len(outcomes) >= 40
    latencies = {outcome.latency for outcome in outcomes}
    if shared:
        assert latencies == {0.0}
        assert len({id(outcome) for outcome in outcomes}) <= 2  # one 200, one 500
    else:
        assert all(0.04 <= latency <= 0.06 for latency in latencies)
        assert len(latencies) > 10
