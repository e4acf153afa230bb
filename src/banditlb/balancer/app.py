"""The balancer's ASGI app: `create_app(settings)`; the lifespan owns every shared resource.

The lifespan opens the upstream connection pool (`LeanDownstream`), builds the strategy,
router, `Balancer` and `LiveStats`, starts the recorder, and puts them on
`app.state.balancer` as a `BalancerState`.
Routes: `POST /` (the game), `GET /healthz` (alive), `GET /readyz` (strategy built, 503 until),
`GET /api/state` (settings, live stats, strategy), `GET /metrics` (Prometheus).
Every error answer is JSON `{"error": "..."}`, unknown paths and methods included.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any, cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from banditlb.access import AccessPolicy
from banditlb.balancer.balancer import Balancer, Delivery
from banditlb.balancer.downstream import Downstream
from banditlb.balancer.fast_path import SubmitFastPath
from banditlb.balancer.guard import AccessGuard
from banditlb.balancer.intake import OverloadedError, StoreBehindError, read_id
from banditlb.balancer.lean_downstream import LeanDownstream
from banditlb.balancer.loops import new_mark, refuse_loop, via_value
from banditlb.balancer.metrics import metrics_registry, metrics_route
from banditlb.balancer.recording import NullRecorder, Recorder
from banditlb.balancer.settings import BalancerSettings
from banditlb.balancer.stats import LiveStats, Result
from banditlb.errors import BanditLBError
from banditlb.game.clock import Clock, WallClock
from banditlb.game.router import Router
from banditlb.json_errors import error_of, error_response, http_error_of
from banditlb.shared_state import SharedState
from banditlb.strategies.base import Strategy
from banditlb.strategies.registry import build_strategy

log = logging.getLogger(__name__)


@dataclass(slots=True)
class BalancerState:
    """What the lifespan builds and the routes use; lives on `app.state.balancer`."""

    settings: BalancerSettings
    clock: Clock
    strategy: Strategy
    router: Router
    balancer: Balancer
    stats: LiveStats
    recorder: Recorder
    started_at: float  # Unix epoch seconds
    mark: str  # this instance's name in Via headers (loop detection)
    in_flight: int = 0
    shared: SharedState | None = None  # the cluster's shared state (--state), when used


def balancer_state(request: Request) -> BalancerState:
    state: BalancerState = request.app.state.balancer
    return state


def delivery_response(delivery: Delivery, retry_after_s: int | None = None) -> JSONResponse:
    """200 delivered; 502 attempted but not delivered; 503 when no attempt could be made
    (with `Retry-After: retry_after_s` when given)."""
    if delivery.delivered:
        body = {"id": delivery.request_id, "server": delivery.server, "attempts": delivery.attempts}
        return JSONResponse(body)
    body = {"id": delivery.request_id, "attempts": delivery.attempts, "error": delivery.stop.value}
    if delivery.attempts:
        return JSONResponse(body, status_code=502)
    headers = None if retry_after_s is None else {"Retry-After": str(retry_after_s)}
    return JSONResponse(body, status_code=503, headers=headers)


def unblocked_in(state: BalancerState) -> int:
    """Whole seconds (at least 1) until the first server leaves its Retry-After."""
    wait = min(state.router.blocked_until) - state.clock.now()
    return max(1, math.ceil(wait)) if math.isfinite(wait) else 1


async def submit(request: Request) -> JSONResponse:
    """`POST /`: validate the id, then let the Balancer deliver it."""
    state = balancer_state(request)
    if state.in_flight >= state.settings.max_in_flight:  # before reading: shed load cheaply
        raise OverloadedError(
            f"balancer overloaded: {state.in_flight} requests in flight, "
            f"max_in_flight is {state.settings.max_in_flight}"
        )
    via = request.headers.get("via", "")
    refuse_loop(via, state.mark)
    if state.recorder.saturated(state.in_flight):  # backpressure: bounds what a crash can lose
        raise StoreBehindError(
            "balancer overloaded: the run store's writer is behind; retry shortly"
        )
    state.in_flight += 1
    try:
        request_id = await read_id(request, state.settings.body_timeout)
        delivery = await state.balancer.forward(request_id, via)
    finally:
        state.in_flight -= 1
    if delivery.delivered or delivery.attempts:
        return delivery_response(delivery)
    return delivery_response(delivery, unblocked_in(state))


def begin_shutdown(app: Starlette, grace: float) -> None:
    """SIGTERM arrived: every request in flight must end within `grace` seconds (the attempt
    still waiting then is cut short, recorded and answered; see `Balancer.stop_by`)."""
    state: BalancerState | None = getattr(app.state, "balancer", None)
    if state is not None:
        state.balancer.stop_by(state.clock.now() + grace)


class CancelledAnswer:
    """ASGI wrapper: a request cancelled from outside (uvicorn's shutdown backstop) before its
    answer started gets a JSON 503 instead of uvicorn's plain-text 500. Free on the happy path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            if scope["type"] != "http":
                raise
            body = b'{"error": "balancer shutting down: the request was cut short"}'
            try:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"retry-after", b"1"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
            except RuntimeError:  # the answer had already started: nothing more to say
                raise asyncio.CancelledError from None


async def healthz(request: Request) -> JSONResponse:
    """Alive: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready: upstreams configured and the strategy built (the lifespan has run); else 503."""
    state: BalancerState | None = getattr(request.app.state, "balancer", None)
    if state is None or not state.settings.upstreams:
        return error_response(503, "not ready: the balancer is not started")
    document: dict[str, Any] = {
        "status": "ready",
        "upstreams": len(state.settings.upstreams),
        "strategy": state.settings.strategy,
    }
    if state.shared is not None:  # still ready without Redis: it serves on local state
        shared = state.shared
        document["shared_state"] = {
            "cluster": shared.config.cluster,
            "connected": shared.up,
            "mode": "shared" if shared.up else "local",
            "last_error": shared.last_error or None,
        }
    return JSONResponse(document)


def json_safe(value: Any) -> Any:
    """`value` with non-finite floats (which JSON cannot carry) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def state_document(request: Request) -> dict[str, Any]:
    """The `/api/state` document for the app serving `request` (a dashboard state provider)."""
    return state_dict(balancer_state(request))


def state_dict(state: BalancerState) -> dict[str, Any]:
    """The `/api/state` document: settings, live stats, per-arm strategy state; JSON-safe."""
    now = state.clock.now()
    names = [u.name for u in state.settings.upstreams]
    arms = [
        {
            **asdict(snap),
            "server": names[snap.arm],
            "blocked_until": state.router.blocked_until[snap.arm],
        }
        for snap in state.strategy.snapshot(now)
    ]
    document: dict[str, Any] = json_safe(
        {
            "settings": state.settings.summary(),
            "now": now,
            "uptime_s": time.time() - state.started_at,
            "in_flight": state.in_flight,
            "stats": state.stats.to_dict(now),
            "strategy": {"name": state.settings.strategy, "arms": arms},
        }
    )
    if state.shared is not None:
        document["cluster"] = json_safe(state.shared.status(now))
    return document


async def api_state(request: Request) -> JSONResponse:
    return JSONResponse(state_document(request))


async def banditlb_error(request: Request, exc: Exception) -> JSONResponse:
    """Every BanditLBError becomes `{"error": "..."}` with its own `http_status`."""
    balancer_state(request).stats.reject()
    return error_of(cast(BanditLBError, exc))  # registered for BanditLBError only


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (unknown path 404, wrong method 405) as JSON, headers kept."""
    return http_error_of(cast(HTTPException, exc))  # registered for HTTPException only


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered 500 JSON without details."""
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return error_response(500, "internal error")


def balancer_names(settings: BalancerSettings) -> list[str]:
    """The upstreams' names in arm order (replicas of a cluster match servers by name)."""
    return [u.name for u in settings.upstreams]


def stats_counters(stats: LiveStats) -> Callable[[], dict[str, int]]:
    """This replica's request counts for its cluster heartbeat."""

    def counters() -> dict[str, int]:
        return {
            "requests": stats.requests,
            "attempts": stats.attempts,
            "delivered": stats.results[Result.DELIVERED],
        }

    return counters


def create_app(
    settings: BalancerSettings,
    *,
    recorder: Recorder | None = None,
    downstream: Downstream | None = None,
    clock: Clock | None = None,
    strategy: Strategy | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    shared: SharedState | None = None,
) -> Starlette:
    """Build the balancer app; nothing is opened until the lifespan starts.

    `strategy` replaces the one the settings name (tests pass a scripted one); `extra_routes`
    are mounted after the balancer's own (e.g. the dashboard's, with `state_document` as
    its state provider). `shared` links the replica to its cluster (`--state`): the lifespan
    starts and closes it, and it hears of every answered attempt.
    """

    mark = new_mark()
    # Read at scrape time, by when `app` below is bound; None until the lifespan has run.
    registry = metrics_registry(lambda: getattr(app.state, "balancer", None))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            sender = downstream
            if sender is None:
                lean = LeanDownstream(
                    settings.upstreams,
                    settings.attempt_timeout,
                    via=via_value(mark),
                    max_idle=settings.max_in_flight,
                )
                stack.push_async_callback(lean.close)
                sender = lean
            the_clock = clock or WallClock()
            n_arms = len(settings.upstreams)
            policy = strategy or build_strategy(
                settings.strategy, n_arms, random.Random(settings.seed), settings.params
            )
            router = Router(policy, n_arms, settings.rules())
            stats = LiveStats([u.name for u in settings.upstreams], settings.free_attempts)
            the_recorder = recorder or NullRecorder()
            await the_recorder.start()
            stack.push_async_callback(the_recorder.close)
            balancer = Balancer(
                router,
                sender,
                [u.name for u in settings.upstreams],
                clock=the_clock,
                recorder=the_recorder,
                stats=stats,
                request_deadline=settings.request_deadline,
            )
            if shared is not None:
                shared.attach(router, the_clock, balancer_names(settings), stats_counters(stats))
                balancer.on_attempt = shared.attempt
                await shared.start()
                stack.push_async_callback(shared.close)
            app.state.balancer = BalancerState(
                settings, the_clock, policy, router, balancer, stats, the_recorder,
                started_at=time.time(), mark=mark, shared=shared,
            )  # fmt: skip
            yield

    app = Starlette(
        routes=[
            Route("/", submit, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/api/state", api_state, methods=["GET"]),
            metrics_route(registry),
            *extra_routes,
        ],
        exception_handlers={
            BanditLBError: banditlb_error,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    # Outermost first: CancelledAnswer, AccessGuard, SubmitFastPath, then Starlette's router.
    app.add_middleware(SubmitFastPath, handler=submit, on_error=banditlb_error)
    app.add_middleware(
        AccessGuard, policy=AccessPolicy.for_bind(settings.host, settings.control_token)
    )
    app.add_middleware(CancelledAnswer)
    return app
