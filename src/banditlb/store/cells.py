"""A strategy on a tier over several runs: the one cell type of the compare page and sweeps.

`make_cell` folds per-run numbers into a mean with its 95% half-width (`confidence.py`; None
for one run), the mean % of oracle (None unless every run has a bound), and mean penalties
and deliveries; `rank` marks each tier's best mean and orders the cells for tables.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from banditlb.confidence import t_half_width


@dataclass(frozen=True, slots=True)
class Cell:
    """One strategy on one tier over `n` runs.

    `score` is the mean score (per run on the compare page, per request in a sweep) and `ci95`
    the half-width of its 95% t-interval (None for one run); `pct_oracle` the mean of each
    run's score as % of its oracle bound (None unless every run has one); `penalised` and
    `delivered` means in the same unit as `score`; `best` marks the top mean of its tier;
    `run_ids` the runs (the compare page links them; a sweep's are too many and left empty).
    """

    strategy: str
    tier: str
    n: int
    score: float
    ci95: float | None
    pct_oracle: float | None
    penalised: float
    delivered: float
    best: bool = False
    run_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_cell(
    strategy: str,
    tier: str,
    *,
    scores: Sequence[float],
    ratios: Sequence[float],
    penalised: Iterable[float],
    delivered: Iterable[float],
    run_ids: tuple[str, ...] = (),
) -> Cell:
    """The cell of `scores` (one per run); `ratios` are the runs' % of oracle, when known."""
    half = t_half_width(scores)
    return Cell(
        strategy=strategy,
        tier=tier,
        n=len(scores),
        score=statistics.fmean(scores),
        ci95=None if math.isnan(half) else half,
        pct_oracle=statistics.fmean(ratios) if len(ratios) == len(scores) else None,
        penalised=statistics.fmean(penalised),
        delivered=statistics.fmean(delivered),
        run_ids=run_ids,
    )


def rank(cells: Iterable[Cell]) -> list[Cell]:
    """`cells` with `best` set on each tier's highest mean, by tier, best first, then name."""
    listed = list(cells)
    best: dict[str, float] = {}
    for cell in listed:
        best[cell.tier] = max(best.get(cell.tier, -math.inf), cell.score)
    return sorted(
        (dataclasses.replace(cell, best=cell.score == best[cell.tier]) for cell in listed),
        key=lambda c: (c.tier, -c.score, c.strategy),
    )
