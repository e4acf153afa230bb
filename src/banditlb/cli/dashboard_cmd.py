"""`banditlb dashboard`: serve the stored runs' dashboard (compare, replay, playground)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from banditlb.cli.runs_cmd import DbOption
from banditlb.dashboard.app import create_dashboard_app
from banditlb.store.schema import default_path


def dashboard(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8050,
) -> None:
    """Serve the dashboard over stored runs, read-only (no live balancer)."""
    path = db or default_path()
    Console().print(f"dashboard for {path} on http://{host}:{port}/dashboard/compare")
    uvicorn.run(create_dashboard_app(path), host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
