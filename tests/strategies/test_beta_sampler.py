"""The fast Beta sampler Thompson uses: the Beta distribution exactly, and seeded."""

from __future__ import annotations

import random

import pytest
from scipy import stats

from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.strategies.sampling import BetaSampler, gamma_constants
from banditlb.strategies.thompson import ThompsonConfig

DRAWS = 20_000


@pytest.mark.parametrize(
    ("a", "b"),
    [(1.0, 1.0), (1.0, 6.0), (4.5, 1.0), (2.0, 3.0), (0.3, 0.7), (0.5, 4.0), (300.0, 40.0)],
)
def test_draws_follow_the_beta_distribution(a: float, b: float) -> None:
    """20,000 draws pass a Kolmogorov–Smirnov test against Beta(a, b), shapes below 1 included."""
    sampler = BetaSampler(random.Random(1))
    draws = [sampler.draw(a, b) for _ in range(DRAWS)]
    assert all(0.0 <= x <= 1.0 for x in draws)
    assert stats.kstest(draws, stats.beta(a, b).cdf).pvalue > 0.01


def test_thompson_inlined_draws_follow_the_posterior() -> None:
    """Thompson's inlined draw for Beta(3, 7) beats a Beta(1, 1) arm with probability 3/10."""
    policy = ThompsonConfig().build(2, random.Random(5))
    for _ in range(2):
        policy.observe(0, Outcome(OutcomeKind.ACCEPTED, 200), 0.0, 1)
    for _ in range(6):
        policy.observe(0, Outcome(OutcomeKind.FAILED, 500), 0.0, 1)
    assert (policy.alpha[0], policy.beta[0]) == (3.0, 7.0)
    assert (policy._d_alpha[0], policy._c_alpha[0]) == gamma_constants(3.0)
    wins = sum(policy.choose(0.0, [0, 1], 1) == 0 for _ in range(DRAWS))
    sigma = (0.3 * 0.7 / DRAWS) ** 0.5
    assert abs(wins / DRAWS - 0.3) < 4 * sigma  # P(Beta(3, 7) > U) = E[Beta(3, 7)] = 0.3


def test_same_seed_same_draws_and_small_priors_work() -> None:
    """One seed gives one sequence of choices, with priors below 1 on the general path too."""
    config = ThompsonConfig(prior_alpha=0.5, prior_beta=0.25)
    first = config.build(4, random.Random(2))
    second = config.build(4, random.Random(2))
    picks = [first.choose(0.0, [0, 1, 2, 3], 1) for _ in range(50)]
    assert picks == [second.choose(0.0, [0, 1, 2, 3], 1) for _ in range(50)]
    assert set(picks) == {0, 1, 2, 3}
