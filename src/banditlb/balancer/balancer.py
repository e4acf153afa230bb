"""The retry loop for one client request: ask the router, send, record, until it stops.

The rules themselves (free attempts, penalty, Retry-After) live in `banditlb.game.router`; this
class only drives them against a `Downstream`, keeps the request deadline, and reports each
attempt to the `Recorder` and `LiveStats`. The deadline is checked before every attempt, so a
request can overrun it by at most one attempt timeout. A pacing strategy may hold an attempt
back (`Route.hold`) until a server can admit it, within the request's hold budget.

Shutdown: `stop_by(t)` (called when SIGTERM arrives, t = now + grace) makes t a deadline for
every request in flight, and at t cancels every attempt still waiting (a cancellation with our
own message, taken back with `uncancel()`): the attempt becomes a TIMEOUT, recorded like any
other, and the client gets its JSON answer before the server's own backstop ends. An attempt
cancelled from outside (that backstop) is recorded as a TIMEOUT before the cancellation goes
on, so the store never misses an attempt the upstream may have counted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from banditlb.balancer.downstream import Downstream
from banditlb.balancer.recording import AttemptRecord, Recorder
from banditlb.balancer.stats import LiveStats, Result
from banditlb.game.clock import Clock
from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.game.router import Route, Router, StopReason

_CUT_SHORT = "banditlb: shutdown grace over, attempt cut short"


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
        self._attempting: set[asyncio.Task[Any]] = set()  # requests awaiting an attempt
        # Told of every answered attempt (arm, outcome, attempt number): the shared state's
        # queue for the cluster (`banditlb.shared_state`); O(1), never awaits.
        self.on_attempt: Callable[[int, Outcome, int], None] | None = None

    def stop_by(self, when: float) -> None:
        """Finish every request by clock time `when` (shutdown), cutting attempts short.

        Call it on the event loop's thread (a signal handler installed with `signal.signal`
        runs there), while the loop runs."""
        self._stop_by = when
        loop = asyncio.get_running_loop()
        loop.call_soon_threadsafe(
            loop.call_later, max(0.0, when - self._clock.now()), self._cut_short
        )

    async def forward(self, request_id: str, via: str = "") -> Delivery:
        """Deliver `request_id` to some upstream under the retry rules; `via` is the client
        request's `Via` header, passed on with each attempt (loop detection)."""
        self._request_no += 1
        request_no = self._request_no
        route = self.router.start()
        started = self._clock.now()
        deadline = started + self._deadline
        server: str | None = None
        task = asyncio.current_task()
        while True:
            now = self._clock.now()
            if now >= deadline or (self._stop_by is not None and now >= self._stop_by):
                route.give_up(StopReason.DEADLINE)
            delay = route.hold(now, started)
            if delay > 0.0:  # a pacing strategy waits for a server to admit again
                self.stats.hold(delay)
                await asyncio.sleep(delay)
                continue
            arm = route.next_arm(now)
            if arm is None:
                break
            if task is not None:
                self._attempting.add(task)
            try:
                outcome = await self._downstream.send(arm, request_id, via)
            except asyncio.CancelledError as exc:
                outcome = Outcome(OutcomeKind.TIMEOUT, None, None, self._clock.now() - now)
                if task is None or exc.args != (_CUT_SHORT,):
                    self._note(route, request_no, request_id, arm, outcome)
                    raise  # cancelled from outside: recorded, then let it go on
                task.uncancel()  # our own cut at the end of the grace: an attempt that timed out
            finally:
                self._attempting.discard(task)
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

    def _cut_short(self) -> None:
        """The grace is over: every attempt still waiting ends now as a TIMEOUT.

        The event loop's timer may fire a hair before our clock reaches `_stop_by`; the grace
        ends now all the same, or a request would go on to a next attempt past it."""
        now = self._clock.now()
        if self._stop_by is None or self._stop_by > now:
            self._stop_by = now
        for task in list(self._attempting):
            task.cancel(_CUT_SHORT)

    def _note(
        self, route: Route, request_no: int, request_id: str, arm: int, outcome: Outcome
    ) -> None:
        """Tell the route, the live stats and the recorder about one finished attempt."""
        route.record(arm, outcome, self._clock.now())
        if self.on_attempt is not None:
            self.on_attempt(arm, outcome, route.attempts)
        self.stats.attempt(arm, outcome.kind, route.attempts, outcome.latency)
        self._recorder.record(
            AttemptRecord.of(
                outcome,
                request_no=request_no,
                request_id=request_id,
                attempt=route.attempts,
                arm=arm,
                server=self._servers[arm],
                at=self._wall(),
            )
        )
