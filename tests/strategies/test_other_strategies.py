"""Bandits with Knapsacks and the breadth strategies (Exp3, discounted TS, SW-UCB, KL-UCB)."""

from __future__ import annotations

import math
import random

import pytest

from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.strategies.balanced_exploration import BalancedExplorationConfig
from banditlb.strategies.discounted_thompson import DiscountedThompsonConfig
from banditlb.strategies.exp3 import Exp3Config
from banditlb.strategies.kl_ucb import KLUCBConfig, bernoulli_kl, kl_upper
from banditlb.strategies.primal_dual_bwk import PrimalDualBwKConfig
from banditlb.strategies.sliding_window_ucb import SlidingWindowUCBConfig

OK = Outcome(OutcomeKind.ACCEPTED, 200)
FAIL = Outcome(OutcomeKind.FAILED, 500)
LIMITED = Outcome(OutcomeKind.RATE_LIMITED, 429)


def test_balanced_exploration_rotates_among_potentially_optimal_arms() -> None:
    """Arms that could still be best are played evenly; a clearly worse arm is left out."""
    policy = BalancedExplorationConfig(exploration=0.01).build(3, random.Random(0))
    for _ in range(60):
        policy.observe(0, OK, 0.0, 1)
        policy.observe(1, OK, 0.0, 1)
        policy.observe(2, FAIL, 0.0, 1)
    assert policy.potentially_optimal([0, 1, 2]) == [0, 1]
    picks = []
    for _ in range(4):
        arm = policy.choose(0.0, [0, 1, 2], 1)
        picks.append(arm)
        policy.observe(arm, OK, 0.0, 1)
    assert sorted(picks) == [0, 0, 1, 1]


def test_balanced_exploration_values_429s_as_resource_consumption() -> None:
    """An arm drawing 429s loses value per unit of resource and leaves the optimal set."""
    policy = BalancedExplorationConfig(exploration=0.01).build(2, random.Random(0))
    for step in range(60):
        policy.observe(0, OK if step % 2 else LIMITED, 0.0, 1)
        policy.observe(1, OK if step % 3 else FAIL, 0.0, 1)
    assert policy.potentially_optimal([0, 1]) == [1]


def test_primal_dual_prices_rise_with_429s() -> None:
    """A 429 raises the server's capacity price, moving traffic to the other server."""
    policy = PrimalDualBwKConfig(exploration=0.0).build(2, random.Random(0))
    for _ in range(30):
        policy.observe(0, OK, 0.0, 1)
        policy.observe(1, OK, 0.0, 1)
    policy.observe(1, FAIL, 0.0, 1)
    assert policy.choose(0.0, [0, 1], 1) == 0
    before = policy.prices()[2]
    for _ in range(5):
        policy.observe(0, LIMITED, 0.0, 1)
    assert policy.prices()[2] > before
    assert policy.choose(0.0, [0, 1], 1) == 1
    assert math.isclose(sum(policy.prices()), 1.0)


def test_primal_dual_choice_follows_prices_through_rebasing() -> None:
    """Kept price weights match `prices()` even after log prices are shifted and rebased."""
    policy = PrimalDualBwKConfig(learning_rate=1.0, rate_limit_budget=0.01).build(
        3, random.Random(0)
    )
    for step in range(300):
        policy.observe(step % 3, LIMITED if step % 3 == 0 else OK, 0.0, 1)
    weights = policy._weight
    assert [w / sum(weights) for w in weights] == pytest.approx(policy.prices(), rel=1e-9)
    assert policy.choose(0.0, [0, 1, 2], 1) != 0


def test_exp3_distribution_mixes_uniform_exploration() -> None:
    """With equal weights every candidate has probability 1/K; a win raises that arm's share."""
    policy = Exp3Config(gamma=0.2).build(3, random.Random(0))
    assert policy.distribution([0, 1, 2]) == pytest.approx([1 / 3] * 3)
    arm = policy.choose(0.0, [0, 1, 2], 1)
    policy.observe(arm, OK, 0.0, 1)
    probs = policy.distribution([0, 1, 2])
    assert probs[arm] > 1 / 3
    assert min(probs) >= 0.2 / 3
    assert sum(probs) == pytest.approx(1.0)


def test_exp3_exact_choices_for_seed() -> None:
    """A fixed seed and script give exactly these choices."""
    policy = Exp3Config(gamma=0.5).build(3, random.Random(2))
    picks = []
    for _ in range(10):
        arm = policy.choose(0.0, [0, 1, 2], 1)
        picks.append(arm)
        policy.observe(arm, OK if arm == 0 else FAIL, 0.0, 1)
    assert picks == [2, 2, 0, 0, 2, 2, 1, 0, 1, 1]


def test_discounted_thompson_discounts_all_arms_each_observation() -> None:
    """Every observation multiplies all counts by γ before adding the new result."""
    policy = DiscountedThompsonConfig(discount=0.5).build(2, random.Random(0))
    policy.observe(0, OK, 0.0, 1)
    policy.observe(1, FAIL, 0.0, 1)
    policy.observe(1, OK, 0.0, 1)
    assert policy.successes == [0.25, 1.0]
    assert policy.failures == [0.0, 0.5]


def test_sliding_window_ucb_forgets_plays_outside_the_window() -> None:
    """Only the last `window` attempts count; an arm with none in it has an infinite index."""
    policy = SlidingWindowUCBConfig(window=3).build(2, random.Random(0))
    policy.observe(0, OK, 0.0, 1)
    for _ in range(3):
        policy.observe(1, FAIL, 0.0, 1)
    assert policy.plays == [0, 3]
    assert policy.index(0) == math.inf
    assert policy.choose(0.0, [0, 1], 1) == 0


def test_kl_upper_bound_solves_the_kl_equation() -> None:
    """The KL-UCB index q satisfies kl(p̂, q) ≈ bound and q ≥ p̂."""
    q = kl_upper(0.5, 0.1, 1e-6)
    assert q > 0.5
    assert bernoulli_kl(0.5, q) == pytest.approx(0.1, abs=1e-4)
    assert kl_upper(1.0, 0.1, 1e-6) == 1.0


def test_kl_ucb_prefers_the_better_arm_once_tried() -> None:
    """Each arm is tried once, then the arm with the higher KL-UCB index wins."""
    policy = KLUCBConfig().build(2, random.Random(0))
    seen = set()
    for _ in range(2):
        arm = policy.choose(0.0, [0, 1], 1)
        seen.add(arm)
        policy.observe(arm, OK if arm == 1 else FAIL, 0.0, 1)
    assert seen == {0, 1}
    for _ in range(20):
        policy.observe(1, OK, 0.0, 1)
        policy.observe(0, FAIL, 0.0, 1)
    assert policy.choose(0.0, [0, 1], 1) == 1
