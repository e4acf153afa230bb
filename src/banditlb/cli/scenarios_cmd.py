"""`banditlb scenarios`: list the built-in scenarios, or check and describe one file."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from banditlb.cli import output
from banditlb.models import scenario as scenario_io


def scenarios(
    file: Annotated[
        str | None, typer.Argument(help="A scenario file or built-in name to check.")
    ] = None,
) -> None:
    """List built-in scenarios, or validate one and show its servers."""
    console = output.console()
    if file is None:
        for name in scenario_io.builtin_names():
            console.print(name)
        return
    loaded = scenario_io.load(file)
    table = Table(title=f"{loaded.name} (seed {loaded.seed}, {loaded.rate:g} req/s)")
    for column in ("server", "tier", "port", "error rate", "limits", "Retry-After"):
        table.add_column(column)
    for server in loaded.servers:
        limits = ", ".join(limit.kind for limit in server.limits) or "-"
        table.add_row(
            server.name,
            server.tier,
            str(server.port),
            f"{server.error_rate:.2f}",
            limits,
            "yes" if server.retry_after else "no",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("scenarios")(scenarios)
