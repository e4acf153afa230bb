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

from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.game.router import Route, StopReason
from banditlb.models.server import Fault

if TYPE_CHECKING:
    from banditlb.sim.simulation import Simulation

REFUSED_OUTCOME = Outcome(OutcomeKind.CONNECTION_ERROR)
"""What the balancer records for a refused connection (the referee never sees the attempt)."""


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
# request waking up); the request's id is
# str(index), which the referee's bookkeeping never needs to build.
_Event = tuple[float, int, int, Route | None, int, Outcome | None]


def run_reference(sim: Simulation) -> None:
    """Play `sim` to its end with a `Route` per request and `decide` per attempt.

    Reads the simulation's models, router and settings; adds to its referee counters, timeline
    buckets, timeout and connection-error counts and trace (when it keeps one); leaves its clock
    at the last answer.
    """
    heap: list[_Event] = []
    next_seq = itertools.count().__next__
    pop = heapq.heappop
    push = heapq.heappush
    start = sim.router.start
    rate = sim.rate
    requests = sim.requests
    request_deadline = sim.request_deadline
    timeout = sim.attempt_timeout
    timeout_outcome = sim._timeout_outcome
    trace = sim.trace
    in_flight: dict[int, tuple[float, bool]] = {}  # traced: request -> (sent, counted)
    decide = [model.decide for model in sim.models]
    advertised = [model.advertised if model.advertises else None for model in sim.models]
    is_down = [
        model.is_down if may else None
        for model, may in zip(sim.models, sim._may_refuse, strict=True)
    ]
    points = sim.timeline_points
    bucket_accepted = sim._bucket_accepted
    bucket_penalised = sim._bucket_penalised
    counted = sim._counted
    accepted = sim._accepted
    ok = sim._ok
    failed = sim._failed
    rate_limited = sim._rate_limited
    free = sim.free_attempts
    total_attempts = sim._total_attempts
    penalised = sim._penalised
    timeouts = sim.timeouts
    connection_errors = sim.connection_errors
    refused, flap, hang = Fault.REFUSED, Fault.FLAP, Fault.HANG
    accepted_kind = OutcomeKind.ACCEPTED
    limited_kind = OutcomeKind.RATE_LIMITED
    failed_kind = OutcomeKind.FAILED
    error_kind = OutcomeKind.CONNECTION_ERROR
    deadline_reason = StopReason.DEADLINE
    now = sim.clock.now()
    push(heap, (0.0, next_seq(), 0, None, -1, None))
    while heap:
        now, _, index, route, arm, outcome = pop(heap)
        if route is None:  # an arrival: schedule the next one, start routing this one
            following = index + 1
            if following < requests:
                push(heap, (following / rate, next_seq(), following, None, -1, None))
            route = start()
        elif outcome is not None:  # an answer (else a held request wakes up)
            if trace is not None:
                sent, read = in_flight.pop(index)
                trace.append(AttemptRecord(index, arm, sent, now, outcome, read))
            route.record(arm, outcome, now)
        # Send the request's next attempt (or finish it); refusals retry at once.
        deadline = index / rate + request_deadline  # arrival time + deadline
        next_arm = route.next_arm
        while True:
            if now >= deadline:
                route.give_up(deadline_reason)
            delay = route.hold(now, index / rate)
            if delay > 0.0:  # a pacing strategy waits: wake this request up later
                push(heap, (now + delay, next_seq(), index, route, -1, None))
                break
            chosen = next_arm(now)
            if chosen is None:
                if points:  # the request is over: add what it scored to its bucket
                    bucket = index * points // requests
                    if accepted[index]:
                        bucket_accepted[bucket] += 1
                    extra = counted[index] - free
                    if extra > 0:
                        bucket_penalised[bucket] += extra
                break
            down = is_down[chosen]
            if down is not None and down(now):
                fault: Fault | None = refused
            else:
                status, latency, retry_after, fault = decide[chosen](now)
            if fault is refused or fault is flap:
                # refused: the referee never sees it; the balancer knows at once
                connection_errors += 1
                if trace is not None:
                    trace.append(AttemptRecord(index, chosen, now, now, REFUSED_OUTCOME, False))
                route.record(chosen, REFUSED_OUTCOME, now)
                continue
            # The referee counts the attempt (Ledger.record, on flat counters).
            count = counted[index] + 1
            counted[index] = count
            total_attempts += 1
            if count > free:
                penalised += 1
            if status == 200:
                ok[chosen] += 1
                accepted[index] = 1
            elif status == 429:
                rate_limited[chosen] += 1
            else:  # 5xx, or NO_ANSWER for a hang, reset or malformed reply
                failed[chosen] += 1
            if status is not None and latency < timeout:  # the usual case: an HTTP answer
                fields = advertised[chosen]  # rate-limit fields, read right after the decision
                quota = None if fields is None else fields(now)
                if status == 200:
                    answer = Outcome(accepted_kind, 200, None, latency, quota)
                elif status == 429:
                    answer = Outcome(limited_kind, 429, retry_after, latency, quota)
                else:
                    answer = Outcome(failed_kind, status, None, latency, quota)
            elif status is None and fault is not hang and latency < timeout:
                connection_errors += 1  # reset, malformed
                answer = Outcome(error_kind, latency=latency)
            else:  # hang, or slower than the balancer waits
                timeouts += 1
                answer, latency = timeout_outcome, timeout
            if trace is not None:
                in_flight[index] = (now, True)
            push(heap, (now + latency, next_seq(), index, route, chosen, answer))
            break
    sim.clock.advance_to(now)
    sim._total_attempts = total_attempts
    sim._penalised = penalised
    sim.timeouts = timeouts
    sim.connection_errors = connection_errors
