"""The simulator's PNGs: the dashboard's colour per strategy, regret over requests (the
dashboard's unit), and score panels that share one x axis starting at 0."""

from __future__ import annotations

import pytest
from matplotlib.colors import to_hex

from banditlb.colours import strategy_colour
from banditlb.game.router import RetryRules
from banditlb.sim import report
from banditlb.sim.plots import regret_figure, scores_figure
from banditlb.sim.sweep import SweepResult, SweepSpec, run_sweep
from banditlb.sim.world import resolve_scenario

Swept = tuple[SweepResult, dict[str, list[report.StrategySummary]]]


@pytest.fixture(scope="module")
def sweep() -> Swept:
    spec = SweepSpec(
        scenario=resolve_scenario("default"),
        strategies=("random", "thompson"),
        tiers=("T1", "T2"),
        seeds=(0, 1),
        requests=200,
        rules=RetryRules(),
    )
    result = run_sweep(spec, jobs=1)
    return result, report.summarize(result.runs, result.oracles)


def test_regret_lines_use_requests_and_the_dashboard_colours(sweep: Swept) -> None:
    """Each regret line runs over requests (up to 200) in its strategy's shared colour."""
    result, _ = sweep
    figure = regret_figure(result.runs, result.oracles)
    for ax in figure.axes:
        assert ax.get_xlabel() == "requests"
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert sorted(lines) == ["random", "thompson"]
        for name, line in lines.items():
            assert to_hex(line.get_color()) == strategy_colour(name)
            assert max(line.get_xdata()) == 200


def test_score_panels_share_an_axis_from_zero_in_the_dashboard_colours(sweep: Swept) -> None:
    """Every tier's panel has the same x range, starting at 0 and reaching past 1."""
    result, summaries = sweep
    figure = scores_figure(summaries, result.oracles)
    ranges = {ax.get_xlim() for ax in figure.axes}
    assert len(ranges) == 1
    ((low, high),) = ranges
    assert low == 0.0
    assert high > 1.0
    for ax, tier in zip(figure.axes, summaries, strict=True):
        rows = sorted(summaries[tier], key=lambda r: r.mean)
        colours = [to_hex(bar.get_facecolor()) for bar in ax.patches]
        assert colours == [strategy_colour(r.strategy) for r in rows]
        texts = [t.get_text() for t in ax.texts]
        assert texts == [f"{r.mean:.3f} ({r.pct_oracle:.1f}%)" for r in rows]
