"""Replicas sharing state through a real redis-server: exchange, expiry, outages, merge-back."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import redis

from banditlb.game.clock import VirtualClock
from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.game.router import Router
from banditlb.shared_state import PeerEvent, SharedState, SharedStateConfig
from banditlb.shared_state.local_redis import LocalRedis
from banditlb.strategies.planner.capacity_planner import CapacityPlanner
from banditlb.strategies.registry import build_strategy

pytestmark = pytest.mark.anyio
NAMES = ["t2-0", "t2-1", "t2-2"]
OK = Outcome(OutcomeKind.ACCEPTED, 200, None, 0.01)
FAIL = Outcome(OutcomeKind.FAILED, 500, None, 0.01)


class Replica:
    """A router + planner on a virtual clock, linked to the cluster."""

    def __init__(self, url: str, name: str, wall: Callable[[], float], cluster: str) -> None:
        strategy = build_strategy("planner", len(NAMES), random.Random(0), {})
        assert isinstance(strategy, CapacityPlanner)
        self.strategy = strategy
        self.router = Router(strategy, len(NAMES))
        self.clock = VirtualClock(100.0)
        config = SharedStateConfig(url, cluster=cluster, timeout=0.5, heartbeat=0.05)
        self.shared = SharedState(config, replica=name, wall=wall)
        self.shared.attach(self.router, self.clock, NAMES, lambda: {"requests": 7})


@asynccontextmanager
async def replica(url: str, name: str, cluster: str = "c1") -> AsyncIterator[Replica]:
    r = Replica(url, name, lambda: 1_000_000.0, cluster)
    await r.shared.start()
    r.shared._task.cancel() if r.shared._task else None  # tests drive sync_once by hand
    try:
        yield r
    finally:
        await r.shared.close()


async def test_answers_reach_peers_once_and_never_come_back(redis_server: LocalRedis) -> None:
    """A replica's answers are applied by its peer once, and not again by itself."""
    async with replica(redis_server.url, "a") as a, replica(redis_server.url, "b") as b:
        for _ in range(4):
            a.shared.attempt(1, OK, 1)
        a.shared.attempt(2, FAIL, 2)
        assert await a.shared.sync_once()
        assert await b.shared.sync_once()
        assert await b.shared.sync_once()  # nothing new: nothing applied twice
        assert [s.successes for s in b.strategy.snapshot(100.0)] == [0, 4, 0]
        assert [s.failures for s in b.strategy.snapshot(100.0)] == [0, 0, 1]
        assert await a.shared.sync_once()
        assert sum(s.pulls for s in a.strategy.snapshot(100.0)) == 0
        assert (a.shared.sent, b.shared.received, a.shared.received) == (5, 5, 0)


async def test_clusters_do_not_mix(redis_server: LocalRedis) -> None:
    """A replica of another cluster on the same Redis hears nothing."""
    async with replica(redis_server.url, "a") as a, replica(redis_server.url, "x", "c2") as x:
        a.shared.attempt(0, OK, 1)
        await a.shared.sync_once()
        await x.shared.sync_once()
        assert x.shared.received == 0


async def test_every_key_expires(redis_server: LocalRedis) -> None:
    """Every key the cluster writes carries the cluster's name and an expiry."""
    async with replica(redis_server.url, "a") as a:
        a.shared.attempt(0, OK, 1)
        await a.shared.sync_once()
    client = redis.Redis(port=redis_server.port)
    keys = sorted(k.decode() for k in client.keys("*"))
    assert keys == ["banditlb:c1:batches", "banditlb:c1:events", "banditlb:c1:replicas"]
    assert all(0 < client.ttl(k) <= 3600 for k in keys)


async def test_a_retried_batch_is_not_written_twice(redis_server: LocalRedis) -> None:
    """A write whose answer was lost is retried with the same batch number: one entry."""
    async with replica(redis_server.url, "a") as a:
        a.shared.attempt(0, OK, 1)
        await a.shared.sync_once()
        a.shared._batch_no -= 1  # as if the answer had been lost: the same number again
        a.shared._queue.append(PeerEvent("t2-0", 1, OK, 1.0))
        await a.shared.sync_once()
    assert redis.Redis(port=redis_server.port).xlen("banditlb:c1:events") == 1


async def test_heartbeats_list_the_replicas_and_their_share(redis_server: LocalRedis) -> None:
    """Each replica's heartbeat shows it in every replica's cluster view."""
    async with replica(redis_server.url, "a") as a, replica(redis_server.url, "b") as b:
        await a.shared.sync_once()
        await b.shared.sync_once()
        status = b.shared.status(100.0)
    assert [(r["replica"], r["self"], r["share"]) for r in status["replicas"]] == [
        ("a", False, 0.5),
        ("b", True, 0.5),
    ]


async def test_redis_killed_then_back_merges_the_queue(
    redis_server: LocalRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """With Redis dead a replica goes local after 3 failed calls (saying so once in the log
    however long it lasts), keeps its answers queued, and writes them when Redis is back,
    where its peer reads them."""
    async with replica(redis_server.url, "a") as a:
        await a.shared.sync_once()
        assert a.shared.up
        redis_server.kill()
        for _ in range(6):
            a.shared.attempt(1, OK, 1)
        for _ in range(8):
            assert not await a.shared.sync_once()
        assert not a.shared.up
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len([w for w in warnings if "unavailable" in w]) == 1
        assert a.shared.status()["mode"] == "local"
        assert a.shared.status()["queued"] == 6
        assert a.shared.outages == 1
        redis_server.start()
        assert await a.shared.sync_once()
        assert a.shared.up
        assert a.shared.status()["queued"] == 0
        async with replica(redis_server.url, "b") as b:
            await b.shared.sync_once()
            assert b.shared.received == 6


async def test_a_replica_starts_without_redis(redis_server: LocalRedis) -> None:
    """Redis down at start: the replica starts on local state and joins when Redis comes."""
    redis_server.kill()
    async with replica(redis_server.url, "a") as a:
        a.shared.attempt(0, OK, 1)
        assert not await a.shared.sync_once()
        assert a.shared.status()["mode"] == "local"
        redis_server.start()
        assert await a.shared.sync_once()
        assert a.shared.up
        assert a.shared.sent == 1
