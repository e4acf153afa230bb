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
from typing import Any, Protocol

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


class RunTotals(Protocol):
    """What a cell averages of one run: its totals, requests and oracle bound (None: unknown)."""

    @property
    def run_id(self) -> str: ...
    @property
    def requests(self) -> float: ...
    @property
    def score(self) -> float: ...
    @property
    def penalised(self) -> float: ...
    @property
    def delivered(self) -> float: ...
    @property
    def oracle(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class RunNumbers:
    """The plain `RunTotals` of one stored run."""

    run_id: str
    requests: float
    score: float
    penalised: float
    delivered: float
    oracle: float | None


def make_cell(
    strategy: str,
    tier: str,
    runs: Sequence[RunTotals],
    *,
    per_request: bool = False,
    list_runs: bool = False,
) -> Cell:
    """The cell of `runs`: whole-run numbers, or per client request with `per_request` (so runs
    of different lengths average fairly); `list_runs` keeps their ids."""
    scale = [run.requests if per_request else 1.0 for run in runs]
    scores = [run.score / unit for run, unit in zip(runs, scale, strict=True)]
    ratios = [100.0 * run.score / run.oracle for run in runs if run.oracle is not None]
    half = t_half_width(scores)
    return Cell(
        strategy=strategy,
        tier=tier,
        n=len(scores),
        score=statistics.fmean(scores),
        ci95=None if math.isnan(half) else half,
        pct_oracle=statistics.fmean(ratios) if len(ratios) == len(scores) else None,
        penalised=statistics.fmean(r.penalised / u for r, u in zip(runs, scale, strict=True)),
        delivered=statistics.fmean(r.delivered / u for r, u in zip(runs, scale, strict=True)),
        run_ids=tuple(run.run_id for run in runs) if list_runs else (),
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
