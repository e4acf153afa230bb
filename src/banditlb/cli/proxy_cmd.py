"""`banditlb proxy --config FILE.toml`: the balancer's engine in front of any HTTP API."""

from __future__ import annotations

import gc
import logging
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from banditlb.cli import output
from banditlb.cli.service_options import ControlToken, Grace, LogLevel, StoreBacklog
from banditlb.errors import ConfigError
from banditlb.logs import configure_logging
from banditlb.proxy import config as proxy_config
from banditlb.proxy.app import ProxyApp
from banditlb.proxy.serving import bind_both, proxy_server
from banditlb.store import SqliteRecorder, connect, default_path, live_run
from banditlb.store.recorder import MAX_BACKLOG

log = logging.getLogger(__name__)


def proxy(
    *,
    config: Annotated[Path, typer.Option(help="Proxy config (TOML): upstreams, routes, strategy.")],
    check: Annotated[
        bool, typer.Option(help="Validate the config, print what it sets up, and exit.")
    ] = False,
    db: Annotated[
        Path | None,
        typer.Option(help="Run store (SQLite) to record into and to show on the dashboard."),
    ] = None,
    record: Annotated[
        bool, typer.Option(help="Record every attempt in the run store (off the request path).")
    ] = True,
    store_backlog: StoreBacklog = MAX_BACKLOG,
    grace: Grace = 10.0,
    control_token: ControlToken = None,
    log_level: LogLevel = "warning",
) -> None:
    """Forward any request to the config's upstreams; retry only when safe; learn who to trust."""
    try:
        settings = proxy_config.load(config)
    except proxy_config.ConfigErrors as exc:  # one `error:` line per mistake, then exit 2
        for problem in exc.problems[:-1]:
            fail_line(problem)
        raise ConfigError(exc.problems[-1]) from None
    if check:
        console = output.console()
        console.print(
            f"{config}: ok: {output.plural(len(settings.upstreams), 'upstream')}, "
            f"{output.plural(len(settings.routes) - 1, 'route')} (+ the default), "
            f"strategy {settings.strategy}; proxy on {settings.host}:{settings.port}, "
            f"admin on {settings.admin_host}:{settings.admin_port}",
            highlight=False,
        )
        return
    if store_backlog < 1:
        raise ConfigError(f"--store-backlog must be >= 1, got {store_backlog}")
    if not (math.isfinite(grace) and grace > 0):
        raise ConfigError(f"--grace must be a finite number of seconds > 0, got {grace!r}")
    configure_logging(log_level)
    store_path = db or default_path()
    recorder = None
    if record:
        connect(store_path).close()  # a bad --db fails now with one line
        recorder = SqliteRecorder(
            store_path,
            run=live_run(settings.summary()),
            penalty=settings.routes[-1].penalty,
            max_backlog=store_backlog,
        )
    app = ProxyApp(
        settings,
        recorder=recorder,
        dashboard_store=store_path,
        control_token=control_token or None,
    )
    try:
        sockets = bind_both(app)
    except OSError as exc:
        raise ConfigError(f"cannot listen: {exc.strerror or exc}") from None
    server = proxy_server(app, grace=grace, log_level=log_level.lower(), json_logs=True)
    log.info(
        "proxying",
        extra={
            "port": settings.port,
            "admin_port": app.admin_port,
            "upstreams": len(settings.upstreams),
        },
    )
    gc.freeze()
    server.run(sockets=list(sockets))


def fail_line(message: str) -> None:
    """One `error: ...` line on stderr, as `cli/main.py` prints the last one."""
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(message)}", highlight=False
    )


def register(app: typer.Typer) -> None:
    app.command("proxy")(proxy)
