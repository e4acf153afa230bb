"""Serving an ASGI app with uvicorn: in the foreground (`banditlb serve`) or in the background
on a pre-bound socket (tests and in-process runs; port 0 picks a free port)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import uvicorn

from banditlb.balancer.protocol import ServerLimits, connection_cap, guarded_protocol

BACKSTOP_S = 1.0
"""Seconds uvicorn waits past `grace` before it cancels what is still running: the app's own
deadline (`Balancer.stop_by`) ends every request at `grace`, this is only a backstop."""


class GracefulServer(uvicorn.Server):
    """uvicorn's server that also tells the app, at the first SIGTERM/SIGINT, that the shutdown
    grace has begun (`on_exit`), so requests in flight can end within it with an answer."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit and self._on_exit is not None:
            self._on_exit()
        super().handle_exit(sig, frame)


def json_log_config(level: str) -> dict[str, Any]:
    """uvicorn's own logs as JSON lines on stderr (`banditlb.logs.JsonFormatter`); no access log."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "banditlb.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


def uvicorn_server(
    app: Any,
    host: str,
    port: int,
    *,
    grace: float | None = None,
    log_level: str = "warning",
    json_logs: bool = False,
    limits: ServerLimits | None = None,
    on_exit: Callable[[], None] | None = None,
) -> GracefulServer:
    """uvicorn for `app`; on SIGTERM/SIGINT it stops accepting, lets in-flight requests finish
    for up to `grace` seconds (None: as long as they take), then runs the lifespan's shutdown
    (which flushes the recorder). "auto" picks uvloop and httptools when installed (they are,
    with uvicorn[standard]); no access log, so nothing is formatted per request. `json_logs`
    makes uvicorn's own lines JSON like banditlb's (the CLI sets it; tests leave it off).
    `limits` are the HTTP server's own (`protocol.ServerLimits`: header size and time,
    connections); `on_exit` runs at the first SIGTERM/SIGINT (the app's `begin_shutdown`)."""
    limits = limits or ServerLimits(max_connections=connection_cap())
    extra: dict[str, Any] = {"log_config": json_log_config(log_level)} if json_logs else {}
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,  # X-Forwarded-* are not trusted; saves a middleware per request
        loop="auto",
        http=guarded_protocol(limits),
        ws="none",
        lifespan="on",
        timeout_keep_alive=limits.keep_alive,  # type: ignore[arg-type]
        timeout_graceful_shutdown=None if grace is None else grace + BACKSTOP_S,  # type: ignore[arg-type]
        **extra,
    )
    return GracefulServer(config, on_exit)


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket; port 0 lets the OS choose. `reuse_port`: SO_REUSEPORT, so
    several processes (`serve --workers`) listen on one port and the kernel spreads the
    connections among them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and without it every keep-alive answer waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


@asynccontextmanager
async def serve_in_background(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    limits: ServerLimits | None = None,
    grace: float | None = None,
    on_exit: Callable[[], None] | None = None,
) -> AsyncIterator[str]:
    """Run `app` under uvicorn in this event loop; yields its base URL `http://host:port`."""
    sock = bind(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn_server(app, host, bound_port, limits=limits, grace=grace, on_exit=on_exit)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
