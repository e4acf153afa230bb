"""Entry point: assembles the subcommands into one Typer app; every BanditLBError exits cleanly."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from banditlb import __version__
from banditlb.cli import (
    dashboard_cmd,
    export_cmd,
    fleet_cmd,
    load_cmd,
    oracle_cmd,
    proxy_cmd,
    run_cmd,
    runs_cmd,
    scenarios_cmd,
    serve_cmd,
    sim_cmd,
    strategies_cmd,
)
from banditlb.cli.output import fail
from banditlb.errors import BanditLBError


def build_app() -> typer.Typer:
    """The CLI app; each subcommand module adds itself with `register(app)`."""
    app = typer.Typer(
        name="banditlb",
        help="An adaptive load balancer that learns which flaky, rate-limited backends to trust.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _root(
        version: Annotated[
            bool,
            typer.Option(
                "--version",
                "-V",
                help="Print banditlb's version and exit.",
                is_eager=True,
                callback=_print_version,
            ),
        ] = False,
    ) -> None:
        """banditlb: play the flaky-server game with bandit strategies, live or simulated.

        The run store is BANDITLB_DB (default: the user data dir's runs.db) unless --db says.
        """

    for module in (
        scenarios_cmd,
        serve_cmd,
        proxy_cmd,
        fleet_cmd,
        load_cmd,
        run_cmd,
        sim_cmd,
        oracle_cmd,
        strategies_cmd,
        runs_cmd,
        export_cmd,
        dashboard_cmd,
    ):
        module.register(app)
    return app


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"banditlb {__version__}\n")
        raise typer.Exit


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input (ours or a bad option value) prints one line and exits with 2."""
    app = build_app()
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = app(args=args or ["--help"], prog_name="banditlb", standalone_mode=False)
    except BanditLBError as exc:
        fail(str(exc))
    except usage_errors() as exc:  # unknown option or command, out-of-range value, ...
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        formatter = getattr(exc, "format_message", None)
        message = formatter() if callable(formatter) else str(exc)
        fail(f"{message}{hint}")
    except typer.Abort:
        fail("aborted", status=1)
    sys.exit(code if isinstance(code, int) else 0)


def usage_errors() -> tuple[type[Exception], ...]:
    """Typer's usage-error base: `typer.TyperException` since Typer vendored Click (0.26), and
    Click's `ClickException` for older Typer releases that use the real Click."""
    found: list[type[Exception]] = []
    vendored = getattr(typer, "TyperException", None)
    if isinstance(vendored, type) and issubclass(vendored, Exception):
        found.append(vendored)
    try:
        click_exceptions = importlib.import_module("click.exceptions")
    except ImportError:
        click_exceptions = None
    if click_exceptions is not None:
        found.append(click_exceptions.ClickException)
    return tuple(found)
