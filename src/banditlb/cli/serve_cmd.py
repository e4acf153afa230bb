"""`banditlb serve`: run one balancer in front of a list of upstreams or a scenario tier."""

from __future__ import annotations

from typing import Annotated

import typer

from banditlb.balancer.app import create_app
from banditlb.balancer.serving import uvicorn_server
from banditlb.balancer.settings import (
    BalancerSettings,
    parse_params,
    parse_upstreams,
    tier_upstreams,
)
from banditlb.errors import ConfigError
from banditlb.strategies.registry import DEFAULT_STRATEGY


def serve(
    *,
    upstreams: Annotated[
        str | None,
        typer.Option(help="Servers as host:port[-port],... e.g. 127.0.0.1:4000-4009."),
    ] = None,
    tier: Annotated[
        str | None, typer.Option(help="Use this tier's servers from the scenario (T1, T2, T3).")
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Scenario file or built-in name for --tier.")
    ] = None,
    upstream_host: Annotated[str, typer.Option(help="Host of the --tier servers.")] = "127.0.0.1",
    port_offset: Annotated[int, typer.Option(help="Added to the --tier servers' ports.")] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    strategy: Annotated[str, typer.Option(help="Strategy name.")] = DEFAULT_STRATEGY,
    param: Annotated[
        list[str] | None, typer.Option(help="Strategy parameter name=value (repeatable).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the strategy's RNG.")] = 0,
    penalty: Annotated[float, typer.Option(help="Score cost of each attempt past the 3rd.")] = 1.0,
    attempt_timeout: Annotated[float, typer.Option(help="Seconds per downstream attempt.")] = 2.0,
    deadline: Annotated[float, typer.Option(help="Seconds per client request overall.")] = 10.0,
    label: Annotated[str, typer.Option(help="A name for this balancer in stats.")] = "",
) -> None:
    """Run the balancer (POST / with an id; GET /healthz; GET /api/state)."""
    if (upstreams is None) == (tier is None):
        raise ConfigError("give exactly one of --upstreams or --tier")
    if tier is not None:
        servers = tier_upstreams(tier, scenario, host=upstream_host, port_offset=port_offset)
    else:
        servers = parse_upstreams(upstreams or "")
    settings = BalancerSettings(
        upstreams=servers,
        strategy=strategy,
        params=parse_params(param or []),
        seed=seed,
        penalty=penalty,
        attempt_timeout=attempt_timeout,
        request_deadline=deadline,
        host=host,
        port=port,
        label=label or (tier or "balancer"),
        tier=tier or "",
        scenario=scenario or ("default" if tier else ""),
    )
    server = uvicorn_server(create_app(settings), settings.host, settings.port)
    server.run()  # uvicorn's own loop factory: uvloop when installed


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
