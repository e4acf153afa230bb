"""`banditlb strategies`: every registered strategy, its source, and its parameters with their
defaults and allowed ranges (the same registry `serve`, `run` and `sim` build from)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from rich.table import Table

from banditlb.cli import output
from banditlb.strategies.base import parameter_ranges
from banditlb.strategies.registry import DEFAULT_STRATEGY, REGISTRY


def describe() -> list[dict[str, Any]]:
    """One entry per strategy: name, source (first docstring line of its module), parameters."""
    import sys

    described = []
    for name, cls in REGISTRY.items():
        module = sys.modules[cls.__module__]
        source = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
        ranges = parameter_ranges(cls)
        params = [
            {
                "name": field.name,
                "type": field.type if isinstance(field.type, str) else field.type.__name__,
                "default": field.default,
                "range": str(ranges[field.name]) if field.name in ranges else None,
            }
            for field in dataclasses.fields(cls)  # type: ignore[arg-type]
        ]
        described.append(
            {
                "name": name,
                "default": name == DEFAULT_STRATEGY,
                "source": source,
                "parameters": params,
            }
        )
    return described


def strategies(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """List strategies: name, source, parameters with defaults and allowed ranges."""
    described = describe()
    if json_output:
        output.print_json(described)
        return
    table = Table(title="strategies (--strategy NAME; --param key=value, sim: name.key=value)")
    for column in ("strategy", "source", "parameters (default, range)"):
        table.add_column(column)
    for entry in described:
        params = "\n".join(
            f"{p['name']}={p['default']!r}" + (f"  {p['range']}" if p["range"] else "")
            for p in entry["parameters"]
        )
        name = entry["name"] + (" (default)" if entry["default"] else "")
        table.add_row(name, entry["source"], params or "-")
    output.console().print(table)


def register(app: typer.Typer) -> None:
    app.command("strategies")(strategies)
