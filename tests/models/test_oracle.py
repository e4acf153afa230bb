"""The oracle's LP bound: hand-computable cases and the built-in scenario."""

from __future__ import annotations

import math

import pytest

from banditlb.errors import ConfigError
from banditlb.models.oracle import oracle_bound, solve_lp
from banditlb.models.scenario import loads
from banditlb.scenarios.files import load

INF = math.inf


def test_no_limits_sends_every_attempt_to_the_best_server() -> None:
    """Unlimited servers: the bound is 1 − (1 − p*)³ with p* the best p, all on that server."""
    solution = solve_lp([0.5, 0.8, 0.3], [INF, INF, INF], rate=10.0)
    assert solution.per_request == pytest.approx(1 - 0.2**3, abs=1e-9)
    assert solution.x[1] == pytest.approx((10.0, 2.0, 0.4), abs=1e-9)
    assert solution.attempts(0) == solution.attempts(2) == pytest.approx(0.0, abs=1e-9)


def test_capacity_limited_best_server_is_kept_for_last_attempts() -> None:
    """A p=.9 cap 5/s, B p=.5 unlimited, λ=10/s: the optimum is 119/12 accepted per second.

    Greedy (A first up to 5/s, B after) gets 4.5 + 2.5, then 1.5, then .75: 9.25/s. Better: all
    first attempts to B (5/s fail), y of the 5 second attempts to A and 5 − y to B, then every
    third attempt (2.5 − .4y/s) to A. A's capacity: y + 2.5 − .4y <= 5, so y = 25/6. Failures
    left: .1 · (2.5 − .4 · 25/6) = 1/12, so 10 − 1/12 = 119/12 ≈ 9.9167/s, 0.99167 per request.
    """
    solution = solve_lp([0.9, 0.5], [5.0, INF], rate=10.0)
    assert solution.value == pytest.approx(119 / 12, abs=1e-6)
    assert solution.per_request == pytest.approx(119 / 120, abs=1e-6)
    assert solution.attempts(0) == pytest.approx(5.0, abs=1e-6)
    assert solution.x[1][0] == pytest.approx(10.0, abs=1e-6)


def test_penalty_below_one_allows_paid_attempts() -> None:
    """Penalty .25, p=.5, 5 attempts: 1 − .5⁵ accepted minus .25 · (.5³ + .5⁴) paid = .921875."""
    solution = solve_lp([0.5], [INF], rate=1.0, penalty=0.25, max_attempts=5)
    assert solution.per_request == pytest.approx(0.921875, abs=1e-9)
    assert len(solution.x[0]) == 5
    assert solve_lp([0.5], [INF], rate=1.0, penalty=1.0).per_request == pytest.approx(0.875)


def test_penalty_above_the_gain_stops_at_free_attempts() -> None:
    """Penalty .6 > p=.5: paid attempts lose points, so the LP makes none."""
    solution = solve_lp([0.5], [INF], rate=1.0, penalty=0.6, max_attempts=5)
    assert solution.per_request == pytest.approx(0.875, abs=1e-9)
    assert solution.x[0][3:] == pytest.approx((0.0, 0.0), abs=1e-9)


def test_too_little_capacity_caps_the_bound() -> None:
    """Total capacity 4/s of p=1 servers for λ=10/s: at most 0.4 per request."""
    solution = solve_lp([1.0, 1.0], [1.0, 3.0], rate=10.0)
    assert solution.per_request == pytest.approx(0.4, abs=1e-9)


def test_default_scenario_bounds() -> None:
    """Built-in T1 is 1 − .1³; T2 and T3 come from capacities (T3 averaged over 1,000 slices)."""
    t1 = oracle_bound(load("default"), "T1")
    assert t1.score_per_request == pytest.approx(0.999, abs=1e-9)
    assert len(t1.slice_values) == 1000
    t2 = oracle_bound(load("default"), "T2")
    assert t2.score_per_request == pytest.approx(0.9927719298, abs=1e-9)
    t3 = oracle_bound(load("default"), "T3", horizon=100.0)
    assert t3.score_per_request == pytest.approx(0.9950135791, abs=1e-9)
    assert len(t3.slice_values) == 100
    assert min(t3.slice_values) < max(t3.slice_values)


def test_unknown_tier_is_a_config_error() -> None:
    """A tier the scenario lacks is named in the error."""
    with pytest.raises(ConfigError, match="unknown tier 'T7'"):
        oracle_bound(load("default"), "T7")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"penalty": -1.0}, "penalty must be a finite number >= 0, got -1.0"),
        ({"penalty": math.nan}, "penalty must be a finite number >= 0, got nan"),
        ({"rate": math.inf}, "rate must be a finite number > 0 requests/s, got inf"),
        ({"horizon": math.nan}, "horizon must be a finite number > 0 s, got nan"),
        ({"max_attempts": 2}, r"need 1 <= free_attempts \(3\) <= max_attempts \(2\)"),
    ],
)
def test_bad_bound_parameters_are_config_errors(kwargs: dict[str, float], message: str) -> None:
    """A negative or non-finite penalty, rate or horizon is refused, naming the value."""
    with pytest.raises(ConfigError, match=message):
        oracle_bound(load("default"), "T2", **kwargs)  # type: ignore[arg-type]


def test_oracle_cli_refuses_a_negative_penalty(capsys: pytest.CaptureFixture[str]) -> None:
    """`banditlb oracle --penalty -1` is one error line and exit status 2, not a bound."""
    from banditlb.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(["oracle", "--tier", "T2", "--penalty", "-1"])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == "error: penalty must be a finite number >= 0, got -1.0\n"
    assert "at most" not in captured.out


def test_drifting_error_rate_is_solved_per_slice() -> None:
    """Error 0.5 ± 0.5 over 4 s, unlimited: slices score 1 − e³ for e = 0.5, 1, 0.5, 0."""
    world = loads(
        'name = "drift"\n[[servers]]\nname = "a"\ntier = "X"\nport = 4000\nerror_rate = 0.5\n'
        "error_drift = { amplitude = 0.5, period = 4.0 }\n"
    )
    bound = oracle_bound(world, "X", horizon=4.0)
    assert bound.slice_values == pytest.approx((0.875, 0.0, 0.875, 1.0))
    assert bound.score_per_request == pytest.approx(0.6875)
