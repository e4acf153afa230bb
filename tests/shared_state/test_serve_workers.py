"""`banditlb serve --workers 2 --state URL`: two processes on one port sharing a cluster."""

from __future__ import annotations

import asyncio
import random
import signal

import httpx
import pytest

from banditlb.fleet import Fleet
from banditlb.game.ids import new_id
from banditlb.harness.processes import banditlb_command, start_process, wait_healthy
from banditlb.models import scenario
from banditlb.shared_state.local_redis import LocalRedis, free_port

pytestmark = pytest.mark.anyio

WORLD = """
name = "two"

[[servers]]
name = "a"
tier = "T"
port = 4700
error_rate = 0.1

[[servers]]
name = "b"
tier = "T"
port = 4701
error_rate = 0.5
"""


async def test_two_workers_serve_one_port_as_one_cluster(redis_server: LocalRedis) -> None:
    """Both workers answer on the one port, heartbeat into the cluster, and together have
    served exactly the requests sent; SIGTERM to the parent stops both cleanly."""
    port = free_port()
    async with Fleet(scenario.loads(WORLD), ephemeral=True) as fleet:
        (host, pa), (_, pb) = fleet.address("a"), fleet.address("b")
        command = banditlb_command(
            "serve", "--upstreams", f"{host}:{pa},{host}:{pb}", "--port", str(port),
            "--workers", "2", "--state", redis_server.url, "--cluster", "w", "--no-record",
        )  # fmt: skip
        process = await start_process("workers", command)
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_healthy(process, f"{url}/healthz")
            rng = random.Random(2)
            statuses = []
            for _ in range(30):  # a fresh connection each: the kernel spreads them
                async with httpx.AsyncClient(timeout=10.0) as client:
                    statuses.append((await client.post(url + "/", content=new_id(rng))).status_code)
            replicas: list[dict[str, object]] = []
            for _ in range(100):  # bounded: heartbeats come every second
                async with httpx.AsyncClient(timeout=10.0) as client:
                    state = (await client.get(url + "/api/state")).json()
                replicas = [r for r in state["cluster"]["replicas"] if r["alive"]]
                if len(replicas) == 2 and sum(int(r["requests"]) for r in replicas) == 30:
                    break
                await asyncio.sleep(0.1)
            process.process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.process.wait(), 20)
        finally:
            await process.stop()
    assert set(statuses) <= {200, 502}
    assert len(replicas) == 2
    assert sum(int(r["requests"]) for r in replicas) == 30
    assert sorted(str(r["label"]) for r in replicas) == ["balancer-w0", "balancer-w1"]
    assert code == 0
