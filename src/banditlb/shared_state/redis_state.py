"""The cluster's shared state in Redis, kept off the request path and never in its way.

Each replica keeps its own strategy. Every answered attempt is queued here in O(1) by the
balancer (`attempt`, no await); a background task (`_run`) moves the queue to Redis and peers'
answers back with *one* EVALSHA per sync (a Lua script: append our batch to the cluster's
stream, trim it, refresh the keys' expiry, beat our heartbeat, read every entry past our
cursor), woken by each attempt and every `sync_interval` seconds otherwise. Peers' answers go
into the local router and strategy (`merge.apply_peer`), so every replica learns from the
cluster's evidence and counts the cluster's sends against each server's learned cap.

Redis is a dependency, not a single point of failure: a client request never awaits Redis.
Each call has a deadline (`timeout`, a few ms); after `failures_to_degrade` failed calls in a
row the replica says once in the log that it serves on local state, shows it in /readyz,
/metrics and the dashboard, keeps queueing its answers (at most `max_queue`, oldest dropped and
counted) and tries again every `retry_interval` s. When Redis is back the queue is written and
the peers' answers read: the cluster merges back. A retried write is never doubled (each batch
is numbered; the script skips a number already written).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import socket
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from banditlb.errors import ConfigError
from banditlb.game.clock import Clock
from banditlb.game.outcome import Outcome
from banditlb.game.router import Router
from banditlb.shared_state.events import (
    ClusterKeys,
    PeerEvent,
    check_cluster_name,
    decode_batch,
    encode_batch,
    on_our_clock,
)
from banditlb.shared_state.merge import PeerApplier, peer_applier

log = logging.getLogger(__name__)

SYNC_SCRIPT = """
local seq = tonumber(ARGV[3])
if ARGV[4] ~= '' then
  local last = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
  if seq > last then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[6], '*', 'r', ARGV[1], 'e', ARGV[4])
    redis.call('HSET', KEYS[3], ARGV[1], seq)
  end
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
local replicas = false
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[7])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
  replicas = redis.call('HGETALL', KEYS[2])
