"""How strategies fare across many scenarios: % of oracle per scenario, its spread, and losses.

A *scenario* here is one tier of one scenario (e.g. T3 of `random-1007`). Per scenario and
strategy: the mean score per request over the sim seeds, as a % of that scenario's oracle
bound, and the share of 429s among all the strategy's attempts there (pooled over seeds).
Per strategy over scenarios: min, p10, median and mean of % of oracle, and how many scenarios
it was best in. For the *reference* strategy (the planner when swept, else the first one):
the largest 429 share, and every scenario it loses significantly to the best other strategy
(that strategy's mean is higher and Welch's two-sided p < 0.05 over the seeds).

Percentiles interpolate linearly between order statistics (numpy's default, "type 7"):
p10 of [a0 <= ... <= a(n-1)] is a(h) with h = 0.1 (n − 1), interpolated between neighbours.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich import box
from rich.table import Table

from banditlb.confidence import SIGNIFICANCE, welch_p
from banditlb.sim.result import SimResult

PREFERRED_REFERENCE = "planner"
Key = tuple[str, str]
"""(scenario name, tier)."""


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile with linear interpolation between order statistics (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


@dataclass(frozen=True, slots=True)
class ScenarioScore:
    """One strategy on one scenario, over its seeds."""

    scenario: str
    tier: str
    strategy: str
    scores: tuple[float, ...]  # score per request, one per seed
    oracle: float
    rate_limited_share: float

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores)

    @property
    def pct_oracle(self) -> float:
        return 100.0 * self.mean / self.oracle if self.oracle > 0 else math.nan


@dataclass(frozen=True, slots=True)
class StrategySpread:
    """One strategy's % of oracle over all scenarios."""

    strategy: str
    scenarios: int
    minimum: float
    p10: float
    median: float
    mean: float
    best_in: int
    max_rate_limited_share: float


@dataclass(frozen=True, slots=True)
class Loss:
    """A scenario where the reference is significantly below the best other strategy."""

    scenario: str
    tier: str
    winner: str
    reference_pct: float
    winner_pct: float
    p_value: float


@dataclass(frozen=True, slots=True)
class Robustness:
    """Everything the robustness summary prints."""

    reference: str
    strategies: tuple[str, ...]
    scores: Mapping[Key, Mapping[str, ScenarioScore]]
    spreads: tuple[StrategySpread, ...]
    losses: tuple[Loss, ...]

    def spread(self, strategy: str) -> StrategySpread:
        return next(s for s in self.spreads if s.strategy == strategy)

    def worst_rate_limited(self) -> tuple[Key, float]:
        """The reference's largest 429 share and where."""
        key = max(self.scores, key=lambda k: self.scores[k][self.reference].rate_limited_share)
        return key, self.scores[key][self.reference].rate_limited_share


def choose_reference(strategies: Sequence[str], reference: str | None = None) -> str:
    """The given reference, else the planner when swept, else the first strategy."""
    if reference is not None:
        return reference
    return PREFERRED_REFERENCE if PREFERRED_REFERENCE in strategies else strategies[0]


def assess(
    runs: Sequence[SimResult],
    oracles: Mapping[Key, float],
    *,
    reference: str | None = None,
) -> Robustness:
    """Per-scenario scores, per-strategy spreads and the reference's significant losses.

    `oracles` maps (scenario, tier) to the bound per request. Every strategy must have run on
    every scenario (a sweep does); scenarios keep first-seen order.
    """
    grouped: dict[Key, dict[str, list[SimResult]]] = {}
    for run in runs:
        grouped.setdefault((run.scenario, run.tier), {}).setdefault(run.strategy, []).append(run)
    strategies = tuple(dict.fromkeys(run.strategy for run in runs))
    if not strategies:
        raise ValueError("no runs to assess")
    ref = choose_reference(strategies, reference)
    scores: dict[Key, dict[str, ScenarioScore]] = {}
    for key, by_strategy in grouped.items():
        if set(by_strategy) != set(strategies):
            missing = sorted(set(strategies) - set(by_strategy))
            raise ValueError(f"{key[0]} {key[1]}: no runs of {', '.join(missing)}")
        scores[key] = {
            name: ScenarioScore(
                scenario=key[0],
                tier=key[1],
                strategy=name,
                scores=tuple(r.score_per_request for r in by_strategy[name]),
                oracle=oracles[key],
                rate_limited_share=_pooled_429s(by_strategy[name]),
            )
            for name in strategies
        }
    best_counts = dict.fromkeys(strategies, 0)
    losses: list[Loss] = []
    for key, row in scores.items():
        best_counts[max(strategies, key=lambda s: row[s].mean)] += 1
        if len(strategies) < 2:
            continue
        mine = row[ref]
        winner = max((s for s in strategies if s != ref), key=lambda s: row[s].mean)
        theirs = row[winner]
        if theirs.mean > mine.mean:
            p_value = welch_p(mine.scores, theirs.scores)
            if p_value < SIGNIFICANCE:
                losses.append(
                    Loss(key[0], key[1], winner, mine.pct_oracle, theirs.pct_oracle, p_value)
                )
    spreads = []
    for name in strategies:
        pcts = [row[name].pct_oracle for row in scores.values()]
        spreads.append(
            StrategySpread(
                strategy=name,
                scenarios=len(pcts),
                minimum=min(pcts),
                p10=quantile(pcts, 0.1),
                median=quantile(pcts, 0.5),
                mean=statistics.fmean(pcts),
                best_in=best_counts[name],
                max_rate_limited_share=max(row[name].rate_limited_share for row in scores.values()),
            )
        )
    return Robustness(ref, strategies, scores, tuple(spreads), tuple(losses))


