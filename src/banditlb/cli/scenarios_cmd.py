"""`banditlb scenarios`: list the built-in scenarios, check and describe one, print one's TOML,
or write a generated one.

`banditlb scenarios show default` (or `scenarios default --toml`) prints a built-in's TOML, a
starting point for a scenario of one's own; `banditlb scenarios random --seed N [--tier T2|T3]
[--output FILE]` writes one drawn from the generated family (`models/generate.py`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from banditlb.cli import output
from banditlb.errors import ConfigError, ScenarioError
from banditlb.scenarios import files as scenario_files

RANDOM = "random"


def scenarios(  # noqa: PLR0917 - typer maps each parameter to an argument or option
    file: Annotated[
        str | None,
        typer.Argument(
            help="A scenario file or built-in name to check (or `show NAME`, or `random`)."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Argument(help="With `show`: the scenario whose TOML to print.")
    ] = None,
    toml: Annotated[bool, typer.Option("--toml", help="Print the scenario's TOML text.")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option(help="With `random`: the generator's seed.", min=0)
    ] = None,
    tier: Annotated[
        str | None, typer.Option(help="With `random`: only this tier (T2 or T3; default both).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--output", help="With `random`: write here instead of stdout."),
    ] = None,
) -> None:
    """List built-in scenarios, validate one and show its servers, print its TOML, or
    generate one."""
    if file == RANDOM:
        write_random(seed, tier, out)
        return
    if seed is not None or tier is not None or out is not None:
        raise ConfigError("--seed, --tier and --output go with 'banditlb scenarios random'")
    console = output.console()
    if file == "show" and name is None and not Path("show").exists():
        raise ScenarioError("show", "argument", "give a scenario: `banditlb scenarios show NAME`")
    if file == "show" and name is not None:
        file, toml = name, True
    elif name is not None:
        raise ScenarioError(name, "argument", f"unexpected; did you mean `show {name}`?")
    if file is None:
        names = scenario_files.builtin_names()
        if json_output:
            output.print_json(names)
        else:
            for builtin in names:
                console.print(builtin)
        return
    loaded = scenario_files.load(file)  # validates it first, whatever is printed
    if toml:
        print(toml_text(file), end="")
        return
    if json_output:
        output.print_json(describe(loaded))
        return
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


def write_random(seed: int | None, tier: str | None, out: Path | None) -> None:
    """Generated scenario `seed` as TOML on stdout, or into `out`."""
    from banditlb.models.generate import TIERS, generate_toml

    if seed is None:
        raise ConfigError("banditlb scenarios random needs --seed N (an integer >= 0)")
    text = generate_toml(seed, TIERS if tier is None else (tier,))
    if out is None:
        typer.echo(text, nl=False)
        return
    if out.is_dir():
        raise ConfigError(f"--output {str(out)!r} is a folder; give a file name")
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output {str(out)!r}: cannot write: {exc.strerror}") from None


def toml_text(ref: str) -> str:
    """The TOML text of a scenario file or built-in name, exactly as stored."""
    path = Path(ref)
    if path.suffix == ".toml" or path.exists():
        return path.read_text(encoding="utf-8")
    package = resources.files(scenario_files.BUILTIN_PACKAGE)
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
                "rate_limit_headers": server.rate_limit_headers,
                "limits": [limit.kind for limit in server.limits],
                "faults": [fault.kind for fault in server.faults],
            }
            for server in loaded.servers
        ],
    }


def register(app: typer.Typer) -> None:
    app.command("scenarios")(scenarios)
