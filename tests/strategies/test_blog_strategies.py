"""The blog's eight strategies (V1–V8), each on scripted outcomes."""

from __future__ import annotations

import random

from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.strategies.attempt_aware_ucb import AttemptAwareUCBConfig
from banditlb.strategies.blocking import BlockingConfig
from banditlb.strategies.discover_exploit import DiscoverExploitConfig
from banditlb.strategies.masked_thompson import MaskedThompsonConfig
from banditlb.strategies.sliding_window_thompson import SlidingWindowThompsonConfig
from banditlb.strategies.thompson import ThompsonConfig
from banditlb.strategies.ucb1 import UCB1Config
from banditlb.strategies.variance_scaled_thompson import VarianceScaledThompsonConfig
from banditlb.testing import FakeClock

OK = Outcome(OutcomeKind.ACCEPTED, 200)
FAIL = Outcome(OutcomeKind.FAILED, 500)
LIMITED = Outcome(OutcomeKind.RATE_LIMITED, 429)


def limited(retry_after: float) -> Outcome:
    return Outcome(OutcomeKind.RATE_LIMITED, 429, retry_after)


def test_discover_exploit_takes_largest_variance_while_discovering() -> None:
    """V1: during discovery the arm with the widest posterior (fewest observations) is chosen."""
    policy = DiscoverExploitConfig(discovery_budget=10).build(3, random.Random(0))
    for _ in range(4):
        policy.observe(0, OK, 0.0, 1)
    policy.observe(1, FAIL, 0.0, 1)
    assert policy.discovering
    assert policy.choose(0.0, [0, 1, 2], 1) == 2


def test_discover_exploit_switches_to_best_mean_after_budget() -> None:
    """V1: once the budget of attempts is spent it takes the largest posterior mean."""
    policy = DiscoverExploitConfig(discovery_budget=5).build(3, random.Random(0))
    for _ in range(4):
        policy.observe(0, OK, 0.0, 1)
    assert policy.choose(0.0, [0, 1, 2], 1) in (1, 2)  # still discovering: untried arms
    policy.observe(1, FAIL, 0.0, 1)
    assert not policy.discovering
    assert [policy.choose(0.0, [0, 1, 2], 1) for _ in range(3)] == [0, 0, 0]


def test_discover_exploit_exact_choices_for_seed() -> None:
    """V1: a fixed seed and script give exactly these choices."""
    policy = DiscoverExploitConfig(discovery_budget=4).build(3, random.Random(7))
    picks = []
    for _step in range(8):
        arm = policy.choose(0.0, [0, 1, 2], 1)
        picks.append(arm)
        policy.observe(arm, OK if arm == 2 else FAIL, 0.0, 1)
    assert picks == [1, 0, 2, 1, 2, 2, 2, 2]


def test_ucb1_tries_every_arm_then_prefers_winner() -> None:
    """V2: untried arms have infinite index; then the arm that wins most is chosen."""
    policy = UCB1Config(exploration=0.0).build(2, random.Random(0))
    first = policy.choose(0.0, [0, 1], 1)
    policy.observe(first, FAIL, 0.0, 1)
    second = policy.choose(0.0, [0, 1], 1)
    assert second != first
    policy.observe(second, OK, 0.0, 1)
    assert policy.choose(0.0, [0, 1], 1) == second


def test_attempt_aware_ucb_uses_three_then_one() -> None:
    """V3: exploration constant 3 within the free attempts and 1 after them."""
    policy = AttemptAwareUCBConfig().build(2, random.Random(0))
    assert [policy.exploration_for(a) for a in (1, 2, 3, 4, 5)] == [3.0, 3.0, 3.0, 1.0, 1.0]


