"""The retry loop for one client request: ask the router, send, record, until it stops.

The rules themselves (free attempts, penalty, Retry-After) live in `banditlb.router`; this
class only drives them against a `Downstream`, keeps the request deadline, and reports each
attempt to the `Recorder` and `LiveStats`. The deadline is checked before every attempt, so a
request can overrun it by at most one attempt timeout. A pacing strategy may hold an attempt
back (`Route.hold`) until a server can admit it, within the request's hold budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from banditlb.balancer.downstream import Downstream
from banditlb.balancer.recording import AttemptRecord, Recorder
from banditlb.balancer.stats import LiveStats, Result
from banditlb.clock import Clock
from banditlb.router import Router, StopReason


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one client request."""

    request_no: int
    request_id: str
    attempts: int
    server: str | None  # the upstream that accepted it, when one did
    stop: StopReason
    latency_s: float

    @property
    def delivered(self) -> bool:
        return self.stop is StopReason.DELIVERED

    @property
    def result(self) -> Result:
        if self.delivered:
            return Result.DELIVERED
        return Result.FAILED if self.attempts else Result.UNAVAILABLE


class Balancer:
    """Owns the retry loop; one instance per app, shared by all requests."""

    def __init__(
        self,
        router: Router,
        downstream: Downstream,
        servers: Sequence[str],
        *,
        clock: Clock,
        recorder: Recorder,
        stats: LiveStats,
        request_deadline: float,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.router = router
        self._downstream = downstream
        self._servers = list(servers)
        self._clock = clock
        self._recorder = recorder
        self.stats = stats
        self._deadline = request_deadline
        self._wall = wall
        self._request_no = 0

    async def forward(self, request_id: str) -> Delivery:
        """Deliver `request_id` to some upstream under the retry rules."""
        self._request_no += 1
        request_no = self._request_no
        route = self.router.start()
        started = self._clock.now()
        deadline = started + self._deadline
        server: str | None = None
        while True:
            now = self._clock.now()
            if now >= deadline:
                route.give_up(StopReason.DEADLINE)
            delay = route.hold(now, started)
            if delay > 0.0:  # a pacing strategy waits for a server to admit again
                await asyncio.sleep(delay)
                continue
            arm = route.next_arm(now)
            if arm is None:
                break
            outcome = await self._downstream.send(arm, request_id)
            route.record(arm, outcome, self._clock.now())
            self.stats.attempt(arm, outcome.kind, route.attempts, outcome.latency)
            self._recorder.record(
                AttemptRecord(
                    request_no=request_no,
                    request_id=request_id,
                    attempt=route.attempts,
                    arm=arm,
                    server=self._servers[arm],
                    kind=outcome.kind,
                    status=outcome.status,
                    latency_s=outcome.latency,
                    at=self._wall(),
                )
            )
            if outcome.accepted:
                server = self._servers[arm]
        finished = self._clock.now()
        stop = route.stop if route.stop is not None else StopReason.NO_SERVER
        delivery = Delivery(
            request_no, request_id, route.attempts, server, stop, finished - started
        )
        self.stats.request(delivery.result, delivery.latency_s, finished)
        return delivery
