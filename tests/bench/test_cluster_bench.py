"""Many balancers, one brain: printed numbers for issue 11 (`make bench`).

1. Shared vs loners: the default scenario's T2 and T3 at 10 req/s in total, spread round-robin
   over N = 1, 2, 4 replicas (in one process, each its own app, strategy and Redis link);
   score per request (the fleet's referee) and 429 share, replicas sharing state through a
   real redis-server against replicas learning alone.
2. Redis killed for 10 s in the middle of a shared run: client requests that failed (none
   should: a 502 is a game outcome, not a failure), and the delivered share per 5 s slice.
3. Throughput with wrk: one process against `serve --workers 2 --state`; and the added p50/p99
   latency of --state at 100 req/s against instant upstreams.

`BANDITLB_CLUSTER_SECONDS` sets each live run's length (default 60).
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import pytest
from bench_support import balancer_process, instant_servers, percentile
from bench_support import wrk as bench_wrk

from banditlb.balancer.app import create_app
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.fleet import Fleet
from banditlb.game.ids import new_id
from banditlb.shared_state import SharedState, SharedStateConfig
from banditlb.shared_state.local_redis import LocalRedis, redis_server_path
from banditlb.sim.world import resolve_scenario

pytestmark = [
    pytest.mark.bench,
    pytest.mark.anyio,
    pytest.mark.skipif(redis_server_path() is None, reason="redis-server not installed"),
]

SECONDS = float(os.environ.get("BANDITLB_CLUSTER_SECONDS", "60"))
RATE = 10.0  # client requests per second per tier, in total over the replicas
TIERS = ("T2", "T3")
SLICE_S = 5.0


@dataclass
class TierRun:
    """What the client and the referee saw on one tier."""

    sent: list[float] = field(default_factory=list)  # seconds from the start
    statuses: list[int] = field(default_factory=list)  # 0: no answer (exception)
    latencies: list[float] = field(default_factory=list)
    score: float = 0.0
    attempts: int = 0
    rate_limited: int = 0

    @property
    def score_per_request(self) -> float:
        return self.score / len(self.statuses) if self.statuses else 0.0

    @property
    def failed_requests(self) -> int:
        """Requests with no game answer (not 200 nor 502): what Redis must never cause."""
        return sum(1 for s in self.statuses if s not in (200, 502))

    def delivered_by_slice(self, seconds: float) -> list[float]:
        slices = max(1, math.ceil(seconds / SLICE_S))
        sent, ok = [0] * slices, [0] * slices
        for at, status in zip(self.sent, self.statuses, strict=True):
            i = min(int(at // SLICE_S), slices - 1)
            sent[i] += 1
            ok[i] += status == 200
        return [o / s if s else 0.0 for o, s in zip(ok, sent, strict=True)]


@asynccontextmanager
async def replicas(
    fleet: Fleet, tier: str, n: int, redis_url: str | None, cluster: str
) -> AsyncIterator[list[str]]:
    """`n` balancers for `tier` (sharing `redis_url` when given); their base URLs."""
    world = resolve_scenario("default")
    upstreams = tuple(Upstream(s.name, *fleet.address(s.name)) for s in world.tier(tier))
    async with AsyncExitStack() as stack:
        urls = []
        for i in range(n):
            settings = BalancerSettings(upstreams=upstreams, seed=i, port=0, label=f"r{i}")
            shared = None
            if redis_url is not None:
                config = SharedStateConfig(redis_url, cluster=cluster)
                shared = SharedState(config, info={"label": f"{tier}-r{i}"})
            app = create_app(settings, shared=shared)
            urls.append(await stack.enter_async_context(serve_in_background(app)))
        yield urls


async def drive(
    session: aiohttp.ClientSession, urls: Sequence[str], seconds: float, seed: int
) -> TierRun:
    """Open loop: RATE requests/s for `seconds`, request k to replica k mod N."""
    run = TierRun()
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(url: str, request_id: str) -> None:
        began = loop.time()
        try:
            async with session.post(url + "/", data=request_id) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        run.sent.append(began - start)
        run.statuses.append(status)
        run.latencies.append(loop.time() - began)

    tasks = []
    for k in range(int(seconds * RATE)):
        delay = start + k / RATE - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(urls[k % len(urls)], new_id(rng))))
    await asyncio.gather(*tasks)
    return run


async def live_run(
    n: int, shared: bool, redis: LocalRedis, *, kill_at: float | None = None
) -> dict[str, TierRun]:
    """One fleet, N replicas per tier, both tiers loaded at once; Redis killed at `kill_at`
    for 10 s when given."""
    world = resolve_scenario("default")
    cluster = f"bench-{uuid.uuid4().hex[:8]}"
    async with AsyncExitStack() as stack:
        fleet = await stack.enter_async_context(Fleet(world, ephemeral=True))
        urls = {
            tier: await stack.enter_async_context(
                replicas(fleet, tier, n, redis.url if shared else None, f"{cluster}-{tier}")
            )
            for tier in TIERS
        }
        session = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        )
        await asyncio.sleep(0.5)  # every replica has joined its cluster

        async def outage() -> None:
            assert kill_at is not None
            await asyncio.sleep(kill_at)
            redis.kill()
            await asyncio.sleep(10.0)
            redis.start()

        killer = asyncio.create_task(outage()) if kill_at is not None else None
        runs = await asyncio.gather(
            *(drive(session, urls[t], SECONDS, seed=i) for i, t in enumerate(TIERS))
        )
        if killer is not None:
            await killer
        result = {}
        for tier, run in zip(TIERS, runs, strict=True):
            ledger = fleet.ledger(tier)
            score = ledger.score()
            run.score = score.score
            run.attempts = score.attempts
            run.rate_limited = sum(c.rate_limited for c in ledger.servers.values())
            result[tier] = run
        return result


@pytest.fixture
def redis() -> Iterator[LocalRedis]:
    """A redis-server for the bench, killed after it."""
    server = LocalRedis()
    server.start()
    yield server
    server.kill()


@pytest.mark.timeout(1800)
async def test_shared_state_vs_loners(redis: LocalRedis) -> None:
    """Prints score/request and 429 share per tier for N = 1, 2, 4: shared vs loners."""
    configs = [(1, False), (2, True), (2, False), (4, True), (4, False)]
    results: dict[tuple[int, bool], dict[str, TierRun]] = {}
    for n, shared in configs:
        results[(n, shared)] = await live_run(n, shared, redis)
    print(f"\nshared state vs loners: default scenario, {RATE:g} req/s per tier in total, "
          f"{SECONDS:g} s per run, requests round-robin over N replicas")  # fmt: skip
    print(f"{'tier':4} {'N':>2} {'mode':7} {'requests':>8} {'score/req':>9} {'vs N=1':>7} "
          f"{'429 share':>9} {'failed':>6}")  # fmt: skip
    for tier in TIERS:
        single = results[(1, False)][tier].score_per_request
        for (n, shared), by_tier in results.items():
            run = by_tier[tier]
            mode = "single" if n == 1 else ("shared" if shared else "loners")
            share = run.rate_limited / run.attempts if run.attempts else 0.0
            ratio = run.score_per_request / single - 1.0 if single else 0.0
            print(f"{tier:4} {n:>2} {mode:7} {len(run.statuses):>8} "
                  f"{run.score_per_request:>9.4f} {ratio:>+7.1%} {share:>9.1%} "
                  f"{run.failed_requests:>6}")  # fmt: skip
    assert all(r.failed_requests == 0 for by in results.values() for r in by.values())


@pytest.mark.timeout(1800)
async def test_redis_killed_for_ten_seconds(redis: LocalRedis) -> None:
    """Prints, for two shared replicas per tier with Redis killed at 40% of the run for
    10 s: failed client requests (must be 0) and the delivered share per 5 s slice."""
    kill_at = round(SECONDS * 0.4)
    runs = await live_run(2, True, redis, kill_at=kill_at)
    print(f"\nRedis killed at {kill_at} s for 10 s, 2 shared replicas per tier, "
          f"{RATE:g} req/s per tier, {SECONDS:g} s")  # fmt: skip
    for tier, run in runs.items():
        slices = run.delivered_by_slice(SECONDS)
        print(f"{tier}: requests {len(run.statuses)}, failed {run.failed_requests}, "
              f"score/req {run.score_per_request:.4f}, "
              f"429 share {run.rate_limited / max(1, run.attempts):.1%}")  # fmt: skip
        cells = " ".join(f"{i * SLICE_S:>3.0f}s:{v:.2f}" for i, v in enumerate(slices))
        print(f"  delivered per {SLICE_S:g} s: {cells}")
        assert run.failed_requests == 0


async def _latencies(url: str, rate: float, seconds: float) -> list[float]:
    """Open-loop POSTs at `rate`/s for `seconds`; each request's latency."""
    loop = asyncio.get_running_loop()
    rng = random.Random(1)
    out: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one() -> None:
            began = time.perf_counter()
            async with session.post(url + "/", data=new_id(rng)) as response:
                await response.read()
                assert response.status == 200
            out.append(time.perf_counter() - began)

        for _ in range(100):
            await one()
        out.clear()
        start = loop.time()
        tasks = []
        for k in range(int(rate * seconds)):
            delay = start + k / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return out


