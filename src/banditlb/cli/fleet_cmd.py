"""`banditlb fleet`: serve a scenario's downstream servers and the referee until Ctrl-C."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from banditlb.access import TOKEN_ENV
from banditlb.cli import output
from banditlb.fleet import DEFAULT_CONTROL_PORT, Fleet
from banditlb.fleet.run import serve_until_signalled
from banditlb.scenarios import files as scenario_files


def listening_table(fleet: Fleet) -> Table:
    """One row per server (name, tier, address, error rate, limits, up) and the control URL."""
    loaded = fleet.scenario
    table = Table(
        title=f"{loaded.name} (seed {loaded.seed}) — control {fleet.control_url}",
    )
    for column in ("server", "tier", "address", "error rate", "limits", "faults", "up"):
        table.add_column(column)
    for spec in loaded.servers:
        host, port = fleet.address(spec.name)
        table.add_row(
            spec.name,
            spec.tier,
            f"{host}:{port}",
            f"{spec.error_rate:.2f}",
            ", ".join(limit.kind for limit in spec.limits) or "-",
            ", ".join(fault.kind for fault in spec.faults) or "-",
            "yes" if fleet.is_up(spec.name) else "no",
        )
    return table


def fleet(
    *,
    scenario: Annotated[
        str, typer.Option(help="Scenario file or built-in name.", show_default=True)
    ] = scenario_files.DEFAULT_SCENARIO,
    host: Annotated[str, typer.Option(help="Address every socket binds.")] = "127.0.0.1",
    control_port: Annotated[
        int,
        typer.Option(
            help="Port of the referee's control endpoint.",
            min=1,
            max=65535,
            envvar="BANDITLB_CONTROL_PORT",
        ),
    ] = DEFAULT_CONTROL_PORT,
    port_offset: Annotated[
        int, typer.Option(help="Added to every port (servers and control).")
    ] = 0,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.", min=0)] = None,
    control_token: Annotated[
        str | None,
        typer.Option(
            help="Require Authorization: Bearer TOKEN on the control endpoint.",
            envvar=TOKEN_ENV,
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Serve every downstream server of a scenario, plus the referee, until Ctrl-C."""
    loaded = scenario_files.load(scenario)
    if seed is not None:
        loaded = dataclasses.replace(loaded, seed=seed)
    served = Fleet(
        loaded,
        host=host,
        control_port=control_port,
        port_offset=port_offset,
        control_token=control_token or None,
    )
    console = output.console()

    def ready(started: Fleet) -> None:
        console.print(listening_table(started))
        console.print("serving; Ctrl-C to stop", style="dim")

    asyncio.run(serve_until_signalled(served, ready))
    console.print("fleet stopped", style="dim")


def register(app: typer.Typer) -> None:
    app.command("fleet")(fleet)
