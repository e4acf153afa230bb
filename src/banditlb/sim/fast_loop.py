"""The fast loop: the reference loop's game with less cost per event; the simulator's hot path.

It plays exactly the same game as `reference_loop.run_reference`, attempt for attempt, calling
the same rules: the `Router`'s methods (`paid_stop`, `open_arms`, `hold_for`, `worth_paying`,
`observe`) where `Route` calls them, and the same `attempts.server_side` for the server's answer
and the referee's count. What it saves is bookkeeping, not rules:
- no `Route` object per request (its two fields, attempts and arm, ride on the event);
- arrivals are a regular grid merged with a heap of the answers in flight (only answers go on
  the heap, in the same `(time, seq)` order the reference gives them), and an answer due
  before anything else is handled at once without the heap;
- a strategy whose class says `LATENCY_BLIND = True` (it never reads `Outcome.latency`) gets
  shared immutable outcomes instead of a fresh one per attempt.
Untraced runs take this loop. `tests/sim/test_sim_engine.py` checks that the two loops agree
attempt for attempt (results, ledger, blocked arms) for every registered strategy, faults and
penalties included.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING

from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.sim.attempts import REFUSED_OUTCOME, Send, server_side
from banditlb.strategies.base import latency_blind

if TYPE_CHECKING:
    from banditlb.sim.simulation import Simulation

WOKEN = Outcome(OutcomeKind.ACCEPTED)
"""A held request's wake-up event on the heap: not an answer, nothing to record."""


def run_fast(sim: Simulation) -> None:
    """Play `sim` to its end as `run_reference` does, with less bookkeeping per event.

    A strategy whose class declares `LATENCY_BLIND` gets shared outcomes (`server_side`'s
    `shared`); any other an exact one per attempt. The clock stops at the last answer.
    """
    send = server_side(sim, shared=latency_blind(sim.router.strategy))
    sim.clock.advance_to(_play(sim, send))


def _play(sim: Simulation, send: Send) -> float:
    """Every request to its end; returns the time of the last event.

    Arrivals are not pushed on the heap: request i arrives at `i / rate`, and the next arrival
    keeps the sequence number the reference gives it (taken when the previous one arrives), so
    an answer due at the same time goes first exactly when it would there. Heap entries are
    `(time, seq, request, attempts so far, arm, outcome)`; an answer due strictly before the
    next arrival and the heap's first entry is the next event anyway, so the request plays on
    at once (most requests finish without touching the heap). Each step is the `Route`'s:
    `record` (block, observe), then `hold` and `next_arm` (paid_stop, open_arms, hold_for,
    choose, worth_paying), then the send; a refused connection is recorded at once.
    """
    router, free = sim.router, sim.free_attempts
    paid_stop, hold_for, paces = router.paid_stop, router.hold_for, router.paces
    blocks, open_arms, all_arms = router.blocks, router.open_arms, tuple(range(router.n_arms))
    choose, worth_paying, block = router.choose, router.worth_paying, router.block
    observe, accepted_kind = router.strategy.observe, OutcomeKind.ACCEPTED
    rate, requests, request_deadline = sim.rate, sim.requests, sim.request_deadline
    heap: list[tuple[float, int, int, int, int, Outcome]] = []
    arrival, arrived, seq, now = (0.0, 0), 0, 1, sim.clock.now()
    while True:
        if heap and heap[0] < arrival:  # an answer comes back
            now, _, index, attempts, arm, answer = heapq.heappop(heap)
        elif arrived < requests:  # the next request arrives
            now, index, attempts, answer = arrival[0], arrived, 0, WOKEN
            arrived += 1
            arrival = (arrived / rate, seq) if arrived < requests else (math.inf, 0)
            seq += 1
        else:
            return now
        deadline = index / rate + request_deadline
        while True:  # play this request on for as long as its next event is the next event
            if answer is not WOKEN:  # record: block on a Retry-After, observe
                attempts += 1
                if answer.retry_after is not None:
                    block(arm, now, answer.retry_after)
                observe(arm, answer, now, attempts)
                if answer.kind is accepted_kind or now >= deadline:
                    break
            elif now >= deadline:
                break
            attempt = attempts + 1
            paid = attempt > free
            if paid and paid_stop(attempt) is not None:
                break
            candidates = all_arms if blocks.latest <= now else open_arms(now)  # open_arms, at once
            if not candidates:
                break
            if paces and (held := hold_for(now, candidates, attempt, index / rate)) > 0.0:
                answer, latency = WOKEN, held
            else:
                arm = choose(now, candidates, attempt)
                if paid and not worth_paying(arm, now):
                    break
                sent = send(arm, now, index)
                if sent is None:  # refused: the balancer records it at once, tries again
                    answer = REFUSED_OUTCOME
                    continue
                answer, latency = sent
            answered = now + latency
            if answered < arrival[0] and (not heap or answered < heap[0][0]):
                now = answered  # nothing else happens first: no need for the heap
                continue
            heapq.heappush(heap, (answered, seq, index, attempts, arm, answer))
            seq += 1
            break
