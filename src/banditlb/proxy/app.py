"""The proxy's ASGI app: two ports, one lifespan.

`ProxyApp(config)` is served on two sockets by one uvicorn server (`proxy.serving`): requests
to the admin port go to a small Starlette app (`/healthz`, `/readyz`, `/api/state`,
`/metrics`, the dashboard: the same routes, guard and collectors as `serve`); everything else
goes to `ProxyEngine`. Decision: the proxy forwards *every* path, so its own routes cannot
share the proxy's port without hiding an upstream's `/metrics` or `/healthz`; they live on the
admin port (default 8081), as Envoy's admin interface does.

The lifespan opens the upstream connection pool (aiohttp; no cookie jar, so one client's
cookies never reach another's requests; no automatic headers or decompression, so the
client's own headers and bytes pass unchanged), builds the strategy, one `Router` per route
(each with the route's retry rules, all over the same strategy and one shared Retry-After
table, since a 429's Retry-After is about the upstream, not the route), the live stats and
the recorder.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from banditlb.access import AccessPolicy
from banditlb.balancer.app import CancelledAnswer, http_error, json_safe, server_error
from banditlb.balancer.guard import AccessGuard
from banditlb.balancer.loops import new_mark
from banditlb.balancer.metrics import metrics_registry, metrics_route
from banditlb.balancer.recording import NullRecorder, Recorder
from banditlb.balancer.stats import LiveStats
from banditlb.dashboard import dashboard_routes
from banditlb.game.clock import Clock, WallClock
from banditlb.game.router import RetryRules, Router
from banditlb.json_errors import error_response
from banditlb.proxy.engine import ProxyEngine
from banditlb.proxy.latency import FasterAmongEquals, LatencyTable
from banditlb.proxy.relay import answer_json
from banditlb.proxy.spec import ProxyConfig
from banditlb.shared_state import SharedState
from banditlb.strategies.base import DeclaredLimits, Strategy
from banditlb.strategies.registry import build_strategy

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ProxyState:
    """What the lifespan builds; read by the admin routes and the metrics collector."""

    config: ProxyConfig
    clock: Clock
    strategy: Strategy
    routers: list[Router]
    engine: ProxyEngine
    stats: LiveStats
    recorder: Recorder
    started_at: float

    @property
    def shared(self) -> SharedState | None:
        """The proxy learns alone: shared state (`serve --state`) is the balancer's for now."""
        return None

    @property
    def router(self) -> Router:
        """Any route's router: they share the Retry-After table (`blocked_until`)."""
        return self.routers[-1]

    @property
    def in_flight(self) -> int:
        return self.engine.in_flight


def state_dict(state: ProxyState) -> dict[str, Any]:
    """The `/api/state` document, shaped like `serve`'s (the dashboard reads both); it names
    upstreams, URLs and injected header *names*, never a header's value."""
    now = state.clock.now()
    names = state.stats.servers
    blocked = state.router.blocked_until
    arms = [
        {**asdict(snap), "server": names[snap.arm], "blocked_until": blocked[snap.arm]}
        for snap in state.strategy.snapshot(now)
    ]
    document: dict[str, Any] = json_safe(
        {
            "settings": state.config.summary(),
            "now": now,
            "uptime_s": time.time() - state.started_at,
            "in_flight": state.in_flight,
            "stats": state.stats.to_dict(now),
            "strategy": {"name": state.config.strategy, "arms": arms},
        }
    )
    return document


def make_session(config: ProxyConfig) -> aiohttp.ClientSession:
    """The upstream pool: keep-alive, no cookie jar, no added headers, bytes left as sent."""
    connector = aiohttp.TCPConnector(limit=config.max_in_flight, keepalive_timeout=30.0)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
    )


def build_routers(config: ProxyConfig, strategy: Strategy, latencies: LatencyTable) -> list[Router]:
    """One Router per route (its own retry rules), sharing the strategy and Retry-After table;
    a route that prefers faster upstreams sees the strategy through `FasterAmongEquals`."""
    n_arms = len(config.upstreams)
    routers = [
        Router(
            FasterAmongEquals(strategy, latencies, tolerance=r.latency_tolerance)
            if r.prefer_faster
            else strategy,
            n_arms,
            RetryRules(r.free_attempts, r.penalty, r.max_attempts, r.max_hold),
        )
        for r in config.routes
    ]
    shared = routers[0].blocked_until
    for router in routers[1:]:
        router.blocked_until = shared
    return routers