@pytest.mark.timeout(1800)
async def test_latency_and_throughput_with_state(redis: LocalRedis) -> None:
    """Prints p50/p99 at 100 req/s with and without --state (instant upstreams), and wrk's
    requests/s for one process vs `--workers 2 --state` (and vs one process with --state)."""
    state = ("--state", redis.url, "--no-record")
    async with instant_servers(2) as (_, ports):
        print("\nadded latency of --state, 100 req/s for 20 s, instant upstreams:")
        for label, extra in (("no state", ("--no-record",)), ("--state", state)):
            async with balancer_process(ports, *extra) as (url, _):
                values = await _latencies(url, 100.0, 20.0)
            print(f"  {label:9} p50 {percentile(values, 0.5) * 1000:6.3f} ms  "
                  f"p99 {percentile(values, 0.99) * 1000:6.3f} ms")  # fmt: skip
        if shutil.which("wrk") is None:
            print("wrk not installed: throughput skipped")
            return
        print("throughput (wrk, 2 threads, 64 connections, 10 s, instant upstreams):")
        for label, extra in (
            ("1 process", ("--no-record",)),
            ("1 process --state", state),
            ("--workers 2 --state", ("--workers", "2", *state)),
        ):
            async with balancer_process(ports, *extra) as (url, _):
                await asyncio.sleep(1.5)  # every worker up
                bench_wrk(f"{url}/", 2, 64, threads=2, check=True)  # warm-up
                report = bench_wrk(f"{url}/", 10, 64, threads=2, check=True)
            line = next((ln for ln in report.splitlines() if "Requests/sec" in ln), report)
            print(f"  {label:22} {line.strip()}")
