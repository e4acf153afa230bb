"""Real upstreams (`ScriptedUpstream`) on loopback ports and a real proxy in front of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from banditlb.balancer.recording import MemoryRecorder, Recorder
from banditlb.balancer.serving import serve_in_background
from banditlb.game.clock import Clock
from banditlb.proxy.app import ProxyApp
from banditlb.proxy.config import parse
from banditlb.proxy.serving import serve_proxy_in_background
from banditlb.proxy.spec import ProxyConfig
from banditlb.proxy.testing import ScriptedUpstream
from banditlb.strategies.base import Strategy


@dataclass
class Rig:
    """A running proxy: its client, its admin client, the upstreams, the recorder, the app."""

    client: httpx.AsyncClient
    admin: httpx.AsyncClient
    upstreams: list[ScriptedUpstream]
    recorder: Recorder
    app: ProxyApp
    proxy_url: str


def document(
    urls: Sequence[str],
    *,
    routes: Sequence[Mapping[str, Any]] = (),
    upstream_extra: Sequence[Mapping[str, Any]] | None = None,
    strategy: str = "round_robin",
    **top: Any,
) -> dict[str, Any]:
    """A config document for upstreams at `urls` (named u0, u1, ...), both ports ephemeral."""
    extra = upstream_extra or [{} for _ in urls]
    return {
        "listen": {"port": 0, "admin_port": 0, **top.pop("listen", {})},
        "strategy": {"name": strategy},
        "upstreams": [
            {"name": f"u{i}", "url": url, "timeout": 5.0, **more}
            for i, (url, more) in enumerate(zip(urls, extra, strict=True))
        ],
        "routes": list(routes),
        **top,
    }


@asynccontextmanager
async def serve_all(servers: Sequence[ScriptedUpstream]) -> AsyncIterator[list[str]]:
    """Every upstream on its own loopback port; they start and stop concurrently (a test's
    teardown would otherwise wait for each uvicorn's shutdown in turn)."""
    stop = asyncio.Event()
    urls: list[asyncio.Future[str]] = [asyncio.get_running_loop().create_future() for _ in servers]

    async def run(server: ScriptedUpstream, url: asyncio.Future[str]) -> None:
        async with serve_in_background(server) as base:
            url.set_result(base)
            await stop.wait()

    tasks = [asyncio.create_task(run(s, u)) for s, u in zip(servers, urls, strict=True)]
    try:
        yield [await url for url in urls]
    finally:
        stop.set()
        await asyncio.gather(*tasks)


@asynccontextmanager
async def proxy_rig(
    n: int = 2,
    *,
    prefix: str = "",
    env: Mapping[str, str] | None = None,
    recorder: Recorder | None = None,
    admin_routes: Sequence[Any] = (),
    upstreams: Sequence[ScriptedUpstream] | None = None,
    policy: Strategy | None = None,
    clock: Clock | None = None,
    extra_urls: Sequence[str] = (),
    dashboard_store: Path | None = None,
    recorder_for: Callable[[ProxyConfig], Recorder] | None = None,
    **config: Any,
) -> AsyncIterator[Rig]:
    """`n` scripted upstreams (or those given), a proxy over them, and httpx clients;
    `extra_urls` come first in the upstream list (e.g. a closed port)."""
    servers = (
        list(upstreams) if upstreams is not None else [ScriptedUpstream(f"u{i}") for i in range(n)]
    )
    async with AsyncExitStack() as stack:
        urls = list(extra_urls) + [
            url + prefix for url in await stack.enter_async_context(serve_all(servers))
        ]
        settings = parse(document(urls, **config), "test.toml", env or {})
        if recorder_for is not None:
            recorder = recorder_for(settings)
        the_recorder = recorder or MemoryRecorder()
        app = ProxyApp(
            settings,
            recorder=the_recorder,
            admin_routes=admin_routes,
            strategy=policy,
            clock=clock,
            dashboard_store=dashboard_store,
        )
        proxy_url, admin_url = await stack.enter_async_context(serve_proxy_in_background(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=proxy_url, timeout=10.0)
        )
        admin = await stack.enter_async_context(httpx.AsyncClient(base_url=admin_url, timeout=10.0))
        yield Rig(client, admin, servers, the_recorder, app, proxy_url)