def test_attempt_aware_ucb_constant_changes_the_pick() -> None:
    """V3: the same history picks the better-known arm at attempt 4 and the less-known at 1."""
    policy = AttemptAwareUCBConfig().build(2, random.Random(0))
    for _ in range(30):
        policy.observe(0, OK, 0.0, 1)
    for _ in range(9):
        policy.observe(0, FAIL, 0.0, 1)
    for outcome in (OK, FAIL, OK, FAIL):
        policy.observe(1, outcome, 0.0, 1)
    # arm 0: mean 30/39 ≈ 0.77 with 39 pulls; arm 1: mean 0.5 with 4 pulls
    assert policy.choose(0.0, [0, 1], 1) == 1
    late = AttemptAwareUCBConfig(late_exploration=0.1).build(2, random.Random(0))
    for arm, outcome in [(0, OK)] * 30 + [(0, FAIL)] * 9 + [(1, OK), (1, FAIL)] * 2:
        late.observe(arm, outcome, 0.0, 1)
    assert late.choose(0.0, [0, 1], 4) == 0


def test_thompson_exact_choices_for_seed() -> None:
    """V4: a fixed seed and script give exactly these choices."""
    policy = ThompsonConfig().build(3, random.Random(3))
    picks = []
    for _ in range(10):
        arm = policy.choose(0.0, [0, 1, 2], 1)
        picks.append(arm)
        policy.observe(arm, OK if arm == 1 else FAIL, 0.0, 1)
    assert picks == [2, 1, 2, 0, 0, 1, 1, 1, 1, 1]


def test_variance_scaled_thompson_scales_by_attempt() -> None:
    """V5: pseudo-counts are scaled 0.5, 0.75, 1.0 on attempts 1, 2, 3 (and 1.0 after)."""
    policy = VarianceScaledThompsonConfig().build(2, random.Random(0))
    assert [policy.scale(a) for a in (1, 2, 3, 4)] == [0.5, 0.75, 1.0, 1.0]


def test_variance_scaled_thompson_explores_more_on_first_attempts() -> None:
    """V5: with a leader and an uncertain arm, first attempts pick the uncertain arm more often."""
    policy = VarianceScaledThompsonConfig(first_scale=0.05).build(2, random.Random(5))
    for _ in range(8):
        policy.observe(0, OK, 0.0, 1)
    for _ in range(2):
        policy.observe(0, FAIL, 0.0, 1)
    policy.observe(1, OK, 0.0, 1)
    policy.observe(1, FAIL, 0.0, 1)
    first = sum(policy.choose(0.0, [0, 1], 1) == 1 for _ in range(400))
    third = sum(policy.choose(0.0, [0, 1], 3) == 1 for _ in range(400))
    assert (first, third) == (185, 55)


def test_masked_thompson_masks_for_cooldown_then_unmasks() -> None:
    """V6: a 429 masks the arm for the cool-down; afterwards it can be chosen again."""
    clock = FakeClock()
    policy = MaskedThompsonConfig(cooldown=1.0).build(2, random.Random(0))
    for _ in range(20):
        policy.observe(0, OK, clock.now(), 1)
    policy.observe(0, LIMITED, clock.now(), 1)
    assert policy.unmasked(clock.now(), [0, 1]) == [1]
    assert {policy.choose(clock.now(), [0, 1], 1) for _ in range(20)} == {1}
    clock.advance(0.999)
    assert policy.choose(clock.now(), [0, 1], 1) == 1
    clock.advance(0.001)
    assert policy.unmasked(clock.now(), [0, 1]) == [0, 1]
    assert policy.choose(clock.now(), [0, 1], 1) == 0


def test_masked_thompson_honours_longer_retry_after_and_keeps_posterior() -> None:
    """V6: a Retry-After longer than the cool-down sets the mask; a 429 is not a failure."""
    policy = MaskedThompsonConfig(cooldown=1.0).build(2, random.Random(0))
    policy.observe(0, limited(3.0), 10.0, 1)
    assert policy.masked_until[0] == 13.0
    assert policy.snapshot(10.0)[0].alpha == 1.0
    assert policy.snapshot(10.0)[0].beta == 1.0
    assert policy.snapshot(10.0)[0].blocked_until == 13.0


