"""Rich tables and progress bars for load reports, shared by `banditlb load` and `banditlb run`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from banditlb.cli import output
from banditlb.harness.load import LoadReport

COLUMNS = (
    "tier",
    "strategy",
    "sent",
    "delivered",
    "accepted",
    "penalised",
    "score",
    "score/request",
    "p50",
    "p99",
)
ORACLE_COLUMN = "% of oracle"


def load_progress() -> Progress:
    """One bar per load: requests answered of those planned, and how many were delivered."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[delivered]} delivered"),
        TimeElapsedColumn(),
    )


def report_console() -> Console:
    """A console wide enough for the report table even when output is not a terminal."""
    return output.console()


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def _num(value: float | None, spec: str = "d") -> str:
    return "-" if value is None else format(value, spec)


def report_table(
    rows: Sequence[tuple[str, str, LoadReport]],
    title: str,
    oracle: Mapping[str, float] | None = None,
) -> Table:
    """One row per (tier, strategy, report); referee columns show "-" without a referee.

    With `oracle` (tier -> the LP bound on score per request) a "% of oracle" column is added.
    """
    table = Table(title=title)
    for name in (*COLUMNS, ORACLE_COLUMN) if oracle is not None else COLUMNS:
        table.add_column(
            name, justify="left" if name in ("tier", "strategy") else "right", no_wrap=True
        )
    for tier, strategy, report in rows:
        extra = []
        if oracle is not None:
            bound = oracle.get(tier)
            share = report.score_per_request
            extra.append("-" if bound is None or share is None else f"{100 * share / bound:.1f}%")
        table.add_row(
            tier,
            strategy,
            str(report.sent),
            str(report.delivered),
            _num(report.accepted),
            _num(report.penalised_attempts),
            _num(report.score, ".1f"),
            _num(report.score_per_request, ".3f"),
            _ms(report.p50_s),
            _ms(report.p99_s),
            *extra,
        )
    return table
