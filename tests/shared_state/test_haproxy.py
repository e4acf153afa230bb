"""deploy/haproxy.cfg with Debian's HAProxy in front of three replicas sharing a cluster."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from banditlb.balancer.app import create_app
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.fleet import Fleet
from banditlb.game.ids import new_id
from banditlb.models import scenario
from banditlb.shared_state import SharedState, SharedStateConfig
from banditlb.shared_state.local_redis import LocalRedis, free_port

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        not Path(HAPROXY).exists(), reason="haproxy not installed (make test installs it as root)"
    ),
]

WORLD = """
name = "pair"

[[servers]]
name = "a"
tier = "T"
port = 4800
error_rate = 0.2

[[servers]]
name = "b"
tier = "T"
port = 4801
error_rate = 0.4
"""


def test_the_shipped_config_is_valid() -> None:
    """`haproxy -c` accepts deploy/haproxy.cfg as shipped (its example hosts)."""
    result = subprocess.run(
        [HAPROXY, "-c", "-f", str(CONFIG)], capture_output=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr


async def test_haproxy_spreads_clients_over_the_cluster(redis_server: LocalRedis) -> None:
    """Through the shipped config every request is answered by one of the three replicas,
    each serves a share, and all three sit in one cluster."""
    front = free_port()
    async with AsyncExitStack() as stack:
        fleet = await stack.enter_async_context(Fleet(scenario.loads(WORLD), ephemeral=True))
        upstreams = tuple(Upstream(n, *fleet.address(n)) for n in ("a", "b"))
        urls = []
        for i in range(3):
            config = SharedStateConfig(redis_server.url, cluster="haproxy")
            shared = SharedState(config, info={"label": f"r{i}"})
            app = create_app(BalancerSettings(upstreams, seed=i, port=0), shared=shared)
            urls.append(await stack.enter_async_context(serve_in_background(app)))
        env = {
            **os.environ,
            "BANDITLB_FRONT": f"127.0.0.1:{front}",
            **{f"BANDITLB_REPLICA{i + 1}": u.removeprefix("http://") for i, u in enumerate(urls)},
        }
        proxy = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(CONFIG)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            rng = random.Random(4)
            statuses = []
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{front}", timeout=15) as c:
                for _ in range(100):  # bounded: until HAProxy listens
                    try:
                        await c.get("/healthz")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
                for _ in range(30):
                    statuses.append((await c.post("/", content=new_id(rng))).status_code)
            async with httpx.AsyncClient(timeout=5) as client:
                states = [(await client.get(url + "/api/state")).json() for url in urls]
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
    assert set(statuses) <= {200, 502}
    served = [state["stats"]["requests"] for state in states]
    assert sum(served) == 30
    assert all(n > 0 for n in served)
    assert {state["cluster"]["cluster"] for state in states} == {"haproxy"}
