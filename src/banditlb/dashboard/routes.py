"""`dashboard_routes(...)`: every dashboard route, for the balancer app or the standalone one.

/dashboard, /dashboard/compare, /dashboard/playground, /dashboard/replay   pages
/dashboard/static/...                                  JS, CSS, vendored Plotly.js
/api/runs, /api/runs/{id}, /api/runs/{id}/attempts, /api/runs/{id}/timeline, /api/compare
/api/sweeps                                            simulator sweeps (compare: ?sweep=LABEL)
/api/events                                            SSE, only with a state provider
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from banditlb.dashboard.api import ApiError, RunsApi
from banditlb.dashboard.events import STREAM_SECONDS, EventStream, StateProvider
from banditlb.dashboard.pages import page, plotly
from banditlb.json_errors import error_of, error_response
from banditlb.store.schema import default_path

Endpoint = Callable[[Request], Awaitable[Response]]


def dashboard_routes(
    store_path: Path | str | None = None,
    state_provider: StateProvider | None = None,
    *,
    oracle_per_request: float | None = None,
    event_interval: float = 1.0,
    stream_seconds: float = STREAM_SECONDS,
) -> list[BaseRoute]:
    """Routes for the dashboard over the run database at `store_path` (default: user data dir).

    `state_provider(request)` returns the balancer's `/api/state` document; without one there
    is no live page data and `/api/events` answers 404. `oracle_per_request` (the LP bound)
    turns the live score into regret and % of oracle.
    """
    api = RunsApi(Path(store_path) if store_path is not None else default_path())
    if state_provider is not None:
        events: Endpoint = EventStream(
            state_provider,
            interval=event_interval,
            stream_seconds=stream_seconds,
            oracle_per_request=oracle_per_request,
        ).endpoint
    else:
        events = _no_live
    return [
        Route("/dashboard", page("live"), methods=["GET"], name="dashboard"),
        Route("/dashboard/compare", page("compare"), methods=["GET"]),
        Route("/dashboard/playground", page("playground"), methods=["GET"]),
        Route("/dashboard/replay", page("replay"), methods=["GET"]),
        Route("/dashboard/static/vendor/plotly.min.js", plotly, methods=["GET"]),
        Mount(
            "/dashboard/static",
            app=StaticFiles(packages=[("banditlb.dashboard", "static")]),
            name="dashboard-static",
        ),
        Route("/api/runs", _guard(api.index), methods=["GET"]),
        Route("/api/runs/{run_id}", _guard(api.one), methods=["GET"]),
        Route("/api/runs/{run_id}/attempts", _guard(api.attempts), methods=["GET"]),
        Route("/api/runs/{run_id}/timeline", _guard(api.timeline), methods=["GET"]),
        Route("/api/compare", _guard(api.compare), methods=["GET"]),
        Route("/api/sweeps", _guard(api.sweeps), methods=["GET"]),
        Route("/api/events", events, methods=["GET"]),
    ]


def _guard(handler: Endpoint) -> Endpoint:
    """Render ApiError as JSON here, so the routes behave the same inside any host app."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_of(exc)

    endpoint.__name__ = getattr(handler, "__name__", "endpoint")
    return endpoint


async def _no_live(request: Request) -> Response:
    return error_response(404, "no live balancer in this process; stored runs only")
