"""`banditlb runs`: the stored runs, newest first, as a table or JSON; `runs delete` and
`runs prune` remove old ones. Listing opens the store read-only; deleting is the only write."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from banditlb.cli import output
from banditlb.errors import ConfigError
from banditlb.store.runs import delete_runs, list_runs
from banditlb.store.schema import connect, connect_readonly, default_path

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db", help="Run database (default: $BANDITLB_DB, else the user data dir's runs.db)."
    ),
]


def runs(
    ctx: typer.Context,
    *,
    db: DbOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many runs to show.")] = 20,
    source: Annotated[str | None, typer.Option(help="Only 'live' or 'simulated' runs.")] = None,
    sweep: Annotated[
        str | None, typer.Option(help="Only the runs of this sweep (label) or live label.")
    ] = None,
    strategy: Annotated[str | None, typer.Option(help="Only runs of this strategy.")] = None,
    tier: Annotated[str | None, typer.Option(help="Only runs on this tier.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """List stored runs: id, source, strategy, scenario, tier, requests, score, % of oracle."""
    if ctx.invoked_subcommand is not None:
        return
    path = db or default_path()
    console = output.console()
    if not path.exists():
        if json_output:
            output.print_json([])
        else:
            console.print(f"no runs stored yet ({path})")
        return
    conn = connect_readonly(path)
    try:
        stored = list_runs(
            conn, limit=limit, source=source, strategy=strategy, tier=tier, label=sweep
        )
    finally:
        conn.close()
    if json_output:
        output.print_json(
            [
                {
                    "id": run.id,
                    "source": run.source,
                    "strategy": run.strategy,
                    "params": run.params,
                    "scenario": run.scenario,
                    "tier": run.tier,
                    "seed": run.seed,
                    "label": run.label,
                    "started_at": run.started_at,
                    "ended_at": run.ended_at,
                    "totals": run.totals,
                }
                for run in stored
            ]
        )
        return
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


def delete(
    run_ids: Annotated[
        list[str] | None, typer.Argument(help="Run ids to delete.", show_default=False)
    ] = None,
    sweep: Annotated[str | None, typer.Option(help="Delete every run of this sweep.")] = None,
    db: DbOption = None,
) -> None:
    """Delete runs (and their attempts) by id, or a whole sweep."""
    if not run_ids and sweep is None:
        raise ConfigError("give run ids or --sweep LABEL to delete")
    _delete(db, run_ids=run_ids or (), label=sweep)


def prune(
    *,
    older_than: Annotated[
        float | None, typer.Option(help="Delete runs started more than this many days ago.")
    ] = None,
    keep: Annotated[
        int | None, typer.Option(min=0, help="Keep only the newest N runs; delete the rest.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Delete old runs: those older than --older-than days, or all but the newest --keep."""
    if older_than is None and keep is None:
        raise ConfigError("give --older-than DAYS or --keep N (or both)")
    if older_than is not None and not (0 <= older_than <= 1e6):
        raise ConfigError(f"--older-than must be a number of days in [0, 1e6], got {older_than}")
    before = None if older_than is None else time.time() - older_than * 86_400.0
    _delete(db, started_before=before, keep_newest=keep)


def _delete(db: Path | None, **criteria: Any) -> None:
    path = db or default_path()
    if not path.exists():
        raise ConfigError(f"run database {str(path)!r} does not exist")
    conn = connect(path)
    try:
        count = delete_runs(conn, **criteria)
    finally:
        conn.close()
    output.console().print(f"deleted {output.plural(count, 'run')} from {path}")


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
    group = typer.Typer(
        invoke_without_command=True,
        no_args_is_help=False,
        help="List stored runs (newest first); `runs delete`, `runs prune` remove old ones.",
    )
    group.callback()(runs)
    group.command("delete")(delete)
    group.command("prune")(prune)
    app.add_typer(group, name="runs")