def test_masked_thompson_all_masked_falls_back_to_all_candidates() -> None:
    """V6: when every candidate is masked it still returns a candidate."""
    policy = MaskedThompsonConfig().build(2, random.Random(0))
    policy.observe(0, LIMITED, 0.0, 1)
    policy.observe(1, LIMITED, 0.0, 1)
    assert policy.choose(0.5, [1], 1) == 1


def test_sliding_window_thompson_forgets_outside_request_window() -> None:
    """V7: only the last `window_requests` observations of an arm count."""
    policy = SlidingWindowThompsonConfig(window_requests=3).build(1, random.Random(0))
    for outcome in (OK, OK, OK, FAIL, FAIL):
        policy.observe(0, outcome, 0.0, 1)
    assert policy.window(0, 0.0) == (1, 2)


def test_sliding_window_thompson_forgets_outside_time_window() -> None:
    """V7: observations older than `window_seconds` are forgotten."""
    policy = SlidingWindowThompsonConfig(window_requests=0, window_seconds=10.0).build(
        1, random.Random(0)
    )
    policy.observe(0, OK, 0.0, 1)
    policy.observe(0, FAIL, 5.0, 1)
    assert policy.window(0, 9.0) == (1, 1)
    assert policy.window(0, 10.0) == (0, 1)
    assert policy.window(0, 15.0) == (0, 0)
    assert policy.estimate(0, 15.0) == 0.5


def test_sliding_window_thompson_switches_after_change() -> None:
    """V7: after an arm turns bad, the window forgets its good past and traffic moves."""
    policy = SlidingWindowThompsonConfig(window_requests=10).build(2, random.Random(1))
    for _ in range(50):
        policy.observe(0, OK, 0.0, 1)
    for _ in range(5):
        policy.observe(1, OK, 0.0, 1)
        policy.observe(1, FAIL, 0.0, 1)
    for _ in range(10):
        policy.observe(0, FAIL, 0.0, 1)
    # Beta(1, 11) still beats Beta(6, 6) with probability 0.6% per draw: one of 100 here
    assert sum(policy.choose(0.0, [0, 1], 1) for _ in range(100)) == 99


def test_blocking_doubles_its_block_and_resets_on_admission() -> None:
    """V8: consecutive 429s block for base·2^k; an admitted answer resets k."""
    policy = BlockingConfig(base_block=0.5).build(2, random.Random(0))
    policy.observe(0, LIMITED, 0.0, 1)
    assert policy.blocked_until[0] == 0.5
    policy.observe(0, LIMITED, 1.0, 1)
    assert policy.blocked_until[0] == 2.0
    policy.observe(0, LIMITED, 3.0, 1)
    assert policy.blocked_until[0] == 5.0
    policy.observe(0, FAIL, 6.0, 1)
    policy.observe(0, LIMITED, 7.0, 1)
    assert policy.blocked_until[0] == 7.5


def test_blocking_uses_retry_after_when_longer() -> None:
    """V8: the block lasts at least the server's Retry-After."""
    policy = BlockingConfig(base_block=0.5).build(1, random.Random(0))
    policy.observe(0, limited(4.0), 1.0, 1)
    assert policy.blocked_until[0] == 5.0


def test_blocking_avoids_blocked_arms_and_picks_soonest_when_all_blocked() -> None:
    """V8: blocked arms are skipped; if all are blocked, the one unblocked soonest is chosen."""
    policy = BlockingConfig(base_block=1.0).build(3, random.Random(0))
    policy.observe(0, LIMITED, 0.0, 1)
    assert {policy.choose(0.5, [0, 1, 2], 1) for _ in range(20)} == {1, 2}
    policy.observe(1, limited(3.0), 0.0, 1)
    policy.observe(2, limited(2.0), 0.0, 1)
    assert policy.choose(0.5, [0, 1, 2], 1) == 0
    assert policy.choose(0.5, [1, 2], 1) == 2