end
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', ARGV[8])
local peers = {}
local last = ARGV[2]
for _, entry in ipairs(entries) do
  last = entry[1]
  if entry[2][2] ~= ARGV[1] then peers[#peers + 1] = entry end
end
return {peers, replicas, last, #entries}
"""
"""KEYS: events stream, replicas hash, batches hash. ARGV: replica id, cursor, batch number,
batch (JSON, '' for none), ttl s, stream max length, heartbeat (JSON, '' for none), read count.
Returns peers' entries past the cursor (our own are left in Redis), the replicas' heartbeats
(when we beat), the new cursor and how many entries were read."""

_SCHEMES = ("redis", "rediss", "unix")
_READ_COUNT = 500
_MAX_BATCH = 1000
MIN_SYNC_GAP = 0.005
"""Seconds between syncs at least: one EVALSHA per answer would cost a loaded replica a third
of its throughput; batching the answers of 5 ms costs peers 5 ms of staleness."""
_ALIVE_S = 5.0  # a replica whose heartbeat is older is shown as gone


def parse_state_url(text: str) -> str:
    """`text` if it is a Redis URL we can use (redis://HOST:PORT/DB, rediss://, unix://)."""
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in _SCHEMES:
        raise ConfigError(
            f"--state must be a Redis URL such as redis://127.0.0.1:6379/0, got {text!r}"
        )
    try:
        port = parsed.port
    except ValueError:
        raise ConfigError(f"--state has a bad port: {text!r}") from None
    if parsed.scheme != "unix" and not parsed.hostname:
        raise ConfigError(f"--state needs a host, e.g. redis://127.0.0.1:6379/0, got {text!r}")
    if port == 0:
        raise ConfigError(f"--state has a bad port: {text!r}")
    db = parsed.path.strip("/")
    if parsed.scheme != "unix" and db and not (db.isascii() and db.isdigit()):
        raise ConfigError(f"--state's database must be a number (redis://HOST:PORT/DB): {text!r}")
    return text


@dataclass(frozen=True, slots=True)
class SharedStateConfig:
    """How one replica talks to the cluster's Redis; validated on construction."""

    url: str
    cluster: str = "default"
    timeout: float = 0.01  # seconds per Redis call
    sync_interval: float = 0.02  # seconds between syncs when no attempt wakes the task
    retry_interval: float = 0.5  # seconds between tries while Redis is away
    heartbeat: float = 1.0  # seconds between heartbeats (and reads of the replica list)
    ttl: int = 3600  # seconds every key lives after the cluster's last write
    max_len: int = 20_000  # stream entries kept (approximately; Redis trims whole nodes)
    max_queue: int = 20_000  # answers kept for Redis while it is away
    failures_to_degrade: int = 3  # failed calls in a row before serving on local state

    def __post_init__(self) -> None:
        parse_state_url(self.url)
        check_cluster_name(self.cluster)
        for name, value, low, high in (
            ("--state-timeout", self.timeout, 0.001, 10.0),
            ("--state-sync", self.sync_interval, 0.001, 10.0),
            ("retry_interval", self.retry_interval, 0.01, 60.0),
            ("heartbeat", self.heartbeat, 0.05, 60.0),
        ):
            if not (math.isfinite(value) and low <= value <= high):
                raise ConfigError(f"{name} must be from {low:g} to {high:g} seconds, got {value}")
        if self.ttl < 1 or self.max_len < 100 or self.max_queue < 1:
            raise ConfigError("ttl, max_len and max_queue must be positive")
        if self.failures_to_degrade < 1:
            raise ConfigError("failures_to_degrade must be >= 1")

    @property
    def keys(self) -> ClusterKeys:
        return ClusterKeys(self.cluster)


def new_replica_id(label: str = "") -> str:
    """A name for this process in the cluster: host, pid and a random tag (never reused)."""
    tag = os.urandom(3).hex()
    host = socket.gethostname()
    return f"{host}-{os.getpid()}-{tag}" + (f"-{label}" if label else "")


class SharedState:
    """One replica's link to the cluster: queue, background sync, health, what peers said."""

    def __init__(
        self,
        config: SharedStateConfig,
        *,
        replica: str | None = None,
        wall: Callable[[], float] = time.time,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.replica = replica or new_replica_id()
        self._wall = wall
        self._info = dict(info or {})  # extra heartbeat fields (port, label)
        self._keys = list(config.keys.all())
        self._queue: deque[PeerEvent] = deque()
        self._batch_no = 0
        self._cursor = "0-0"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: aioredis.Redis | None = None
        self._script: Any = None
        self._router: Router | None = None
        self._apply_peer: PeerApplier | None = None
        self._clock: Clock | None = None
        self._names: list[str] = []
        self._arm_of: dict[str, int] = {}
        self._counters: Callable[[], dict[str, int]] = dict
        self._next_heartbeat = 0.0
        self._closing = False
        self.up = False
        self.failures_in_row = 0
        self.errors = 0  # failed calls
        self.outages = 0  # times the replica went over to local state
        self.down_since: float | None = None  # Unix time; None while up
        self.last_error = ""
        self.last_sync: float | None = None  # Unix time of the last successful call
        self.sent = 0  # own answers written
        self.received = 0  # peers' answers applied
        self.dropped = 0  # own answers dropped while Redis was away (queue full)
        self.malformed = 0  # peers' rows we could not read
        self.unknown = 0  # peers' answers from servers we do not have
        self.replicas: dict[str, dict[str, Any]] = {}
        self._window: list[deque[float]] = []  # the cluster's sends per arm, last second

    # ---- wiring ------------------------------------------------------------------------------

    def attach(
        self,
        router: Router,
        clock: Clock,
        names: Sequence[str],
        counters: Callable[[], dict[str, int]] = dict,
    ) -> None:
        """The router and strategy peers' answers go into; `names` are the upstreams (arm
        order); `counters` gives this replica's request counts for its heartbeat."""
        self._router = router
        self._apply_peer = peer_applier(router)
        self._clock = clock
        self._names = list(names)
        self._arm_of = {name: arm for arm, name in enumerate(names)}
        self._counters = counters
        self._window = [deque() for _ in names]

    async def start(self) -> None:
        """Open the client and start syncing; never fails (Redis may come later)."""
        retry = Retry(NoBackoff(), 0)
        self._client = aioredis.Redis.from_url(
            self.config.url,
            socket_timeout=self.config.timeout,
            socket_connect_timeout=self.config.timeout,
            retry=retry,
            health_check_interval=0,
            max_connections=4,
        )
        self._script = self._client.register_script(SYNC_SCRIPT)
        self._task = asyncio.create_task(self._run(), name="banditlb-shared-state")

    async def close(self) -> None:
        """Stop syncing after one last best-effort write of what is queued."""
        self._closing = True
        if self._task is not None:
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.up and self._queue:  # best effort, within one call's deadline
            await self.sync_once()
        if self._client is not None:
            # a dead or slow Redis must not fail the shutdown
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await self._client.aclose()

    # ---- the request path's hook: O(1), no await ---------------------------------------------

    def attempt(self, arm: int, outcome: Outcome, attempt: int) -> None:
        """One of our attempts was answered: queue it for the cluster (the balancer's hook)."""
        if len(self._queue) >= self.config.max_queue:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(
            PeerEvent(self._names[arm], attempt, outcome, self._wall() - outcome.latency)
        )
        if self._clock is not None:
            self._count_send(arm, self._clock.now() - outcome.latency)
        if self.up:
            self._wake.set()

    # ---- the background task -----------------------------------------------------------------

    async def _run(self) -> None:
        while not self._closing:
            wait = self.config.sync_interval if self.up else self.config.retry_interval
            if 0 < self.failures_in_row < self.config.failures_to_degrade:
                wait = 0.0  # one failed call: try again at once before giving up on Redis
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            if self.up:  # under load answers come faster than syncs pay: batch them
                await asyncio.sleep(MIN_SYNC_GAP)
            self._wake.clear()
            await self.sync_once()

    async def sync_once(self) -> bool:
        """One round trip: write what is queued, beat the heartbeat when due, read what peers
        wrote since our cursor. False (and the failure counted) when Redis did not answer."""
        if self._script is None:
            return False
        batch = [self._queue[i] for i in range(min(len(self._queue), _MAX_BATCH))]
        number = self._batch_no + 1 if batch else self._batch_no
        wall = self._wall()
        beat = ""
        if wall >= self._next_heartbeat:
            beat = json.dumps(
                {"wall": wall, "up": True, **self._info, **self._counters()},
                separators=(",", ":"),
            )
        args = [
            self.replica,
            self._cursor,
            number,
            encode_batch(batch) if batch else "",
            self.config.ttl,
            self.config.max_len,
            beat,
            _READ_COUNT,
        ]
        try:
            entries, replicas, cursor, read = await asyncio.wait_for(
                self._script(keys=self._keys, args=args), timeout=self.config.timeout
            )
        except (RedisError, OSError, TimeoutError, ValueError) as exc:
            self._failed(exc)
            return False
        for _ in batch:
            self._queue.popleft()
        self._batch_no = number
        self.sent += len(batch)
        if beat:
            self._next_heartbeat = wall + self.config.heartbeat
            if replicas:
                self._read_replicas(replicas, wall)
        self._succeeded()
        self._apply(entries)
        self._cursor = _text(cursor)
        if int(read) >= _READ_COUNT or len(self._queue) > 0:
            self._wake.set()  # more to read or write: go on (after the minimum gap)
        return True

    def _failed(self, exc: BaseException) -> None:
        self.errors += 1
        self.failures_in_row += 1
        self.last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self.up and self.failures_in_row >= self.config.failures_to_degrade:
            self.up = False
            self.outages += 1
            self.down_since = self._wall()
            log.warning(
                "shared state unavailable: serving on local state until Redis answers again",
                extra={"cluster": self.config.cluster, "error": self.last_error},
            )
        elif (
            self.down_since is None
            and not self.up
            and self.failures_in_row == self.config.failures_to_degrade
        ):
            self.down_since = self._wall()
            self.outages += 1
            log.warning(
                "shared state unavailable at start: serving on local state until Redis answers",
                extra={"cluster": self.config.cluster, "error": self.last_error},
            )

    def _succeeded(self) -> None:
        was_down = not self.up and self.down_since is not None
        self.up = True
        self.failures_in_row = 0
        self.last_sync = self._wall()
        if was_down:
            log.warning(
                "shared state back: merging with the cluster",
                extra={
                    "cluster": self.config.cluster,
                    "down_s": round(self.last_sync - (self.down_since or self.last_sync), 3),
                    "queued": len(self._queue),
                },
            )
        self.down_since = None

    def _read_replicas(self, flat: Sequence[Any], wall: float) -> None:
        seen: dict[str, dict[str, Any]] = {}
        for i in range(0, len(flat) - 1, 2):
            name = _text(flat[i])
            try:
                beat = json.loads(flat[i + 1])
            except (ValueError, TypeError):
                continue
            if isinstance(beat, dict) and isinstance(beat.get("wall"), int | float):
                beat["alive"] = wall - beat["wall"] < _ALIVE_S
                seen[name] = beat
        self.replicas = seen

    def _apply(self, entries: Sequence[Any]) -> None:
        apply, clock = self._apply_peer, self._clock
        for _, fields in entries:
            values = {_text(fields[i]): fields[i + 1] for i in range(0, len(fields) - 1, 2)}
            if _text(values.get("r", b"")) == self.replica or apply is None or clock is None:
                continue
            events, bad = decode_batch(values.get("e", b"[]"))
            self.malformed += bad
            now, wall = clock.now(), self._wall()
            for event in events:
                arm = self._arm_of.get(event.server)
                if arm is None:
                    self.unknown += 1
                    continue
                outcome = event.outcome
                answered = on_our_clock(event.sent_wall, outcome.latency, now, wall)
                apply(arm, outcome, event.attempt, answered, now)
                self._count_send(arm, answered - outcome.latency)
                self.received += 1

    # ---- what people see ---------------------------------------------------------------------

    def _count_send(self, arm: int, sent_at: float) -> None:
        window = self._window[arm]
        window.append(sent_at)
        if len(window) > 10_000:
            window.popleft()

    def cluster_sends(self, now: float, window: float = 1.0) -> list[int]:
        """Sends of the whole cluster (ours and peers' answered ones) per arm in the last
        `window` seconds: the shared budget as it is being spent."""
        counts = []
        for sends in self._window:
            while sends and sends[0] <= now - window:
                sends.popleft()
            counts.append(sum(1 for t in sends if t > now - window))
        return counts

    def status(self, now: float | None = None) -> dict[str, Any]:
        """Health and cluster view for /readyz, /api/state, /metrics and the dashboard."""
        wall = self._wall()
        replicas = []
        total = sum(int(b.get("requests", 0)) for b in self.replicas.values() if b.get("alive"))
        for name, beat in sorted(self.replicas.items()):
            requests = int(beat.get("requests", 0))
            replicas.append(
                {
                    "replica": name,
                    "self": name == self.replica,
                    "alive": bool(beat.get("alive")),
                    "requests": requests,
                    "share": requests / total if total and beat.get("alive") else 0.0,
                    "port": beat.get("port"),
                    "label": beat.get("label"),
                    "age_s": round(wall - float(beat["wall"]), 3),
                }
            )
        doc: dict[str, Any] = {
            "backend": "redis",
            "cluster": self.config.cluster,
            "replica": self.replica,
            "connected": self.up,
            "mode": "shared" if self.up else "local",
            "down_s": None if self.down_since is None else round(wall - self.down_since, 3),
            "last_error": self.last_error or None,
            "errors": self.errors,
            "outages": self.outages,
            "sent": self.sent,
            "received": self.received,
            "queued": len(self._queue),
            "dropped": self.dropped,
            "malformed": self.malformed,
            "replicas": replicas,
        }
        if now is not None and self._window:
            doc["cluster_sends_1s"] = dict(zip(self._names, self.cluster_sends(now), strict=True))
        return doc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
