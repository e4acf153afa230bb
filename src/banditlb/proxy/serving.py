"""Serving a `ProxyApp` with uvicorn on its two sockets (the proxy's and the admin port).

Like `balancer.serving` (the same guarded HTTP protocol, JSON logs, graceful shutdown), but
uvicorn adds no `Server` or `Date` header of its own: the upstream's pass through unchanged.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from banditlb.balancer.protocol import ServerLimits, connection_cap, guarded_protocol
from banditlb.balancer.serving import BACKSTOP_S, GracefulServer, bind, json_log_config
from banditlb.proxy.app import ProxyApp


def proxy_server(
    app: ProxyApp,
    *,
    grace: float | None = None,
    log_level: str = "warning",
    json_logs: bool = False,
    on_exit: Callable[[], None] | None = None,
) -> GracefulServer:
    """uvicorn for `app`; serve it with `server.run(sockets=...)` or `serve(sockets=...)`."""
    limits = ServerLimits(max_connections=connection_cap())
    extra: dict[str, Any] = {"log_config": json_log_config(log_level)} if json_logs else {}
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,  # X-Forwarded-* from clients are not trusted, only passed on
        server_header=False,
        date_header=False,
        loop="auto",
        http=guarded_protocol(limits),
        ws="none",
        lifespan="on",
        timeout_keep_alive=limits.keep_alive,  # type: ignore[arg-type]
        timeout_graceful_shutdown=None if grace is None else grace + BACKSTOP_S,  # type: ignore[arg-type]
        **extra,
    )
    return GracefulServer(config, on_exit)


def bind_both(app: ProxyApp) -> tuple[socket.socket, socket.socket]:
    """The proxy's and the admin port's listening sockets; tells `app` its admin port."""
    config = app.config
    proxy = bind(config.host, config.port)
    try:
        admin = bind(config.admin_host, config.admin_port)
    except OSError:
        proxy.close()
        raise
    app.admin_port = admin.getsockname()[1]
    return proxy, admin


@asynccontextmanager
async def serve_proxy_in_background(app: ProxyApp) -> AsyncIterator[tuple[str, str]]:
    """Run `app` in this event loop; yields (proxy URL, admin URL), e.g. for tests."""
    proxy, admin = bind_both(app)
    server = proxy_server(app)
    task = asyncio.create_task(server.serve(sockets=[proxy, admin]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        urls = tuple(f"http://{s.getsockname()[0]}:{s.getsockname()[1]}" for s in (proxy, admin))
        yield urls[0], urls[1]
    finally:
        server.should_exit = True
        await task
        proxy.close()
        admin.close()
