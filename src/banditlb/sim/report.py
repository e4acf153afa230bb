"""Sweep summaries: mean score with a 95% t-interval, % of oracle, the best strategy and its ties.

Over seeds, a strategy's mean score per request gets a 95% confidence interval from the
t-distribution (n − 1 degrees of freedom). The best strategy of a tier has the highest mean;
another is "≈ best" when Welch's t-test cannot tell it from the best (p >= 0.05).
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.table import Table

from banditlb.confidence import SIGNIFICANCE, t_half_width, welch_p
from banditlb.models.oracle import OracleResult
from banditlb.sim.result import SimResult
from banditlb.sim.sweep import group


@dataclass(frozen=True, slots=True)
class StrategySummary:
    """One strategy on one tier, over its seeds."""

    tier: str
    strategy: str
    runs: int
    mean: float
    half_width: float  # of the 95% interval; nan with one seed
    pct_oracle: float
    penalised_per_request: float
    rate_limited_share: float
    timeouts_per_request: float
    p_vs_best: float  # Welch's p-value against the best (1.0 for the best itself)
    best: bool
    near_best: bool

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def as_row(self) -> dict[str, str | float | int | bool]:
        return {
            "tier": self.tier,
            "strategy": self.strategy,
            "runs": self.runs,
            "mean_score_per_request": self.mean,
            "ci95_low": self.low,
            "ci95_high": self.high,
            "pct_oracle": self.pct_oracle,
            "penalised_per_request": self.penalised_per_request,
            "rate_limited_share": self.rate_limited_share,
            "timeouts_per_request": self.timeouts_per_request,
            "p_vs_best": self.p_vs_best,
            "best": self.best,
            "near_best": self.near_best,
        }


def summarize(
    runs: Sequence[SimResult], oracles: Mapping[str, OracleResult]
) -> dict[str, list[StrategySummary]]:
    """Per tier (in run order), one summary per strategy (in run order)."""
    grouped = group(runs)
    scores = {key: [r.score_per_request for r in rs] for key, rs in grouped.items()}
    tiers = list(dict.fromkeys(tier for tier, _ in grouped))
    out: dict[str, list[StrategySummary]] = {}
    for tier in tiers:
        keys = [key for key in grouped if key[0] == tier]
        best_key = max(keys, key=lambda k: statistics.fmean(scores[k]))
        bound = oracles[tier].score_per_request if tier in oracles else math.nan
        rows: list[StrategySummary] = []
        for key in keys:
            values = scores[key]
            tier_runs = grouped[key]
            mean = statistics.fmean(values)
            p_value = 1.0 if key == best_key else welch_p(values, scores[best_key])
            rows.append(
                StrategySummary(
                    tier=tier,
                    strategy=key[1],
                    runs=len(values),
                    mean=mean,
                    half_width=t_half_width(values),
                    pct_oracle=100.0 * mean / bound if bound > 0 else math.nan,
                    penalised_per_request=statistics.fmean(
                        r.penalised_per_request for r in tier_runs
                    ),
                    rate_limited_share=statistics.fmean(r.rate_limited_share for r in tier_runs),
                    timeouts_per_request=statistics.fmean(
                        r.timeouts / r.requests for r in tier_runs
                    ),
                    p_vs_best=p_value,
                    best=key == best_key,
                    near_best=key != best_key and p_value >= SIGNIFICANCE,
                )
            )
        out[tier] = rows
    return out


def tier_table(tier: str, rows: Sequence[StrategySummary], oracle: OracleResult | None) -> Table:
    """A rich table for one tier, best first; the best is marked ★ and its statistical ties ≈."""
    seeds = max((row.runs for row in rows), default=0)
    bound = f", oracle {oracle.score_per_request:.4f}/request" if oracle else ""
    seeds_text = f"{seeds} seed" if seeds == 1 else f"{seeds} seeds"
    table = Table(title=f"Tier {tier} ({seeds_text}{bound})", box=box.SIMPLE_HEAD)
    table.add_column("strategy")
    for column in ("score/req", "95% CI", "% oracle", "paid/req", "429s", "p vs best", ""):
        table.add_column(column, justify="right", no_wrap=True)
    for row in sorted(rows, key=lambda r: -r.mean):
        mark = "★ best" if row.best else "≈ best" if row.near_best else ""
        interval = "-" if math.isnan(row.half_width) else f"±{row.half_width:.4f}"
        table.add_row(
            row.strategy,
            f"{row.mean:.4f}",
            interval,
            f"{row.pct_oracle:.1f}%",
            f"{row.penalised_per_request:.3f}",
            f"{row.rate_limited_share:.1%}",
            "-" if row.best else "n/a" if math.isnan(row.p_vs_best) else f"{row.p_vs_best:.2g}",
            mark,
            style="bold green" if row.best else "green" if row.near_best else None,
        )
    return table


def write_runs(runs: Sequence[SimResult], out_dir: Path) -> list[Path]:
    """Per-run rows to runs.csv, and runs.parquet when pyarrow is installed."""
    rows = [run.as_row() for run in runs]
    written = [_write_csv(rows, out_dir / "runs.csv")]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency, but optional here
        return written
    path = out_dir / "runs.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    written.append(path)
    return written


def write_summary(summaries: Mapping[str, Sequence[StrategySummary]], out_dir: Path) -> Path:
    """The per-tier, per-strategy summary to summary.csv."""
    rows = [row.as_row() for rows in summaries.values() for row in rows]
    return _write_csv(rows, out_dir / "summary.csv")


def _write_csv(rows: Sequence[Mapping[str, object]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
    return path
