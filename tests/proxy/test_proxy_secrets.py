"""An upstream's key, read from the environment, reaches that upstream and nothing else."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from proxy_doubles import proxy_rig

from banditlb.proxy.spec import ProxyConfig
from banditlb.proxy.testing import ScriptedUpstream
from banditlb.store import SqliteRecorder, live_run

pytestmark = pytest.mark.anyio

SECRET = "sk-live-Z9q8SECRETvalue"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_secret_header_never_leaks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """The key is injected upstream (replacing the client's own Authorization), and appears in
    no log line, /api/state, /metrics, dashboard page or API answer, nor the run store file."""
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "runs.db"

    def store(config: ProxyConfig) -> SqliteRecorder:
        return SqliteRecorder(db, run=live_run(config.summary()), flush_interval=0.01)

    secret_header = {"Authorization": {"env": "KEY_A", "prefix": "Bearer "}}
    upstreams = [ScriptedUpstream("u0"), ScriptedUpstream("u1", status=500)]
    dead = f"http://127.0.0.1:{closed_port()}"
    extra = [{"headers": secret_header}] * 3
    seen: list[str] = []
    async with proxy_rig(
        upstreams=upstreams,
        extra_urls=[dead],
        env={"KEY_A": SECRET},
        upstream_extra=extra,
        recorder_for=store,
        dashboard_store=db,
        strategy="round_robin",
    ) as rig:
        for i in range(6):
            answer = await rig.client.get(
                f"/{i}/echo", headers={"Authorization": "Bearer client-own-token"}
            )
            if answer.status_code == 200 and "headers" in answer.json():
                seen += [v for n, v in answer.json()["headers"] if n == "authorization"]
        pages = [await rig.admin.get(path) for path in ("/api/state", "/metrics", "/dashboard")]
        runs = await rig.admin.get("/api/runs")
        run_id = runs.json()["runs"][0]["id"]
        pages += [runs, await rig.admin.get(f"/api/runs/{run_id}/attempts")]
        pages.append(await rig.admin.get(f"/api/runs/{run_id}"))
    assert seen
    assert set(seen) == {f"Bearer {SECRET}"}
    for page in pages:
        assert page.status_code == 200, page.url
        assert SECRET not in page.text, page.url
    assert "Authorization" in pages[0].text  # /api/state names the injected header...
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("runs.db"))
    assert len(stored) > 0
    assert SECRET.encode() not in stored
    assert SECRET not in caplog.text
    out, err = capfd.readouterr()
    assert SECRET not in out + err


def test_a_config_never_shows_its_secrets() -> None:
    """repr, str and summary of a loaded config hide the value (Secret('***'))."""
    from banditlb.proxy.config import parse

    doc = {
        "upstreams": [
            {"name": "a", "url": "http://127.0.0.1:9/", "headers": {"X-Key": {"env": "K"}}}
        ]
    }
    config = parse(doc, "x.toml", {"K": SECRET})
    assert SECRET not in repr(config)
    assert SECRET not in str(config.summary())
    assert "Secret('***')" in repr(config)
