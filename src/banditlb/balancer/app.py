"""The balancer's ASGI app: `create_app(settings)`; the lifespan owns every shared resource.

The lifespan opens the aiohttp session, builds the strategy, router, `Balancer` and
`LiveStats`, starts the recorder, and puts them on `app.state.balancer` as a `BalancerState`.
Routes: `POST /` (the game), `GET /healthz`, `GET /api/state` (settings, live stats, strategy).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from banditlb.balancer.balancer import Balancer, Delivery
from banditlb.balancer.downstream import Downstream, HttpDownstream, make_session
from banditlb.balancer.intake import OverloadedError, read_id
from banditlb.balancer.recording import NullRecorder, Recorder
from banditlb.balancer.settings import BalancerSettings
from banditlb.balancer.stats import LiveStats
from banditlb.clock import Clock, WallClock
from banditlb.errors import BanditLBError
from banditlb.router import Router
from banditlb.strategies.base import Strategy
from banditlb.strategies.registry import build_strategy


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
    in_flight: int = 0


def balancer_state(request: Request) -> BalancerState:
    state: BalancerState = request.app.state.balancer
    return state


def delivery_response(delivery: Delivery) -> JSONResponse:
    """200 delivered; 502 attempted but not delivered; 503 when no attempt could be made."""
    if delivery.delivered:
        body = {"id": delivery.request_id, "server": delivery.server, "attempts": delivery.attempts}
        return JSONResponse(body)
    body = {"id": delivery.request_id, "attempts": delivery.attempts, "error": delivery.stop.value}
    return JSONResponse(body, status_code=502 if delivery.attempts else 503)


async def submit(request: Request) -> JSONResponse:
    """`POST /`: validate the id, then let the Balancer deliver it."""
    state = balancer_state(request)
    request_id = await read_id(request)
    if state.in_flight >= state.settings.max_in_flight:
        raise OverloadedError(
            f"balancer overloaded: {state.in_flight} requests in flight, "
            f"max_in_flight is {state.settings.max_in_flight}"
        )
    state.in_flight += 1
    try:
        delivery = await state.balancer.forward(request_id)
    finally:
        state.in_flight -= 1
    return delivery_response(delivery)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


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
    return document


async def api_state(request: Request) -> JSONResponse:
    return JSONResponse(state_document(request))


async def banditlb_error(request: Request, exc: Exception) -> JSONResponse:
    """Every BanditLBError becomes `{"error": "..."}`, 400 unless the error says otherwise."""
    balancer_state(request).stats.reject()
    status = getattr(exc, "http_status", 400)
    return JSONResponse({"error": str(exc)}, status_code=status)


def create_app(
    settings: BalancerSettings,
    *,
    recorder: Recorder | None = None,
    downstream: Downstream | None = None,
    clock: Clock | None = None,
    strategy: Strategy | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """Build the balancer app; nothing is opened until the lifespan starts.

    `strategy` replaces the one the settings name (tests pass a scripted one); `extra_routes`
    are mounted after the balancer's own (e.g. the dashboard's, with `state_document` as
    its state provider).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            sender = downstream
            if sender is None:
                session = make_session(settings.max_in_flight, settings.attempt_timeout)
                stack.push_async_callback(session.close)
                sender = HttpDownstream(session, settings.upstreams, settings.attempt_timeout)
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
            app.state.balancer = BalancerState(
                settings, the_clock, policy, router, balancer, stats, the_recorder, time.time()
            )
            yield

    return Starlette(
        routes=[
            Route("/", submit, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/api/state", api_state, methods=["GET"]),
            *extra_routes,
        ],
        exception_handlers={BanditLBError: banditlb_error},
        lifespan=lifespan,
    )
