"""`banditlb scenarios`: list the built-in scenarios, check and describe one, or print one's TOML.

`banditlb scenarios show default` (or `scenarios default --toml`) prints a built-in's TOML, a
starting point for a scenario of one's own.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from banditlb.cli import output
from banditlb.errors import ScenarioError
from banditlb.models import scenario as scenario_io


def scenarios(
    file: Annotated[
        str | None,
        typer.Argument(help="A scenario file or built-in name to check (or `show NAME`)."),
    ] = None,
    name: Annotated[
        str | None, typer.Argument(help="With `show`: the scenario whose TOML to print.")
    ] = None,
    toml: Annotated[bool, typer.Option("--toml", help="Print the scenario's TOML text.")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """List built-in scenarios, validate one and show its servers, or print its TOML."""
    console = output.console()
    if file == "show" and name is None and not Path("show").exists():
        raise ScenarioError("show", "argument", "give a scenario: `banditlb scenarios show NAME`")
    if file == "show" and name is not None:
        file, toml = name, True
    elif name is not None:
        raise ScenarioError(name, "argument", f"unexpected; did you mean `show {name}`?")
    if file is None:
        names = scenario_io.builtin_names()
        if json_output:
            output.print_json(names)
        else:
            for builtin in names:
                console.print(builtin)
        return
    loaded = scenario_io.load(file)  # validates it first, whatever is printed
    if toml:
        print(toml_text(file), end="")
        return
    if json_output:
        output.print_json(describe(loaded))
        return
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


def toml_text(ref: str) -> str:
    """The TOML text of a scenario file or built-in name, exactly as stored."""
    path = Path(ref)
    if path.suffix == ".toml" or path.exists():
        return path.read_text(encoding="utf-8")
    package = resources.files(scenario_io.BUILTIN_PACKAGE)
    return package.joinpath(f"{ref}.toml").read_text(encoding="utf-8")


def describe(loaded: Any) -> dict[str, Any]:
    """A scenario as plain data: name, seed, rate, tiers and servers."""
    return {
        "name": loaded.name,
        "seed": loaded.seed,
        "rate": loaded.rate,
        "tiers": list(loaded.tiers()),
        "servers": [
            {
                "name": server.name,
                "tier": server.tier,
                "port": server.port,
                "error_rate": server.error_rate,
                "retry_after": server.retry_after,
                "limits": [limit.kind for limit in server.limits],
                "faults": [fault.kind for fault in server.faults],
            }
            for server in loaded.servers
        ],
    }


def register(app: typer.Typer) -> None:
    app.command("scenarios")(scenarios)
