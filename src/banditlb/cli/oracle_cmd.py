"""`banditlb oracle`: the LP upper bound for one tier, and the allocation that reaches it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from banditlb.cli import output
from banditlb.scenarios import files as scenario_files


def _ordinal(n: int) -> str:
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n if n < 20 else n % 10, 'th') }"


def oracle(
    *,
    scenario: Annotated[str, typer.Option(help="A scenario file or built-in name.")] = "default",
    tier: Annotated[str, typer.Option("--tier", "--tiers", help="The tier to bound.")] = "T1",
    penalty: Annotated[float, typer.Option(help="Points per attempt past the free ones.")] = 1.0,
    free_attempts: Annotated[int, typer.Option(help="Attempts per id that cost nothing.")] = 3,
    max_attempts: Annotated[int, typer.Option(help="Hard cap on attempts per id.")] = 10,
    horizon: Annotated[
        float | None, typer.Option(help="Seconds to average over (default 1000).")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="Arrivals per second (default: the scenario's).")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """Print the best expected score per request any strategy could reach, and how."""
    console = output.console()
    from banditlb.models.oracle import oracle_bound  # scipy: only for the commands that need it

    bound = oracle_bound(
        scenario_files.load(scenario),
        tier,
        penalty=penalty,
        free_attempts=free_attempts,
        max_attempts=max_attempts,
        horizon=horizon,
        rate=rate,
    )
    if json_output:
        output.print_json(
            {
                "tier": tier,
                "score_per_request": bound.score_per_request,
                "horizon": bound.horizon,
                "slice_values": {"min": min(bound.slice_values), "max": max(bound.slice_values)},
                "rate": bound.first.rate,
                "servers": [
                    {
                        "server": name,
                        "p": bound.p[k],
                        "capacity": bound.capacity[k],  # infinity -> null
                        "attempts_per_second": list(bound.first.x[k]),
                    }
                    for k, name in enumerate(bound.servers)
                ],
            }
        )
        return
    low, high = min(bound.slice_values), max(bound.slice_values)
    spread = "" if low == high else f" (slices from {low:.4f} to {high:.4f})"
    console.print(
        f"Tier {tier}: at most [bold]{bound.score_per_request:.4f}[/] points per request "
        f"over {bound.horizon:g} s{spread}",
        highlight=False,
    )
    first = bound.first
    table = Table(title=f"LP allocation at t = 0 (attempts per second, λ = {first.rate:g}/s)")
    for column in ("server", "p", "capacity/s"):
        table.add_column(column, justify="left" if column == "server" else "right")
    steps = len(first.x[0]) if first.x else 0
    for j in range(steps):
        table.add_column(f"{_ordinal(j + 1)} attempt", justify="right")
    table.add_column("total", justify="right")
    for k, name in enumerate(bound.servers):
        cap = bound.capacity[k]
        table.add_row(
            name,
            f"{bound.p[k]:.2f}",
            "∞" if cap == float("inf") else f"{cap:g}",
            *(f"{v:.3f}" if v > 1e-9 else "·" for v in first.x[k]),
            f"{first.attempts(k):.3f}",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("oracle")(oracle)