def _pooled_429s(runs: Sequence[SimResult]) -> float:
    attempts = sum(r.attempts for r in runs)
    return sum(r.rate_limited for r in runs) / attempts if attempts else 0.0


def spread_table(result: Robustness, title: str) -> Table:
    """Per strategy: % of oracle min / p10 / median / mean, scenarios won, worst 429 share."""
    table = Table(title=title, box=box.SIMPLE_HEAD)
    table.add_column("strategy")
    for column in ("min", "p10", "median", "mean", "best in", "max 429s"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in sorted(result.spreads, key=lambda s: -s.median):
        table.add_row(
            row.strategy + (" (reference)" if row.strategy == result.reference else ""),
            f"{row.minimum:.1f}%",
            f"{row.p10:.1f}%",
            f"{row.median:.1f}%",
            f"{row.mean:.1f}%",
            f"{row.best_in}/{row.scenarios}",
            f"{row.max_rate_limited_share:.1%}",
            style="bold" if row.strategy == result.reference else None,
        )
    return table


def scenario_table(result: Robustness) -> Table:
    """One row per scenario: the oracle, each strategy's % of oracle (best ★), the verdict."""
    table = Table(title="% of oracle per scenario", box=box.SIMPLE_HEAD)
    table.add_column("scenario")
    table.add_column("tier")
    table.add_column("oracle", justify="right")
    for name in result.strategies:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column(f"{result.reference} 429s", justify="right")
    table.add_column("")
    lost = {(loss.scenario, loss.tier) for loss in result.losses}
    for key, row in result.scores.items():
        best = max(result.strategies, key=lambda s: row[s].mean)
        cells = [
            f"{row[name].pct_oracle:.1f}%" + ("★" if name == best else "")
            for name in result.strategies
        ]
        table.add_row(
            key[0],
            key[1],
            f"{row[result.reference].oracle:.3f}",
            *cells,
            f"{row[result.reference].rate_limited_share:.1%}",
            "loses" if key in lost else "",
            style="red" if key in lost else None,
        )
    return table


def verdict(result: Robustness) -> str:
    """One paragraph: the reference's losses and its worst 429 share."""
    total = len(result.scores)
    (scenario, tier), share = result.worst_rate_limited()
    lines = [
        f"{result.reference} loses significantly (Welch p < {SIGNIFICANCE}) to the best other "
        f"strategy in {len(result.losses)} of {total} scenarios",
        f"{result.reference}'s 429s: at most {share:.1%} of its attempts ({scenario} {tier})",
    ]
    for loss in result.losses[:10]:
        lines.append(
            f"  {loss.scenario} {loss.tier}: {loss.reference_pct:.1f}% vs {loss.winner} "
            f"{loss.winner_pct:.1f}% (p = {loss.p_value:.2g})"
        )
    if len(result.losses) > 10:
        lines.append(f"  ... and {len(result.losses) - 10} more")
    return "\n".join(lines)


def rows(result: Robustness) -> list[dict[str, str | float | int]]:
    """Flat rows (scenario × strategy) for robustness.csv."""
    return [
        {
            "scenario": score.scenario,
            "tier": score.tier,
            "strategy": score.strategy,
            "seeds": len(score.scores),
            "mean_score_per_request": score.mean,
            "oracle_per_request": score.oracle,
            "pct_oracle": score.pct_oracle,
            "rate_limited_share": score.rate_limited_share,
        }
        for row in result.scores.values()
        for score in row.values()
    ]
