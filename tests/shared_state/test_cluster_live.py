"""Two real balancers sharing state through a real redis-server, in front of a real fleet;
Redis killed and restarted mid-run."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest

from banditlb.balancer.app import create_app
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.fleet import Fleet
from banditlb.game.ids import new_id
from banditlb.models import scenario
from banditlb.shared_state import SharedState, SharedStateConfig
from banditlb.shared_state.local_redis import LocalRedis

pytestmark = pytest.mark.anyio

LIMITED = "\n".join(
    f"""
[[servers]]
name = "s{i}"
tier = "T"
port = {4600 + i}
error_rate = {0.2 + 0.1 * i}
limits = [{{ kind = "fixed_window", limit = 3, window = 1.0 }}]
"""
    for i in range(4)
)
WORLD = 'name = "limited"\n' + LIMITED


@asynccontextmanager
async def cluster(fleet: Fleet, url: str, n: int) -> AsyncIterator[list[str]]:
    """`n` balancers on ephemeral ports sharing `url`; yields their base URLs."""
    upstreams = tuple(Upstream(name, *fleet.address(name)) for name in ("s0", "s1", "s2", "s3"))
    async with AsyncExitStack() as stack:
        urls = []
        for i in range(n):
            settings = BalancerSettings(upstreams=upstreams, seed=i, port=0)
            config = SharedStateConfig(url, cluster="live", timeout=0.05, retry_interval=0.1)
            shared = SharedState(config, replica=f"r{i}", info={"label": f"r{i}"})
            app = create_app(settings, shared=shared)
            urls.append(await stack.enter_async_context(serve_in_background(app)))
        yield urls


async def post_all(client: httpx.AsyncClient, urls: list[str], ids: list[str]) -> list[int]:
    """Post `ids` at ~50/s, spread round-robin over the replicas; their statuses."""
    tasks = []
    for n, request_id in enumerate(ids):
        tasks.append(
            asyncio.create_task(client.post(urls[n % len(urls)] + "/", content=request_id))
        )
        await asyncio.sleep(0.02)
    return [r.status_code for r in await asyncio.gather(*tasks)]


async def wait_for_mode(client: httpx.AsyncClient, url: str, mode: str) -> dict[str, object]:
    """Poll /readyz (bounded) until the replica reports `mode`; its last answer."""
    for _ in range(200):
        answer = (await client.get(url + "/readyz")).json()
        if answer["shared_state"]["mode"] == mode:
            return dict(answer)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never reported mode {mode}: {answer}")


async def test_replicas_share_and_survive_a_redis_outage(redis_server: LocalRedis) -> None:
    """Every client request is answered (200, or 502 when its attempts all failed) before,
    during and after Redis is killed; during the outage each replica is ready on local
    state and says so in /readyz and /metrics; afterwards they share again, and each learned
    from the other's answers (the posteriors count the cluster's attempts, but for the few
    answers that were in Redis, unread, when it was killed)."""
    rng = random.Random(11)
    async with (
        Fleet(scenario.loads(WORLD), ephemeral=True) as fleet,
        cluster(fleet, redis_server.url, 2) as urls,
        httpx.AsyncClient(timeout=15.0) as client,
    ):
        for url in urls:
            await wait_for_mode(client, url, "shared")
        before = await post_all(client, urls, [new_id(rng) for _ in range(40)])
        redis_server.kill()
        during = await post_all(client, urls, [new_id(rng) for _ in range(40)])
        for url in urls:
            ready = await client.get(url + "/readyz")
            assert ready.status_code == 200
            assert ready.json()["shared_state"]["mode"] == "local"
            metrics = (await client.get(url + "/metrics")).text
            assert 'banditlb_shared_state_up{cluster="live"} 0.0' in metrics
            assert 'banditlb_shared_state_outages_total{cluster="live"} 1.0' in metrics
        redis_server.start()
        for url in urls:
            await wait_for_mode(client, url, "shared")
        after = await post_all(client, urls, [new_id(rng) for _ in range(40)])
        await asyncio.sleep(0.3)  # the last answers reach the peer
        states = [(await client.get(url + "/api/state")).json() for url in urls]
    assert set(before + during + after) <= {200, 502}
    for state in states:
        cluster_view = state["cluster"]
        assert cluster_view["connected"] is True
        assert cluster_view["received"] > 0
        assert cluster_view["queued"] == 0
        pulls = sum(arm["pulls"] for arm in state["strategy"]["arms"])
        attempts = sum(s["stats"]["attempts"] for s in states)
        # own attempts plus the peer's; answers in Redis that the peer had not read yet when
        # it was killed (no persistence) are lost to it: a few at most
        assert state["stats"]["attempts"] < pulls <= attempts
        assert attempts - pulls <= 3