async def answer_not_started(scope: Scope, receive: Receive, send: Send) -> None:
    """The proxy port's answer before the lifespan has built the engine (and after it ends)."""
    await answer_json(send, 503, {"error": "proxy not started"}, [(b"retry-after", b"1")])


class ProxyApp:
    """ASGI entry point for both ports; `admin_port` is set once the sockets are bound."""

    def __init__(
        self,
        config: ProxyConfig,
        *,
        recorder: Recorder | None = None,
        clock: Clock | None = None,
        strategy: Strategy | None = None,
        admin_routes: Sequence[BaseRoute] = (),
        dashboard_store: Path | None = None,
        mark: str | None = None,
        control_token: str | None = None,
    ) -> None:
        self.config = config
        self.mark = mark or new_mark()
        self.admin_port: int | None = config.admin_port or None
        self.state: ProxyState | None = None
        self._recorder = recorder
        self._clock = clock
        self._strategy = strategy
        registry = metrics_registry(lambda: self.state)
        if dashboard_store is not None:  # the dashboard over this store, live from /api/state
            admin_routes = [*admin_routes, *dashboard_routes(dashboard_store, self.document)]
        self.admin = Starlette(
            routes=[
                Route("/healthz", self._healthz, methods=["GET"]),
                Route("/readyz", self._readyz, methods=["GET"]),
                Route("/api/state", self._api_state, methods=["GET"]),
                metrics_route(registry),
                *admin_routes,
            ],
            exception_handlers={HTTPException: http_error, Exception: server_error},
            lifespan=self._lifespan,
        )
        self._engine: ASGIApp = answer_not_started
        self._guarded = AccessGuard(
            self.admin, AccessPolicy.for_bind(config.admin_host, control_token)
        )

    def document(self, request: Request | None = None) -> dict[str, Any]:
        """`/api/state` (also the dashboard's state provider)."""
        if self.state is None:
            return {}
        return state_dict(self.state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.admin(scope, receive, send)
            return
        server = scope.get("server")
        if server is not None and server[1] == self.admin_port:
            await self._guarded(scope, receive, send)
            return
        await self._engine(scope, receive, send)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        config = self.config
        async with AsyncExitStack() as stack:
            session = make_session(config)
            stack.push_async_callback(session.close)
            n_arms = len(config.upstreams)
            policy = self._strategy or build_strategy(
                config.strategy, n_arms, random.Random(config.seed), config.params
            )
            if isinstance(policy, DeclaredLimits):
                for arm, upstream in enumerate(config.upstreams):
                    if upstream.limit is not None:
                        policy.declare_limit(arm, upstream.limit.requests, upstream.limit.window)
            latencies = LatencyTable(n_arms)
            routers = build_routers(config, policy, latencies)
            names = [u.name for u in config.upstreams]
            stats = LiveStats(names, config.routes[-1].free_attempts)
            recorder = self._recorder or NullRecorder()
            await recorder.start()
            stack.push_async_callback(recorder.close)
            clock = self._clock or WallClock()
            engine = ProxyEngine(
                config, routers, session, clock=clock, recorder=recorder, stats=stats,
                mark=self.mark, latencies=latencies,
            )  # fmt: skip
            self.state = ProxyState(
                config, clock, policy, routers, engine, stats, recorder, started_at=time.time()
            )
            self._engine = CancelledAnswer(engine)  # JSON 503 if shutdown's backstop cuts one
            try:
                yield
            finally:
                self.state = None
                self._engine = answer_not_started

    async def _healthz(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def _readyz(self, request: Request) -> JSONResponse:
        if self.state is None:
            return error_response(503, "not ready: the proxy is not started")
        return JSONResponse(
            {
                "status": "ready",
                "upstreams": len(self.config.upstreams),
                "strategy": self.config.strategy,
            }
        )

    async def _api_state(self, request: Request) -> JSONResponse:
        return JSONResponse(self.document(request))
