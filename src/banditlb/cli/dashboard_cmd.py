"""`banditlb dashboard`: serve the stored runs' dashboard (compare, replay, playground)."""

from __future__ import annotations

import socket
from typing import Annotated

import typer
import uvicorn

from banditlb.cli import output
from banditlb.cli.runs_cmd import DbOption
from banditlb.dashboard.app import create_dashboard_app
from banditlb.errors import ConfigError
from banditlb.store.schema import connect_readonly, default_path


def listen(host: str, port: int) -> socket.socket:
    """A bound TCP socket (port 0: the OS picks); a busy or bad address is a ConfigError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def dashboard(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            min=0, max=65535, help="Port to listen on (0: any).", envvar="BANDITLB_DASHBOARD_PORT"
        ),
    ] = 8050,
) -> None:
    """Serve the dashboard over stored runs, read-only (no live balancer)."""
    path = db or default_path()
    connect_readonly(path).close()  # a missing or foreign file is refused now, not as 503s
    sock = listen(host, port)
    bound = sock.getsockname()[1]
    try:
        output.console().print(f"dashboard for {path} on http://{host}:{bound}/dashboard/compare")
        config = uvicorn.Config(create_dashboard_app(path), log_level="warning")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
