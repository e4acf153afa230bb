"""`banditlb load`: open-loop load against a balancer, optionally scored by the referee."""

from __future__ import annotations

import asyncio
from typing import Annotated, cast

import typer

from banditlb.cli import output
from banditlb.cli.load_report import load_progress, report_console, report_table
from banditlb.errors import ConfigError
from banditlb.harness.load import BodyFormat, LoadPlan, LoadProgress, run_load


def load(
    *,
    url: Annotated[str, typer.Option(help="The balancer's URL, e.g. http://127.0.0.1:8000/.")],
    rps: Annotated[float, typer.Option(help="Requests per second (open loop).")] = 10.0,
    requests: Annotated[int, typer.Option(help="How many requests to send.")] = 100,
    body: Annotated[str, typer.Option(help='Send the id raw or as JSON {"id": ...}.')] = "raw",
    seed: Annotated[int, typer.Option(help="Seed for the ids.")] = 0,
    referee: Annotated[
        str | None, typer.Option(help="Fleet control URL, e.g. http://127.0.0.1:3999.")
    ] = None,
    tier: Annotated[str | None, typer.Option(help="Tier the referee resets and scores.")] = None,
    penalty: Annotated[float, typer.Option(help="Penalty per attempt past the 3rd.")] = 1.0,
    max_in_flight: Annotated[int, typer.Option(help="Drop sends beyond this many open.")] = 1000,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer.")] = 30.0,
) -> None:
    """Send fresh random ids at a fixed rate and report delivered, accepted and score.

    Exits with status 1 (one line on stderr) when requests were sent and none was answered.
    """
    if requests < 1:
        raise ConfigError(f"--requests must be >= 1, got {requests}")
    if body not in ("raw", "json"):
        raise ConfigError(f"--body must be raw or json, got {body!r}")
    plan = LoadPlan(
        url=url,
        rps=rps,
        requests=requests,
        body=cast(BodyFormat, body),
        seed=seed,
        max_in_flight=max_in_flight,
        timeout=timeout,
        referee=referee,
        tier=tier,
        penalty=penalty,
    )
    console = report_console()
    with load_progress() as progress:
        bar = progress.add_task(tier or url, total=plan.requests, delivered=0)

        def show(p: LoadProgress) -> None:
            progress.update(bar, completed=p.done, delivered=p.delivered)

        report = asyncio.run(run_load(plan, on_progress=show))
    if report.sent and report.delivered + report.failed == 0:
        output.fail(
            f"no request got an answer from {url}: {report.errors} of {report.sent} failed to"
            " connect or timed out (is the balancer running?)",
            status=1,
        )
    console.print(report_table([(tier or "-", "-", report)], title=f"load on {url}"))
    if report.errors or report.dropped:
        console.print(
            f"{output.plural(report.errors, 'request')} got no answer;"
            f" {report.dropped} {'was' if report.dropped == 1 else 'were'} dropped"
        )


def register(app: typer.Typer) -> None:
    app.command("load")(load)
