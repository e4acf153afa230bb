"""Control surfaces are safe by default (issue 9 item 8): Host names only, no cross-origin
writes, an optional bearer token; the rules themselves, then the fleet's control endpoint and
the balancer's /api/state and /metrics over real loopback HTTP."""

from __future__ import annotations

import httpx
import pytest

from banditlb.access import AccessPolicy, allowed_hosts_for
from banditlb.balancer.app import create_app
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.fleet import Fleet
from banditlb.models import scenario

pytestmark = pytest.mark.anyio

ONE = """
name = "one"

[[servers]]
name = "ok"
tier = "T1"
port = 4800
error_rate = 0.0
"""
GOOD_ID = "abcdefghijklmnopqrstuvwx"
EVIL = {"Host": "evil.example:3999"}
CROSS_SITE = {"Origin": "http://evil.example", "Content-Type": "text/plain"}


def test_allowed_hosts_follow_the_bind_address() -> None:
    """Loopback binds answer loopback names; one address answers itself; a wildcard any."""
    assert allowed_hosts_for("127.0.0.1") == {"localhost", "127.0.0.1", "::1"}
    assert allowed_hosts_for("[::1]") == {"localhost", "127.0.0.1", "::1"}
    assert allowed_hosts_for("10.0.0.2") == {"10.0.0.2"}
    assert allowed_hosts_for("0.0.0.0") is None


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("127.0.0.1:8000", True),
        ("localhost", True),
        ("[::1]:8000", True),
        ("LOCALHOST:1", True),
        ("evil.example", False),
        ("127.0.0.1.evil.example", False),
        ("evil.example:127.0.0.1", False),
    ],
)
def test_host_check(host: str, ok: bool) -> None:
    """Only loopback names pass a loopback-bound server's Host check, with any port."""
    assert (AccessPolicy().check_host(host) is None) is ok


@pytest.mark.parametrize(
    ("method", "origin", "fetch_site", "ok"),
    [
        ("POST", None, None, True),  # curl, wrk, the harness
        ("POST", "http://127.0.0.1:8000", "same-origin", True),
        ("POST", None, "none", True),  # typed in the address bar
        ("POST", "http://evil.example", None, False),
        ("POST", "null", None, False),
        ("POST", None, "cross-site", False),
        ("POST", None, "same-site", False),
        ("GET", "http://evil.example", "cross-site", True),  # reads are the Host check's job
    ],
)
def test_cross_origin_writes_are_refused(
    method: str, origin: str | None, fetch_site: str | None, ok: bool
) -> None:
    """A write from a browser on another origin is refused; clients without Origin are not."""
    denied = AccessPolicy().check_origin(method, "127.0.0.1:8000", origin, fetch_site)
    assert (denied is None) is ok


def test_the_token_is_required_only_when_configured() -> None:
    """No token: anything passes; with one, only `Bearer <token>` does (401 otherwise)."""
    assert AccessPolicy().check_token(None) is None
    policy = AccessPolicy(token="s3cret")
    assert policy.check_token("Bearer s3cret") is None
    assert policy.check_token("bearer s3cret") is None
    for wrong in (None, "Bearer nope", "Basic s3cret", "s3cret"):
        denied = policy.check_token(wrong)
        assert denied is not None
        assert denied.status == 401


async def test_the_fleet_control_endpoint_refuses_rebinding_cross_site_posts_and_no_token() -> None:
    """The fleet's control port: a foreign Host is 403, a cross-site POST /reset is 403 and
    resets nothing, /servers/x/down without the token is 401 and leaves the server up; with
    the token and a loopback Host everything works; /healthz stays open."""
    async with (
        Fleet(scenario.loads(ONE), ephemeral=True, control_token="s3cret") as fleet,
        httpx.AsyncClient(base_url=fleet.control_url) as client,
    ):
        auth = {"Authorization": "Bearer s3cret"}
        host, port = fleet.address("ok")
        await client.post(f"http://{host}:{port}/", content=GOOD_ID)
        rebound = await client.get("/score", headers={**EVIL, **auth})
        cross = await client.post("/reset", headers={**CROSS_SITE, **auth})
        no_token = await client.post("/servers/ok/down")
        still_up = fleet.is_up("ok")
        attempts_after = fleet.ledger("T1").score().attempts
        healthy = await client.get("/healthz", headers=EVIL)
        allowed = await client.post("/reset", headers=auth)
        reset_to = fleet.ledger("T1").score().attempts
    assert (rebound.status_code, cross.status_code, no_token.status_code) == (403, 403, 401)
    assert "evil.example" in rebound.json()["error"]
    assert "cross-origin POST" in cross.json()["error"]
    assert no_token.headers["www-authenticate"] == "Bearer"
    assert still_up
    assert attempts_after == 1
    assert healthy.status_code == 200
    assert allowed.status_code == 200
    assert reset_to == 0


async def test_balancer_state_and_metrics_check_host_origin_and_token() -> None:
    """The balancer's /api/state and /metrics refuse a foreign Host (403) and, with a token,
    a request without it (401); POST / from another origin is 403; the referee's routes
    (POST / without Origin, /healthz) work as before."""
    settings = BalancerSettings(upstreams=(Upstream("s", "127.0.0.1", 9),), control_token="t0k")
    async with (
        serve_in_background(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        auth = {"Authorization": "Bearer t0k"}
        answers = {
            "rebound state": await client.get("/api/state", headers={**EVIL, **auth}),
            "rebound metrics": await client.get("/metrics", headers={**EVIL, **auth}),
            "state without token": await client.get("/api/state"),
            "metrics without token": await client.get("/metrics"),
            "cross-site POST /": await client.post("/", content=GOOD_ID, headers=CROSS_SITE),
            "state": await client.get("/api/state", headers=auth),
            "metrics": await client.get("/metrics", headers=auth),
            "healthz": await client.get("/healthz", headers=EVIL),
        }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "rebound state": 403,
        "rebound metrics": 403,
        "state without token": 401,
        "metrics without token": 401,
        "cross-site POST /": 403,
        "state": 200,
        "metrics": 200,
        "healthz": 200,
    }
    for name in ("rebound state", "state without token", "cross-site POST /"):
        assert answers[name].headers["content-type"] == "application/json"
        assert answers[name].json()["error"]
