"""`banditlb run`: fleet + one balancer per tier + load on every tier, scored by the referee."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskID

from banditlb.cli.load_report import load_progress, report_console, report_table
from banditlb.cli.options import parse_params
from banditlb.harness.load import LoadProgress
from banditlb.harness.run import RunPlan, Status, TierProgress, TierResult, run_live
from banditlb.scenarios import files as scenario_files
from banditlb.strategies.registry import DEFAULT_STRATEGY


async def _run_until_signal(
    plan: RunPlan, progress_cb: TierProgress, status_cb: Status
) -> list[TierResult]:
    """`run_live`, cancelled cleanly (its `finally` stops every process) on SIGTERM."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await run_live(plan, on_progress=progress_cb, on_status=status_cb)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def run(
    *,
    duration: Annotated[float, typer.Option(help="Seconds of load on each tier.")] = 60.0,
    strategy: Annotated[str, typer.Option(help="Strategy for every balancer.")] = DEFAULT_STRATEGY,
    param: Annotated[
        list[str] | None, typer.Option(help="Strategy parameter name=value (repeatable).")
    ] = None,
    rps: Annotated[float, typer.Option(help="Requests per second on each tier.")] = 10.0,
    scenario: Annotated[str, typer.Option(help="Scenario file or built-in name.")] = "default",
    base_port: Annotated[int, typer.Option(help="First balancer port (one per tier).")] = 8001,
    control_port: Annotated[
        int, typer.Option(help="The referee's control port.", envvar="BANDITLB_CONTROL_PORT")
    ] = 3999,
    seed: Annotated[int, typer.Option(help="Seed for strategies and ids.")] = 0,
    penalty: Annotated[float, typer.Option(help="Penalty per attempt past the 3rd.")] = 1.0,
    db: Annotated[
        Path | None, typer.Option(help="Run store to record into (default: the user data dir).")
    ] = None,
) -> None:
    """Play the game live on every tier at once and print the referee's scores."""
    plan = RunPlan(
        duration=duration,
        strategy=strategy,
        params=parse_params(param or []),
        rps=rps,
        scenario=scenario,
        base_port=base_port,
        control_port=control_port,
        seed=seed,
        penalty=penalty,
        db=db,
    )
    console = report_console()
    with load_progress() as progress:
        bars: dict[str, TaskID] = {}

        def show(tier: str, p: LoadProgress) -> None:
            if tier not in bars:
                bars[tier] = progress.add_task(tier, total=p.total, delivered=0)
            progress.update(bars[tier], completed=p.done, delivered=p.delivered)

        try:
            results = asyncio.run(_run_until_signal(plan, show, progress.console.print))
        except (KeyboardInterrupt, asyncio.CancelledError):
            progress.stop()
            console.print("interrupted; every process was stopped")
            sys.exit(130)
    rows = [(r.tier, r.strategy, r.report) for r in results]
    world = scenario_files.load(scenario)
    from banditlb.models.oracle import oracle_bound  # scipy: only for the commands that need it

    bounds = {
        r.tier: oracle_bound(
            world, r.tier, penalty=penalty, horizon=duration, rate=rps
        ).score_per_request
        for r in results
    }
    title = f"{scenario}: {duration:g} s at {rps:g} req/s per tier, scored by the referee"
    console.print(report_table(rows, title=title, oracle=bounds))
    where = f" --db {db}" if db is not None else ""
    console.print(
        "the balancers' dashboards stopped with the run; browse the stored runs with"
        f" `banditlb dashboard{where}`",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("run")(run)
