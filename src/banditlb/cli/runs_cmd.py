"""`banditlb runs`: the stored runs, newest first, as a table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from banditlb.cli import output
from banditlb.store.runs import list_runs
from banditlb.store.schema import connect_readonly, default_path

DbOption = Annotated[
    Path | None, typer.Option("--db", help="Run database (default: the user data dir's runs.db).")
]


def runs(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many runs to show.")] = 20,
    source: Annotated[str | None, typer.Option(help="Only 'live' or 'simulated' runs.")] = None,
) -> None:
    """List stored runs: id, source, strategy, scenario, tier, requests, score, % of oracle."""
    path = db or default_path()
    console = output.console()
    if not path.exists():
        console.print(f"no runs stored yet ({path})")
        return
    conn = connect_readonly(path)
    try:
        stored = list_runs(conn, limit=limit, source=source)
    finally:
        conn.close()
    table = Table(title=f"runs in {path}")
    for column in ("run", "source", "strategy", "scenario", "tier", "seed", "started (UTC)"):
        table.add_column(column)
    for column in ("requests", "delivered", "penalised", "score", "% oracle"):
        table.add_column(column, justify="right")
    for run in stored:
        totals = run.totals
        table.add_row(
            run.id,
            run.source,
            run.strategy,
            run.scenario,
            run.tier,
            "-" if run.seed is None else str(run.seed),
            datetime.fromtimestamp(run.started_at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S"),
            _cell(totals.get("requests")),
            _cell(totals.get("delivered")),
            _cell(totals.get("penalised")),
            _cell(totals.get("score")),
            _pct(totals),
        )
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    return "-" if value is None else f"{value:,}"


def _pct(totals: dict[str, Any]) -> str:
    from banditlb.store.totals import oracle_total

    oracle, score = oracle_total(totals), totals.get("score")
    if not oracle or not isinstance(score, int | float):
        return "-"
    return f"{100.0 * score / oracle:.1f}%"


def register(app: typer.Typer) -> None:
    app.command("runs")(runs)
