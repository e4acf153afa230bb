"""PNG plots of a sweep, drawn with matplotlib's object API on the Agg canvas (no pyplot state).

- regret.png: cumulative regret against the oracle over virtual time, mean over seeds with a
  95% band, one subplot per tier;
- scores.png: mean score per request with 95% error bars, one subplot per tier, the oracle as a
  dashed line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from banditlb.oracle import OracleResult
from banditlb.sim.report import StrategySummary
from banditlb.sim.result import SimResult
from banditlb.sim.sweep import group

DPI = 110
_LINESTYLES = ("-", "--", ":", "-.")


def _styles(strategies: Sequence[str]) -> dict[str, tuple[tuple[float, ...], str]]:
    """A distinct (colour, line style) per strategy, stable across the two plots."""
    palette = colormaps["tab20"] if len(strategies) > 10 else colormaps["tab10"]
    return {
        name: (tuple(palette(i % palette.N)), _LINESTYLES[(i // palette.N) % len(_LINESTYLES)])
        for i, name in enumerate(strategies)
    }


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI)
    return path


def plot_regret(runs: Sequence[SimResult], oracles: Mapping[str, OracleResult], path: Path) -> Path:
    """Cumulative regret (oracle × requests − score) over time per strategy, a subplot per tier."""
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
            seconds = requests / tier_runs[0].rate
            mean = regret.mean(axis=0)
            colour, style = styles[strategy]
            ax.plot(seconds, mean, color=colour, linestyle=style, label=strategy)
            if len(tier_runs) > 1:
                spread = 1.96 * regret.std(axis=0, ddof=1) / math.sqrt(len(tier_runs))
                ax.fill_between(seconds, mean - spread, mean + spread, color=colour, alpha=0.15)
        ax.set_title(f"Tier {tier} (oracle {bound:.3f}/request)")
        ax.set_xlabel("virtual time (s)")
        ax.set_ylabel("cumulative regret vs oracle (points)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right center", fontsize="small")
    return _save(figure, path)


def plot_scores(
    summaries: Mapping[str, Sequence[StrategySummary]],
    oracles: Mapping[str, OracleResult],
    path: Path,
) -> Path:
    """Mean score per request with 95% error bars, best at the top; one subplot per tier."""
    tiers = list(summaries)
    count = max((len(rows) for rows in summaries.values()), default=1)
    figure = Figure(figsize=(4.5 * len(tiers), 1.2 + 0.32 * count), layout="constrained")
    axes = figure.subplots(1, len(tiers), squeeze=False)[0]
    styles = _styles(list(dict.fromkeys(r.strategy for rows in summaries.values() for r in rows)))
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
        labels = [f"{r.strategy} {'★' if r.best else '≈' if r.near_best else ''}" for r in rows]
        ax.set_yticks(range(len(rows)), labels, fontsize="small")
        low = min(r.mean - e for r, e in zip(rows, errors, strict=True))
        high = max(r.mean + e for r, e in zip(rows, errors, strict=True))
        if tier in oracles:
            bound = oracles[tier].score_per_request
            ax.axvline(bound, color="black", linestyle="--", linewidth=1, label="oracle")
            high = max(high, bound)
        margin = 0.05 * max(high - low, 0.01)
        ax.set_xlim(low - margin, high + margin)
        ax.set_title(f"Tier {tier}")
        ax.set_xlabel("score per request (dashed: oracle)")
        ax.grid(axis="x", alpha=0.3)
    return _save(figure, path)


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
