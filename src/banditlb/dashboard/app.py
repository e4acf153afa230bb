"""The standalone dashboard (`banditlb dashboard`): stored runs, read-only, no live balancer."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from banditlb.dashboard.events import StateProvider
from banditlb.dashboard.routes import dashboard_routes
from banditlb.json_errors import error_response, http_error_of


async def _home(request: Request) -> Response:
    return RedirectResponse("/dashboard/compare")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no such route, wrong method) as `{"error": ...}`, like the API."""
    if isinstance(exc, HTTPException):
        return http_error_of(exc, prefix=f"{request.url.path[:80]}: ")
    return error_response(500, f"{request.url.path[:80]}: internal error")


def create_dashboard_app(
    store_path: Path | str | None = None, *, state_provider: StateProvider | None = None
) -> Starlette:
    """An app serving the dashboard over `store_path` (default: the user data dir's runs.db)."""
    return Starlette(
        routes=[
            Route("/", _home, methods=["GET"]),
            *dashboard_routes(store_path, state_provider),
        ],
        exception_handlers={HTTPException: _http_error},
    )
