"""Open-loop load: request i goes out at start + i/rps whatever earlier answers are doing.

`run_load(LoadPlan(...)) -> LoadReport` is the library entry point (the CLI's `banditlb load`
and `banditlb run` both call it). Each request carries a fresh id from `new_id(rng)` with a
seeded RNG. A concurrency guard drops (and counts) a send when `max_in_flight` requests are
still open, so a stuck balancer cannot make the generator pile up tasks without bound.
With a referee URL and a tier, the tier's ledger is reset first and its score read at the end.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp

from banditlb.errors import ConfigError
from banditlb.game.ids import new_id
from banditlb.harness.referee_client import RefereeClient

BodyFormat = Literal["raw", "json"]


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """What to send where; validated on construction."""

    url: str
    rps: float = 10.0
    requests: int = 100
    body: BodyFormat = "raw"
    seed: int = 0
    max_in_flight: int = 1000
    timeout: float = 30.0
    referee: str | None = None
    tier: str | None = None
    penalty: float = 1.0

    def __post_init__(self) -> None:
        check_http_url("url", self.url)
        if self.referee is not None:
            check_http_url("referee", self.referee)
        if not (math.isfinite(self.rps) and self.rps > 0):
            raise ConfigError(f"--rps must be a finite number > 0, got {self.rps!r}")
        if self.requests < 0:
            raise ConfigError(f"requests must be >= 0, got {self.requests}")
        if self.body not in ("raw", "json"):
            raise ConfigError(f"body must be 'raw' or 'json', got {self.body!r}")
        if self.max_in_flight < 1:
            raise ConfigError(f"--max-in-flight must be >= 1, got {self.max_in_flight}")
        if not self.timeout > 0:
            raise ConfigError(f"--timeout must be > 0 seconds, got {self.timeout!r}")
        if self.referee is not None and not self.tier:
            raise ConfigError("a referee needs a tier (--tier T1) to reset and score")
        if not (math.isfinite(self.penalty) and self.penalty >= 0):
            raise ConfigError(f"--penalty must be a finite number >= 0, got {self.penalty!r}")


def check_http_url(name: str, url: str) -> None:
    """`url` must be an absolute http(s) URL with a host and a valid port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        message = f"{name} must be an http:// URL with a valid port, got {url!r}: {exc}"
        raise ConfigError(message) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// URL with a host, got {url!r}")
    if port == 0:
        raise ConfigError(f"{name} must have a port in 1..65535, got {url!r}")


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """Counts so far, for progress displays."""

    total: int
    sent: int
    done: int
    delivered: int
    dropped: int


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What a load run came to, from the client's side and (when asked) the referee's."""

    plan: LoadPlan
    sent: int
    delivered: int  # the balancer answered 200
    failed: int  # the balancer answered anything else
    errors: int  # no HTTP answer at all (timeout, connection error)
    dropped: int  # never sent: max_in_flight open requests at send time
    duration_s: float
    latencies_s: tuple[float, ...] = field(repr=False)  # answered requests, sorted
    statuses: dict[int, int] = field(default_factory=dict)
    referee: dict[str, Any] | None = None

    @property
    def p50_s(self) -> float | None:
        return percentile(list(self.latencies_s), 0.5)

    @property
    def p99_s(self) -> float | None:
        return percentile(list(self.latencies_s), 0.99)

    @property
    def accepted(self) -> int | None:
        return None if self.referee is None else int(self.referee["accepted"])

    @property
    def penalised_attempts(self) -> int | None:
        return None if self.referee is None else int(self.referee["penalised_attempts"])

    @property
    def score(self) -> float | None:
        return None if self.referee is None else float(self.referee["score"])

    @property
    def score_per_request(self) -> float | None:
        score = self.score
        return None if score is None or not self.sent else score / self.sent

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.plan.url,
            "tier": self.plan.tier,
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "errors": self.errors,
            "dropped": self.dropped,
            "duration_s": self.duration_s,
            "p50_s": self.p50_s,
            "p99_s": self.p99_s,
            "accepted": self.accepted,
            "penalised_attempts": self.penalised_attempts,
            "score": self.score,
            "score_per_request": self.score_per_request,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


ProgressCallback = Callable[[LoadProgress], None]


class _Tally:
    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0
        self.done = 0
        self.delivered = 0
        self.errors = 0
        self.dropped = 0
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []

    def progress(self) -> LoadProgress:
        return LoadProgress(self.total, self.sent, self.done, self.delivered, self.dropped)


def _payload(plan: LoadPlan, request_id: str) -> tuple[bytes, dict[str, str]]:
    if plan.body == "json":
        return json.dumps({"id": request_id}).encode(), {"Content-Type": "application/json"}
    return request_id.encode("ascii"), {"Content-Type": "text/plain"}


async def _send(
    session: aiohttp.ClientSession,
    plan: LoadPlan,
    request_id: str,
    tally: _Tally,
    on_progress: ProgressCallback | None,
) -> None:
    loop = asyncio.get_running_loop()
    data, headers = _payload(plan, request_id)
    started = loop.time()
    try:
        async with session.post(plan.url, data=data, headers=headers) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError):
        tally.errors += 1
    else:
        tally.latencies.append(loop.time() - started)
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        tally.delivered += status == 200
    tally.done += 1
    if on_progress is not None:
        on_progress(tally.progress())


async def _drive(
    session: aiohttp.ClientSession,
    plan: LoadPlan,
    tally: _Tally,
    on_progress: ProgressCallback | None,
) -> None:
    """Schedule every request on the open-loop timetable, then wait for the stragglers."""
    rng = random.Random(plan.seed)
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: set[asyncio.Task[None]] = set()
    try:
        for i in range(plan.requests):
            delay = start + i / plan.rps - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            request_id = new_id(rng)
            if len(tasks) >= plan.max_in_flight:
                tally.dropped += 1
            else:
                task = asyncio.create_task(_send(session, plan, request_id, tally, on_progress))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                tally.sent += 1
            if on_progress is not None:
                on_progress(tally.progress())
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def run_load(plan: LoadPlan, *, on_progress: ProgressCallback | None = None) -> LoadReport:
    """Run `plan` and report; resets the referee's tier first when a referee is given."""
    connector = aiohttp.TCPConnector(limit=plan.max_in_flight)
    timeout = aiohttp.ClientTimeout(total=plan.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        referee = RefereeClient(session, plan.referee) if plan.referee else None
        if referee is not None and plan.tier:
            await referee.reset(plan.tier)
        tally = _Tally(plan.requests)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await _drive(session, plan, tally, on_progress)
        duration = loop.time() - started
        score = None
        if referee is not None and plan.tier:
            score = await referee.score(plan.tier, plan.penalty)
    return LoadReport(
        plan=plan,
        sent=tally.sent,
        delivered=tally.delivered,
        failed=tally.done - tally.delivered - tally.errors,
        errors=tally.errors,
        dropped=tally.dropped,
        duration_s=duration,
        latencies_s=tuple(sorted(tally.latencies)),
        statuses=tally.statuses,
        referee=score,
    )
