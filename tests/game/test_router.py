"""The retry rules: free attempts, the penalty rule and Retry-After."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome, OutcomeKind, outcome_for_status
from banditlb.game.router import (
    DEFAULT_MAX_HOLD,
    RetryRules,
    Router,
    StopReason,
    hold_delay,
)
from banditlb.testing import FakeClock, ScriptedStrategy

FAILED = outcome_for_status(500)
OK = outcome_for_status(200)


def play(router: Router, outcomes: list[Outcome], clock: FakeClock) -> tuple[list[int], StopReason]:
    """Drive one request, answering attempts from `outcomes` in order; return arms and stop."""
    route = router.start()
    arms: list[int] = []
    answers = iter(outcomes)
    while (arm := route.next_arm(clock.now())) is not None:
        arms.append(arm)
        route.record(arm, next(answers), clock.now())
        clock.advance(0.01)
    assert route.stop is not None
    return arms, route.stop


def test_never_a_fourth_attempt_at_penalty_one() -> None:
    """With penalty 1 the router stops after three failures even when the estimate is 1.0."""
    strategy = ScriptedStrategy(2, estimates=[1.0, 1.0])
    router = Router(strategy, 2, RetryRules(penalty=1.0))
    arms, stop = play(router, [FAILED] * 10, FakeClock())
    assert arms == [0, 0, 0]
    assert stop is StopReason.FREE_ATTEMPTS_USED


def test_fourth_attempt_when_penalty_small_and_estimate_high() -> None:
    """With penalty 0.1 and an estimate of 0.9 the router goes on to a 4th and 5th attempt."""
    strategy = ScriptedStrategy(2, picks=[1, 1, 1, 1, 1], estimates=[0.05, 0.9])
    router = Router(strategy, 2, RetryRules(penalty=0.1, max_attempts=5))
    arms, stop = play(router, [FAILED] * 10, FakeClock())
    assert arms == [1, 1, 1, 1, 1]
    assert stop is StopReason.MAX_ATTEMPTS


def test_no_fourth_attempt_when_estimate_below_penalty() -> None:
    """A 4th attempt is refused when the chosen arm's estimate does not beat the penalty."""
    strategy = ScriptedStrategy(1, estimates=[0.3])
    router = Router(strategy, 1, RetryRules(penalty=0.3))
    arms, stop = play(router, [FAILED] * 10, FakeClock())
    assert arms == [0, 0, 0]
    assert stop is StopReason.FREE_ATTEMPTS_USED


def test_delivery_stops_the_request() -> None:
    """An accepted attempt ends the request with DELIVERED."""
    router = Router(ScriptedStrategy(3, picks=[2, 1]), 3)
    arms, stop = play(router, [FAILED, OK], FakeClock())
    assert arms == [2, 1]
    assert stop is StopReason.DELIVERED


def test_retry_after_excludes_the_server_until_it_passes() -> None:
    """A 429 with Retry-After 1.5 s keeps that arm out of the candidates until 1.5 s later."""
    clock = FakeClock()
    strategy = ScriptedStrategy(2)
    router = Router(strategy, 2)
    limited = Outcome(OutcomeKind.RATE_LIMITED, 429, retry_after=1.5)
    route = router.start()
    assert route.next_arm(clock.now()) == 0
    route.record(0, limited, clock.now())
    assert router.candidates(1.49) == [1]
    assert route.next_arm(1.0) == 1
    assert strategy.offered[-1] == [1]
    assert router.candidates(1.5) == [0, 1]


def test_no_server_available_stops_before_any_attempt() -> None:
    """When every arm is inside a Retry-After the request stops with NO_SERVER and 0 attempts."""
    router = Router(ScriptedStrategy(1), 1)
    router.observe(0, Outcome(OutcomeKind.RATE_LIMITED, 429, retry_after=5.0), 0.0, 1)
    route = router.start()
    assert route.next_arm(1.0) is None
    assert route.stop is StopReason.NO_SERVER
    assert route.attempts == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"free_attempts": 0}, "--free-attempts must be in 1..100"),
        ({"penalty": -1.0}, r"--penalty must be a number in \[0, 1e\+06\]"),
        ({"max_attempts": 2}, "max_attempts (2) must be >= free_attempts (3)"),
        ({"max_hold": float("nan")}, "--max-hold must be from 0 to 60 seconds"),
        ({"max_hold": -1.0}, "--max-hold must be from 0 to 60 seconds"),
    ],
)
def test_bad_rules_are_rejected(kwargs: dict[str, float], message: str) -> None:
    """Each impossible retry rule raises ConfigError naming the rule."""
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RetryRules(**kwargs)  # type: ignore[arg-type]


class _Holding(ScriptedStrategy):
    """A scripted strategy that asks every attempt to wait `wanted` seconds."""

    def __init__(self, wanted: float) -> None:
        super().__init__(2, [0])
        self.wanted = wanted

    def hold(self, now: float, candidates: Sequence[int], attempt: int) -> float:
        return self.wanted


def test_hold_delay_stays_within_the_request_budget() -> None:
    """A wait is cut at `max_hold` seconds after arrival, and is 0 once that budget is spent."""
    assert hold_delay(0.3, now=10.0, arrived=10.0, max_hold=1.0) == 0.3
    assert hold_delay(0.8, now=10.5, arrived=10.0, max_hold=1.0) == pytest.approx(0.5)
    assert hold_delay(0.8, now=11.0, arrived=10.0, max_hold=1.0) == 0.0
    assert hold_delay(0.0, now=10.0, arrived=10.0, max_hold=1.0) == 0.0


def test_route_holds_only_for_pacing_strategies() -> None:
    """A strategy without `hold` never waits; a pacing one waits what it asks, within budget."""
    plain = Router(ScriptedStrategy(2, [0]), 2).start()
    assert plain.hold(0.0, arrived=0.0) == 0.0
    pacing = Router(_Holding(wanted=0.4), 2, RetryRules(max_hold=1.0)).start()
    assert pacing.hold(0.0, arrived=0.0) == pytest.approx(0.4)
    assert pacing.hold(0.8, arrived=0.0) == pytest.approx(0.2)
    off = Router(_Holding(wanted=0.4), 2, RetryRules(max_hold=0.0)).start()
    assert off.hold(0.0, arrived=0.0) == 0.0


def test_by_default_a_pacing_strategy_may_hold_a_request_for_four_seconds() -> None:
    """The default budget is 4 s (waiting for a limited server beats burning an attempt on a
    429, `DEFAULT_MAX_HOLD`): a 3 s wait is granted whole, a 5 s one is cut at 4 s."""
    assert RetryRules().max_hold == DEFAULT_MAX_HOLD == 4.0
    assert Router(_Holding(wanted=3.0), 2).start().hold(0.0, arrived=0.0) == pytest.approx(3.0)
    assert Router(_Holding(wanted=5.0), 2).start().hold(1.0, arrived=0.0) == pytest.approx(3.0)


def test_a_delivered_request_never_holds() -> None:
    """Once delivered, the route stops: no wait is asked for."""
    route = Router(_Holding(wanted=0.4), 2).start()
    route.record(0, OK, 0.0)
    assert route.hold(0.1, arrived=0.0) == 0.0
