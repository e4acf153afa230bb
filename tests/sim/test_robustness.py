"""Robustness statistics on tiny hand-made sweeps, with exact expected numbers."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from banditlb.sim.result import SimResult
from banditlb.sim.robustness import assess, choose_reference, quantile, rows, verdict


def run(
    scenario: str, strategy: str, seed: int, score: float, attempts: int = 150, limited: int = 0
) -> SimResult:
    """A 100-request run scoring `score` per request with the given attempt counts."""
    return SimResult(
        scenario=scenario,
        tier="T2",
        strategy=strategy,
        seed=seed,
        requests=100,
        rate=10.0,
        penalty=1.0,
        accepted=round(score * 100),
        attempts=attempts,
        penalised_attempts=0,
        score=score * 100,
        rate_limited=limited,
        failed=0,
        timeouts=0,
        connection_errors=0,
        duration=10.0,
        arm_names=("a",),
        arm_attempts=(attempts,),
        arm_accepted=(round(score * 100),),
        arm_rate_limited=(limited,),
    )


def sweep() -> list[SimResult]:
    """Three scenarios × two strategies × three seeds.

    A (oracle 0.8): planner 0.70/0.72/0.74 (90%), thompson 0.60/0.62/0.64 (77.5%).
    B (oracle 0.5): planner 0.40/0.41/0.42 (82%), thompson 0.45/0.46/0.47 (92%): a clear loss.
    C (oracle 1.0): planner 0.90/0.95/1.00 (95%), thompson 0.80/1.00/1.05 (95%+, noisy): no loss.
    """
    table = {
        ("A", "planner"): (0.70, 0.72, 0.74),
        ("A", "thompson"): (0.60, 0.62, 0.64),
        ("B", "planner"): (0.40, 0.41, 0.42),
        ("B", "thompson"): (0.45, 0.46, 0.47),
        ("C", "planner"): (0.90, 0.95, 1.00),
        ("C", "thompson"): (0.80, 1.00, 1.06),
    }
    limited = {"A": 3, "B": 15, "C": 0}
    return [
        run(
            scenario,
            strategy,
            seed,
            score,
            limited=limited[scenario] if strategy == "planner" else 30,
        )
        for (scenario, strategy), scores in table.items()
        for seed, score in enumerate(scores)
    ]


ORACLES = {("A", "T2"): 0.8, ("B", "T2"): 0.5, ("C", "T2"): 1.0}


def test_quantiles_interpolate_linearly() -> None:
    """p10 of 1..4 is 1.3, the median of an odd list is its middle, one value is every quantile."""
    assert quantile([4.0, 1.0, 3.0, 2.0], 0.1) == pytest.approx(1.3)
    assert quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert quantile([5.0], 0.1) == 5.0
    assert quantile([82.0, 90.0], 0.1) == pytest.approx(82.8)
    assert math.isnan(quantile([], 0.5))


def test_percent_of_oracle_per_scenario() -> None:
    """Each scenario's % of oracle is the mean score over seeds divided by its bound."""
    result = assess(sweep(), ORACLES)
    assert result.scores[("A", "T2")]["planner"].pct_oracle == pytest.approx(90.0)
    assert result.scores[("A", "T2")]["thompson"].pct_oracle == pytest.approx(77.5)
    assert result.scores[("B", "T2")]["planner"].pct_oracle == pytest.approx(82.0)
    assert result.scores[("B", "T2")]["thompson"].pct_oracle == pytest.approx(92.0)
    assert result.scores[("C", "T2")]["thompson"].pct_oracle == pytest.approx(95.3333333)


def test_spreads_per_strategy() -> None:
    """min, p10, median, mean and scenarios won per strategy over the three scenarios."""
    result = assess(sweep(), ORACLES)
    planner, thompson = result.spread("planner"), result.spread("thompson")
    assert (planner.minimum, planner.median, planner.best_in) == (
        pytest.approx(82.0),
        pytest.approx(90.0),
        1,
    )
    assert planner.p10 == pytest.approx(82.0 + 0.2 * 8.0)  # h = 0.2 between 82 and 90
    assert planner.mean == pytest.approx((90.0 + 82.0 + 95.0) / 3)
    assert thompson.minimum == pytest.approx(77.5)
    assert thompson.p10 == pytest.approx(77.5 + 0.2 * (92.0 - 77.5))
    assert thompson.median == pytest.approx(92.0)
    assert thompson.best_in == 2


def test_significant_losses_use_welch() -> None:
    """B is a loss with Welch's p from t = 0.05 / sqrt(2 * 0.0001 / 3), 4 dof; C is not."""
    result = assess(sweep(), ORACLES)
    assert [(loss.scenario, loss.winner) for loss in result.losses] == [("B", "thompson")]
    t = 0.05 / math.sqrt(2 * 0.0001 / 3)
    assert result.losses[0].p_value == pytest.approx(2 * stats.t.sf(t, 4), rel=1e-6)
    assert result.losses[0].p_value < 0.05
    assert "in 1 of 3 scenarios" in verdict(result)


def test_rate_limited_share_is_pooled_and_maximised_for_the_reference() -> None:
    """The reference's 429 share is 429s over attempts pooled over seeds; its max is B's 10%."""
    result = assess(sweep(), ORACLES)
    assert result.scores[("A", "T2")]["planner"].rate_limited_share == pytest.approx(0.02)
    assert result.worst_rate_limited() == (("B", "T2"), pytest.approx(0.10))
    assert result.spread("thompson").max_rate_limited_share == pytest.approx(0.2)
    assert "at most 10.0% of its attempts (B T2)" in verdict(result)


def test_reference_defaults_to_the_planner_else_the_first() -> None:
    """The planner is the reference when swept; otherwise the first strategy, unless named."""
    assert choose_reference(("thompson", "planner")) == "planner"
    assert choose_reference(("thompson", "blocking")) == "thompson"
    assert choose_reference(("thompson", "planner"), "thompson") == "thompson"
    result = assess(sweep(), ORACLES, reference="thompson")
    assert [(loss.scenario, loss.winner) for loss in result.losses] == [("A", "planner")]


def test_missing_runs_and_flat_rows() -> None:
    """A strategy missing from a scenario is an error; rows are scenario × strategy."""
    runs = sweep()
    with pytest.raises(ValueError, match="no runs of thompson"):
        assess([r for r in runs if not (r.scenario == "C" and r.strategy == "thompson")], ORACLES)
    flat = rows(assess(runs, ORACLES))
    assert len(flat) == 6
    assert flat[0]["scenario"] == "A"
    assert flat[0]["seeds"] == 3
