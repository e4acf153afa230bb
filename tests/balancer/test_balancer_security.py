"""Security rules: loopback by default, upstreams only from configuration, no state-changing
endpoint (so no admin token is needed), the dashboard read-only, no request text in paths."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from live_doubles import Raw, exchange, upstreams_of
from starlette.routing import Mount, Route

from banditlb.balancer.app import create_app, state_document
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.cli import serve_cmd
from banditlb.dashboard import dashboard_routes
from banditlb.fleet import Fleet
from banditlb.models import scenario

pytestmark = pytest.mark.anyio

TWO = """
name = "two"

[[servers]]
name = "configured"
tier = "T"
port = 4600
error_rate = 0.0

[[servers]]
name = "other"
tier = "T"
port = 4601
error_rate = 0.0
"""


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    async with Fleet(scenario.loads(TWO), ephemeral=True) as started:
        yield started


def test_binds_loopback_unless_told_otherwise() -> None:
    """Settings and `banditlb serve` both default to 127.0.0.1."""
    settings = BalancerSettings(upstreams=(Upstream("s", "127.0.0.1", 4000),))
    assert settings.host == "127.0.0.1"
    assert inspect.signature(serve_cmd.serve).parameters["host"].default == "127.0.0.1"


def test_only_post_slash_changes_anything(tmp_path: Path) -> None:
    """Every route but `POST /` (the game itself) is GET-only, the dashboard's included: there
    is no reset or switch endpoint, so no admin token is needed on any address. Adding one
    must add `--admin-token` and refuse non-loopback hosts without it."""
    settings = BalancerSettings(upstreams=(Upstream("s", "127.0.0.1", 4000),))
    routes = dashboard_routes(tmp_path / "runs.db", state_document)
    app = create_app(settings, extra_routes=routes)
    methods = {}
    for route in app.routes:
        if isinstance(route, Route):
            methods[route.path] = sorted(route.methods or ())
        else:
            assert isinstance(route, Mount)
            assert route.path == "/dashboard/static"  # StaticFiles: GET and HEAD only
    assert {path: m for path, m in methods.items() if m != ["GET", "HEAD"]} == {"/": ["POST"]}


async def test_upstreams_come_only_from_configuration(fleet: Fleet) -> None:
    """A request naming another server (Host header, absolute URL, query) still goes only to
    the configured upstream."""
    host, port = fleet.address("other")
    settings = BalancerSettings(upstreams=upstreams_of(fleet, ["configured"]))
    tricks = [
        Raw(headers=(("Content-Type", "text/plain"), ("Host", f"{host}:{port}"))),
        Raw(path=f"http://{host}:{port}/"),
        Raw(path=f"/?upstream={host}:{port}"),
        Raw(headers=(("Content-Type", "text/plain"), ("X-Forwarded-Host", f"{host}:{port}"))),
    ]
    async with serve_in_background(create_app(settings)) as url:
        statuses = [(await exchange(url, trick.encode()))[0] for trick in tricks]
    assert statuses == [200, 200, 200, 200]
    assert fleet.ledger("T").servers["configured"].ok == 4
    assert "other" not in fleet.ledger("T").servers


async def test_dashboard_is_read_only_and_paths_cannot_escape(tmp_path: Path) -> None:
    """Writes to dashboard routes are 405; traversal through static files or run ids is a 4xx
    JSON error, never a file from outside the package."""
    settings = BalancerSettings(upstreams=(Upstream("s", "127.0.0.1", 4000),))
    routes = dashboard_routes(tmp_path / "runs.db", state_document)
    attempts = [
        Raw(method="POST", path="/dashboard"),
        Raw(method="DELETE", path="/api/runs", body=b""),
        Raw(method="PUT", path="/dashboard/static/app.js"),
        Raw(method="GET", path="/dashboard/static/../../../../etc/passwd", body=b""),
        Raw(method="GET", path="/dashboard/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", body=b""),
        Raw(method="GET", path="/dashboard/static/..%2f..%2f..%2fsettings.py", body=b""),
        Raw(method="GET", path="/api/runs/..%2f..%2fetc%2fpasswd", body=b""),
    ]
    async with serve_in_background(create_app(settings, extra_routes=routes)) as url:
        answers = [await exchange(url, a.encode()) for a in attempts]
    for raw, (status, headers, body) in zip(attempts, answers, strict=True):
        assert 400 <= status < 500, (raw.path, status)
        assert b"root:" not in body
        assert headers["content-type"] == "application/json", raw.path
        assert isinstance(json.loads(body)["error"], str)
    assert [status for status, _, _ in answers[:3]] == [405, 405, 405]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.2", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts_are_recognised(host: str, loopback: bool) -> None:
    """`banditlb serve` warns when it listens beyond these loopback addresses."""
    assert serve_cmd.is_loopback(host) is loopback
