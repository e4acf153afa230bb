"""The dashboard: live page (SSE), compare, playground and replay pages, and a JSON API.

Mount it in any Starlette app with `routes=[..., *dashboard_routes(db_path, state_provider)]`,
or run it alone over stored runs with `create_dashboard_app(db_path)`. Read-only throughout.
"""

from __future__ import annotations

from banditlb.dashboard.app import create_dashboard_app
from banditlb.dashboard.events import StateProvider, live_event
from banditlb.dashboard.routes import dashboard_routes

__all__ = ["StateProvider", "create_dashboard_app", "dashboard_routes", "live_event"]
