"""The reference loop: the game as the live parts play it, one `Route` per request.

Requests arrive every `1 / rate` seconds; each is a chain of events on a heap of
`(time, seq, ...)` (an `itertools.count()` tie-breaker, so events at the same virtual time run in
the order they were scheduled and a seed fixes the whole run), walking the *same* `Router` and
strategy as the live balancer against the *same* `ServerModel.decide` the fleet serves:

- `route.next_arm(now)` is asked when the request arrives and whenever an answer comes back;
- the server model handles the attempt at the time it is sent; its answer arrives `Reply.latency`
  later, or as a TIMEOUT after `attempt_timeout` when it would take longer or the server hangs;
- reset/malformed replies are CONNECTION_ERRORs after their latency; a refused or flapping-down
  server is a CONNECTION_ERROR at once, which the referee never sees;
- the referee's `Ledger` counts every attempt a server read (429s included), at send time,
  with the pseudo status `NO_ANSWER` for hang/reset/malformed, as the fleet does;
- as in the live balancer, no attempt starts once the request is `request_deadline` seconds old.

Traced runs take this loop and record every attempt; `fast_loop` plays the same game faster, and
`tests/sim/test_sim_engine.py` checks the two agree.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from banditlb.game.outcome import Outcome
from banditlb.game.router import Route, StopReason
from banditlb.sim.attempts import REFUSED_OUTCOME, server_side

if TYPE_CHECKING:
    from banditlb.sim.simulation import Simulation


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt as the balancer saw it (kept only when tracing)."""

    request: int
    arm: int
    sent: float
    answered: float
    outcome: Outcome
    counted: bool


# (time, seq, request index, route or None for an arrival, arm, outcome or None for a held
# request waking up); the request's id is str(index), which the referee's bookkeeping never
# needs to build.
_Event = tuple[float, int, int, Route | None, int, Outcome | None]


def run_reference(sim: Simulation) -> None:
    """Play `sim` to its end with a `Route` per request and `decide` per attempt.

    Reads the simulation's models, router and settings; adds to its counters and trace (when
    it keeps one); leaves its clock at the last answer.
    """
    heap: list[_Event] = []
    next_seq = itertools.count().__next__
    start, rate, requests = sim.router.start, sim.rate, sim.requests
    send = server_side(sim)
    trace = sim.trace
    in_flight: dict[int, float] = {}  # traced: request -> when its attempt was sent
    now = sim.clock.now()
    heapq.heappush(heap, (0.0, next_seq(), 0, None, -1, None))
    while heap:
        now, _, index, route, arm, outcome = heapq.heappop(heap)
        if route is None:  # an arrival: schedule the next one, start routing this one
            if index + 1 < requests:
                heapq.heappush(heap, ((index + 1) / rate, next_seq(), index + 1, None, -1, None))
            route = start()
        elif outcome is not None:  # an answer (else a held request wakes up)
            if trace is not None:
                trace.append(AttemptRecord(index, arm, in_flight.pop(index), now, outcome, True))
            route.record(arm, outcome, now)
        # Send the request's next attempt (or finish it); refusals retry at once.
        while True:
            if now >= index / rate + sim.request_deadline:  # arrival time + deadline
                route.give_up(StopReason.DEADLINE)
            delay = route.hold(now, index / rate)
            if delay > 0.0:  # a pacing strategy waits: wake this request up later
                heapq.heappush(heap, (now + delay, next_seq(), index, route, -1, None))
                break
            chosen = route.next_arm(now)
            if chosen is None:  # the request is over
                break
            sent = send(chosen, now, index)
            if sent is None:  # refused: the balancer knows at once
                if trace is not None:
                    trace.append(AttemptRecord(index, chosen, now, now, REFUSED_OUTCOME, False))
                route.record(chosen, REFUSED_OUTCOME, now)
                continue
            answer, latency = sent
            if trace is not None:
                in_flight[index] = now
            heapq.heappush(heap, (now + latency, next_seq(), index, route, chosen, answer))
            break
    sim.clock.advance_to(now)
