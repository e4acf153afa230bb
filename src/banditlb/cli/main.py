"""Entry point: assembles the subcommands into one Typer app; every BanditLBError exits cleanly."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from banditlb.errors import BanditLBError


def build_app() -> typer.Typer:
    """The CLI app; each subcommand module adds itself with `register(app)`."""
    from banditlb.cli import (
        dashboard_cmd,
        export_cmd,
        fleet_cmd,
        load_cmd,
        oracle_cmd,
        run_cmd,
        runs_cmd,
        scenarios_cmd,
        serve_cmd,
        sim_cmd,
    )

    app = typer.Typer(
        name="banditlb",
        help="An adaptive load balancer that learns which flaky, rate-limited backends to trust.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root() -> None:
        """banditlb: play the flaky-server game with bandit strategies, live or simulated."""

    for module in (
        scenarios_cmd,
        serve_cmd,
        fleet_cmd,
        load_cmd,
        run_cmd,
        sim_cmd,
        oracle_cmd,
        runs_cmd,
        export_cmd,
        dashboard_cmd,
    ):
        module.register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; expected errors print one line and exit with status 2."""
    app = build_app()
    try:
        app(args=argv, standalone_mode=True)
    except BanditLBError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
