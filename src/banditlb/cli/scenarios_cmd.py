"""`banditlb scenarios`: list the built-in scenarios, check and describe one file, or write a
generated one (`banditlb scenarios random --seed N [--tier T2|T3] [--output FILE]`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from banditlb.errors import ConfigError
from banditlb.models import scenario as scenario_io

RANDOM = "random"


def scenarios(
    file: Annotated[
        str | None,
        typer.Argument(help="A scenario file or built-in name to check, or 'random'."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="With 'random': the generator's seed.", min=0)
    ] = None,
    tier: Annotated[
        str | None, typer.Option(help="With 'random': only this tier (T2 or T3; default both).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="With 'random': write here instead of stdout.")
    ] = None,
) -> None:
    """List built-in scenarios, validate one and show its servers, or generate one."""
    if file == RANDOM:
        write_random(seed, tier, output)
        return
    if seed is not None or tier is not None or output is not None:
        raise ConfigError("--seed, --tier and --output go with 'banditlb scenarios random'")
    console = Console()
    if file is None:
        for name in scenario_io.builtin_names():
            console.print(name)
        return
    loaded = scenario_io.load(file)
    table = Table(title=f"{loaded.name} (seed {loaded.seed}, {loaded.rate:g} req/s)")
    for column in ("server", "tier", "port", "error rate", "limits", "Retry-After", "headers"):
        table.add_column(column)
    for server in loaded.servers:
        limits = ", ".join(limit.kind for limit in server.limits) or "-"
        table.add_row(
            server.name,
            server.tier,
            str(server.port),
            f"{server.error_rate:.2f}",
            limits,
            server.retry_after,
            server.rate_limit_headers,
        )
    console.print(table)


def write_random(seed: int | None, tier: str | None, output: Path | None) -> None:
    """Generated scenario `seed` as TOML on stdout, or into `output`."""
    from banditlb.models.generate import TIERS, generate_toml

    if seed is None:
        raise ConfigError("banditlb scenarios random needs --seed N (an integer >= 0)")
    text = generate_toml(seed, TIERS if tier is None else (tier,))
    if output is None:
        typer.echo(text, nl=False)
        return
    if output.is_dir():
        raise ConfigError(f"--output {str(output)!r} is a folder; give a file name")
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output {str(output)!r}: cannot write: {exc.strerror}") from None


def register(app: typer.Typer) -> None:
    app.command("scenarios")(scenarios)
