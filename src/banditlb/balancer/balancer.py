"""The retry loop for one client request: ask the router, send, record, until it stops.

The rules themselves (free attempts, penalty, Retry-After) live in `banditlb.router`; this
class only drives them against a `Downstream`, keeps the request deadline, and reports each
attempt to the `Recorder` and `LiveStats`. The deadline is checked before every attempt, so a
request can overrun it by at most one attempt timeout.

Shutdown: `stop_by(t)` (called when SIGTERM arrives, t = now + grace) makes t a deadline for
every request in flight, and cuts an attempt still waiting at t short as a TIMEOUT: it is
recorded like any other attempt and the client gets its JSON answer before the server's own
grace ends. An attempt cancelled from outside (the server's backstop) is recorded as a TIMEOUT
before the cancellation goes on, so the store never misses an attempt the upstream may count.
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
from banditlb.outcome import Outcome, OutcomeKind
from banditlb.router import Route, Router, StopReason


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
        self._stop_by: float | None = None  # clock time the shutdown grace ends

    def stop_by(self, when: float) -> None:
        """Finish every request by clock time `when` (shutdown), cutting attempts short."""
        self._stop_by = when

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
            if now >= deadline or (self._stop_by is not None and now >= self._stop_by):
                route.give_up(StopReason.DEADLINE)
            arm = route.next_arm(now)
            if arm is None:
                break
            try:
                if self._stop_by is None:
                    outcome = await self._downstream.send(arm, request_id)
                else:
                    outcome = await self._send_before_stop(arm, request_id, now, self._stop_by)
            except asyncio.CancelledError:
                cut = Outcome(OutcomeKind.TIMEOUT, None, None, self._clock.now() - now)
                self._note(route, request_no, request_id, arm, cut)
                raise
            self._note(route, request_no, request_id, arm, outcome)
            if outcome.accepted:
                server = self._servers[arm]
        finished = self._clock.now()
        stop = route.stop if route.stop is not None else StopReason.NO_SERVER
        delivery = Delivery(
            request_no, request_id, route.attempts, server, stop, finished - started
        )
        self.stats.request(delivery.result, delivery.latency_s, finished)
        return delivery

    async def _send_before_stop(
        self, arm: int, request_id: str, now: float, stop_by: float
    ) -> Outcome:
        """One attempt during shutdown, cut short as a TIMEOUT when the grace ends."""
        try:
            async with asyncio.timeout(max(0.0, stop_by - now)):
                return await self._downstream.send(arm, request_id)
        except TimeoutError:
            return Outcome(OutcomeKind.TIMEOUT, None, None, self._clock.now() - now)

    def _note(
        self, route: Route, request_no: int, request_id: str, arm: int, outcome: Outcome
    ) -> None:
        """Tell the route, the live stats and the recorder about one finished attempt."""
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
