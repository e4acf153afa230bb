"""Properties every registered strategy keeps, whatever the candidates and outcomes."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.strategies.registry import build_strategy, strategy_names

N_ARMS = 4

outcomes = st.builds(
    Outcome,
    kind=st.sampled_from(list(OutcomeKind)),
    status=st.sampled_from([200, 500, 429, None]),
    retry_after=st.one_of(st.none(), st.floats(min_value=0.0, max_value=30.0)),
    latency=st.floats(min_value=0.0, max_value=0.5),
)
steps = st.lists(
    st.tuples(
        st.sets(st.integers(0, N_ARMS - 1), min_size=1).map(sorted),  # candidates
        st.integers(1, 5),  # attempt
        outcomes,
        st.floats(min_value=0.0, max_value=3.0),  # time until the next step
    ),
    min_size=1,
    max_size=60,
)


def play(name: str, seed: int, script: list[tuple[list[int], int, Outcome, float]]) -> list[int]:
    policy = build_strategy(name, N_ARMS, random.Random(seed))
    now = 0.0
    picks = []
    for candidates, attempt, outcome, gap in script:
        arm = policy.choose(now, candidates, attempt)
        assert arm in candidates
        picks.append(arm)
        policy.observe(arm, outcome, now + outcome.latency, attempt)
        assert 0.0 <= policy.estimate(arm, now) <= 1.0
        now += gap
    snapshot = policy.snapshot(now)
    assert [s.arm for s in snapshot] == list(range(N_ARMS))
    return picks


@pytest.mark.parametrize("name", strategy_names())
@settings(max_examples=60, deadline=None)
@given(script=steps, seed=st.integers(0, 2**16))
def test_choices_stay_in_candidates_and_repeat_for_a_seed(
    name: str, script: list[tuple[list[int], int, Outcome, float]], seed: int
) -> None:
    """Any candidates and outcomes: picks are candidates, no crash, same seed → same picks."""
    assert play(name, seed, script) == play(name, seed, script)


@pytest.mark.parametrize("name", strategy_names())
def test_single_arm_is_always_chosen(name: str) -> None:
    """With one server, every choice is that server."""
    policy = build_strategy(name, 1, random.Random(0))
    for step in range(20):
        assert policy.choose(step * 0.1, [0], 1 + step % 3) == 0
        policy.observe(0, Outcome(OutcomeKind.RATE_LIMITED, 429, 0.5), step * 0.1, 1)
