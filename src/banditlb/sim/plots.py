"""PNG plots of a sweep, drawn with matplotlib's object API on the Agg canvas (no pyplot state).

- regret.png: cumulative regret against the oracle over requests (the dashboard's unit, so the
  two can be read side by side), mean over seeds with a 95% band, one subplot per tier;
- scores.png: mean score per request with 95% error bars, one subplot per tier, the oracle as a
  dashed line. Bars start at 0 and every panel shares one x axis: a truncated axis that differs
  per panel makes small gaps look large and panels impossible to compare. Each bar is labelled
  with its value and % of the oracle, so small gaps stay readable.

Each strategy has the colour `banditlb.colours` gives it, the same as on the dashboard.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from banditlb.colours import PALETTE, strategy_colour
from banditlb.models.oracle import OracleResult
from banditlb.sim.report import StrategySummary
from banditlb.sim.result import SimResult
from banditlb.sim.sweep import group

DPI = 110
_LINESTYLES = ("-", "--", ":", "-.")


def _styles(strategies: Sequence[str]) -> dict[str, tuple[str, str]]:
    """A (colour, line style) per strategy: the dashboard's colour; the style tells apart
    strategies whose colours repeat (more strategies than palette colours)."""
    return {
        name: (strategy_colour(name), _LINESTYLES[(i // len(PALETTE)) % len(_LINESTYLES)])
        for i, name in enumerate(strategies)
    }


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI)
    return path


def plot_regret(runs: Sequence[SimResult], oracles: Mapping[str, OracleResult], path: Path) -> Path:
    """regret.png: see `regret_figure`."""
    return _save(regret_figure(runs, oracles), path)


def regret_figure(runs: Sequence[SimResult], oracles: Mapping[str, OracleResult]) -> Figure:
    """Cumulative regret (oracle × requests − score) over requests per strategy, a subplot per
    tier."""
    grouped = group(runs)
    tiers = list(dict.fromkeys(tier for tier, _ in grouped))
    styles = _styles(list(dict.fromkeys(strategy for _, strategy in grouped)))
    figure = Figure(figsize=(4.5 * len(tiers) + 2.5, 4.2), layout="constrained")
    axes = figure.subplots(1, len(tiers), squeeze=False)[0]
    for ax, tier in zip(axes, tiers, strict=True):
        bound = oracles[tier].score_per_request
        for (run_tier, strategy), tier_runs in grouped.items():
            if run_tier != tier or not tier_runs[0].timeline_requests:
                continue
            requests = np.asarray(tier_runs[0].timeline_requests, dtype=float)
            regret = np.asarray(
                [bound * requests - np.asarray(r.timeline_score) for r in tier_runs]
            )
            mean = regret.mean(axis=0)
            colour, style = styles[strategy]
            ax.plot(requests, mean, color=colour, linestyle=style, label=strategy)
            if len(tier_runs) > 1:
                spread = 1.96 * regret.std(axis=0, ddof=1) / math.sqrt(len(tier_runs))
                ax.fill_between(requests, mean - spread, mean + spread, color=colour, alpha=0.15)
        ax.set_title(f"Tier {tier} (oracle {bound:.3f}/request)")
        ax.set_xlabel("requests")
        ax.set_ylabel("cumulative regret vs oracle (points)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right center", fontsize="small")
    return figure


def plot_scores(
    summaries: Mapping[str, Sequence[StrategySummary]],
    oracles: Mapping[str, OracleResult],
    path: Path,
) -> Path:
    """scores.png: see `scores_figure`."""
    return _save(scores_figure(summaries, oracles), path)


def scores_figure(
    summaries: Mapping[str, Sequence[StrategySummary]], oracles: Mapping[str, OracleResult]
) -> Figure:
    """Mean score per request with 95% error bars, best at the top; one subplot per tier."""
    tiers = list(summaries)
    count = max((len(rows) for rows in summaries.values()), default=1)
    figure = Figure(figsize=(4.8 * len(tiers), 1.4 + 0.34 * count), layout="constrained")
    axes = figure.subplots(1, len(tiers), squeeze=False, sharex=True)[0]
    styles = _styles(list(dict.fromkeys(r.strategy for rows in summaries.values() for r in rows)))
    low, high = 0.0, 1.0  # score per request: 1 is every id accepted with no penalty
    for ax, tier in zip(axes, tiers, strict=True):
        rows = sorted(summaries[tier], key=lambda r: r.mean)
        errors = [0.0 if math.isnan(r.half_width) else r.half_width for r in rows]
        ax.barh(
            range(len(rows)),
            [r.mean for r in rows],
            xerr=errors,
            capsize=2,
            color=[styles[r.strategy][0] for r in rows],
        )
        for y, row in enumerate(rows):
            share = "" if math.isnan(row.pct_oracle) else f" ({row.pct_oracle:.1f}%)"
            ax.text(
                0.99,
                y,
                f"{row.mean:.3f}{share}",
                transform=blended_transform_factory(ax.transAxes, ax.transData),
                ha="right",
                va="center",
                fontsize="x-small",
            )
        labels = [f"{r.strategy} {'★' if r.best else '≈' if r.near_best else ''}" for r in rows]
        ax.set_yticks(range(len(rows)), labels, fontsize="small")
        low = min(low, *(r.mean - e for r, e in zip(rows, errors, strict=True)))
        high = max(high, *(r.mean + e for r, e in zip(rows, errors, strict=True)))
        if tier in oracles:
            ax.axvline(oracles[tier].score_per_request, color="black", linestyle="--", linewidth=1)
        ax.set_title(f"Tier {tier}")
        ax.set_xlabel("score per request (dashed: oracle)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_xlim(low, high * 1.4)  # shared by every panel; the labels sit past the bars
    return figure


def plot_ecdf(pct_by_strategy: Mapping[str, Sequence[float]], path: Path, title: str) -> Path:
    """The empirical CDF of % of oracle per strategy over scenarios: further right is better,
    and the left tail shows the worst worlds a strategy meets."""
    styles = _styles(list(pct_by_strategy))
    figure = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = figure.subplots()
    for strategy, values in pct_by_strategy.items():
        ordered = np.sort(np.asarray(values, dtype=float))
        share = np.arange(1, len(ordered) + 1) / len(ordered)
        colour, style = styles[strategy]
        ax.step(ordered, share, where="post", color=colour, linestyle=style, label=strategy)
    ax.axvline(100.0, color="black", linestyle="--", linewidth=1)
    ax.set_title(title)
    ax.set_xlabel("% of oracle (per scenario, mean over seeds)")
    ax.set_ylabel("share of scenarios at or below")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    return _save(figure, path)
