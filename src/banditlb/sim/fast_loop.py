"""The fast loop: an optimisation of the reference loop, and the simulator's hot path.

It plays exactly the same game as `reference_loop.run_reference`, attempt for attempt, with the
calls inlined: arrivals are a regular grid merged with a heap of the answers in flight (only
answers go on the heap, in the same `(time, seq)` order the reference gives them, and an answer
due before anything else is handled at once without the heap); the `Route` rules and
`ServerModel.decide` (for servers without faults) run inline; strategies known not to read
`Outcome.latency` get shared immutable outcomes instead of a fresh one per attempt. Untraced
runs take this loop. `tests/sim/test_sim_engine.py` checks that the two loops agree attempt for
attempt (results, ledger, blocked arms) for every registered strategy, faults and penalties
included: a change to one loop needs the same change in the other.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from banditlb.game.outcome import Outcome, OutcomeKind, Quota, outcome_for_status
from banditlb.game.router import hold_delay
from banditlb.models.server import Fault
from banditlb.sim.reference_loop import REFUSED_OUTCOME
from banditlb.strategies.attempt_aware_ucb import AttemptAwareUCB
from banditlb.strategies.balanced_exploration import BalancedExploration
from banditlb.strategies.base import Pacing
from banditlb.strategies.blocking import Blocking
from banditlb.strategies.discounted_thompson import DiscountedThompson
from banditlb.strategies.discover_exploit import DiscoverExploit
from banditlb.strategies.exp3 import Exp3
from banditlb.strategies.kl_ucb import KLUCB
from banditlb.strategies.masked_thompson import MaskedThompson
from banditlb.strategies.primal_dual_bwk import PrimalDualBwK
from banditlb.strategies.random_choice import RandomChoice
from banditlb.strategies.round_robin import RoundRobin
from banditlb.strategies.sliding_window_thompson import SlidingWindowThompson
from banditlb.strategies.sliding_window_ucb import SlidingWindowUCB
from banditlb.strategies.thompson import Thompson
from banditlb.strategies.ucb1 import UCB1
from banditlb.strategies.variance_scaled_thompson import VarianceScaledThompson

if TYPE_CHECKING:
    from banditlb.sim.simulation import Simulation

LATENCY_BLIND: frozenset[type] = frozenset(
    {
        AttemptAwareUCB,
        BalancedExploration,
        Blocking,
        DiscountedThompson,
        DiscoverExploit,
        Exp3,
        KLUCB,
        MaskedThompson,
        PrimalDualBwK,
        RandomChoice,
        RoundRobin,
        SlidingWindowThompson,
        SlidingWindowUCB,
        Thompson,
        UCB1,
        VarianceScaledThompson,
    }
)
"""Strategy classes that never read `Outcome.latency` (checked by grep; the capacity planner
does read it): the fast loop hands them one shared `Outcome` per (kind, status, Retry-After),
with latency 0. Any other strategy gets a fresh, exact `Outcome` per attempt."""

# The fast loop's per-arm parts: ServerModel.inline_parts() plus the server's shared 5xx outcome.
_Inline = tuple[
    Callable[[], float] | None,
    float,
    float,
    float,
    Callable[[float], float | None] | None,
    Callable[[], float],
    float,
    int,
    Callable[[float, float], float] | None,
    Outcome,
]
_Decide = Callable[[float], tuple[int | None, float, float | None, Fault | None]]
_IsDown = Callable[[float], bool]
_Advertised = Callable[[float], Quota | None]


def run_fast(sim: Simulation) -> None:
    """Play `sim` to its end as `run_reference` does, with its calls inlined.

    Reads and updates the same simulation state as `run_reference` (no trace). Arrivals are
    not pushed on the heap: request i arrives at `i / rate`, and the next arrival keeps the
    sequence number the reference gives it (taken when the previous one arrives), so an answer
    due at the same time goes first exactly when it would there.
    Heap entries are `(time, seq, request, attempts so far, arm, outcome)`; an answer due
    strictly before the next arrival and the heap's first entry is the next event anyway,
    so the request plays on at once (most requests finish without touching the heap). The
    `Route` rules (deadline, free/paid/max attempts, Retry-After candidates, the penalty
    test) and the referee's counts run inline; `ServerModel.decide` too, for servers
    without faults. While some arm is blocked the candidates are a tuple kept until the
    next block ends or a new one starts (the reference builds the same arms as a list).
    """
    router = sim.router
    strategy = router.strategy
    choose, observe, estimate = strategy.choose, strategy.observe, strategy.estimate
    woken = Outcome(OutcomeKind.ACCEPTED)  # a held request's wake-up event, not an answer
    rules = router.rules
    free, max_attempts, penalty = rules.free_attempts, rules.max_attempts, rules.penalty
    never_paid = penalty >= 1.0  # as Router: no estimate can beat a penalty of 1
    hold = strategy.hold if isinstance(strategy, Pacing) and rules.max_hold > 0.0 else None
    max_hold = rules.max_hold
    blocked = router.blocked_until
    all_arms = tuple(range(router.n_arms))
    blocked_max = max(blocked)  # entries only grow, so this stays max(blocked)
    some_arms: tuple[int, ...] = ()  # the candidates while some arm is blocked ...
    some_until = -math.inf  # ... until this time (the next block to end), or recompute
    rate = sim.rate
    requests = sim.requests
    request_deadline = sim.request_deadline
    timeout = sim.attempt_timeout
    timeout_outcome = sim._timeout_outcome
    accepted_kind = OutcomeKind.ACCEPTED
    limited_kind = OutcomeKind.RATE_LIMITED
    failed_kind = OutcomeKind.FAILED
    error_kind = OutcomeKind.CONNECTION_ERROR
    refused, flap, hang = Fault.REFUSED, Fault.FLAP, Fault.HANG
    shared = type(strategy) in LATENCY_BLIND
    ok_outcome = Outcome(accepted_kind, 200)
    limited_outcome = Outcome(limited_kind, 429)
    limited_hinted: dict[float, Outcome] = {}
    # Per arm: decide's parts and the shared 5xx outcome for a server without faults or
    # rate-limit fields (else None); decide, is_down (None when it never refuses) and
    # advertised (None when it sends no rate-limit fields) for the general path.
    inline: list[_Inline | None] = []
    general: list[tuple[_Decide, _IsDown | None, _Advertised | None]] = []
    for model, may_refuse in zip(sim.models, sim._may_refuse, strict=True):
        parts = model.inline_parts()
        failed_outcome = Outcome(failed_kind, model.spec.error_status)
        inline.append(None if parts is None else (*parts, failed_outcome))
        general.append(
            (
                model.decide,
                model.is_down if may_refuse else None,
                model.advertised if model.advertises else None,
            )
        )
    points = sim.timeline_points
    bucket_accepted = sim._bucket_accepted
    bucket_penalised = sim._bucket_penalised
    counted = sim._counted
    accepted = sim._accepted
    ok = sim._ok
    failed = sim._failed
    rate_limited = sim._rate_limited
    timeouts = sim.timeouts
    connection_errors = sim.connection_errors
    heap: list[tuple[float, int, int, int, int, Outcome]] = []
    push, pop = heapq.heappush, heapq.heappop
    arrival = (0.0, 0)  # (time, seq) of the next request to arrive
    arrived = 0  # requests arrived so far: the next one's index
    seq = 1
    now = sim.clock.now()
    while True:
        if heap and heap[0] < arrival:  # an answer comes back
            now, _, index, attempts, arm, answer = pop(heap)
        elif arrived < requests:  # the next request arrives
            now, index, arm, answer = arrival[0], arrived, -1, None
            arrived += 1
            arrival = (arrived / rate, seq) if arrived < requests else (math.inf, 0)
            seq += 1
            attempts = 0
        else:
            break
        deadline = index / rate + request_deadline  # arrival time + deadline
        in_flight = False
        # Play this request on for as long as its answer is the next event anyway.
        while True:
            if answer is woken:  # a held request wakes up: it has no answer to record
                answer = None
            elif answer is not None:  # Route.record, inlined
                attempts += 1
                if answer.kind is accepted_kind:
                    observe(arm, answer, now, attempts)
                    break
                retry_after = answer.retry_after
                if retry_after is not None and retry_after > 0:
                    until = now + retry_after
                    if until > blocked[arm]:
                        blocked[arm] = until
                        some_until = -math.inf
                        blocked_max = max(blocked_max, until)
                observe(arm, answer, now, attempts)
                answer = None
            # Send the next attempt, or stop; refusals retry at once.
            while now < deadline:
                attempt = attempts + 1  # Route.next_arm, inlined
                paid = attempt > free
                if paid and (never_paid or attempt > max_attempts):
                    break
                if blocked_max <= now:
                    candidates = all_arms
                else:
                    if now >= some_until:
                        some_arms = tuple([a for a, t in enumerate(blocked) if t <= now])
                        some_until = min([t for t in blocked if t > now])
                    if not some_arms:
                        break
                    candidates = some_arms
                if hold is not None:  # Route.hold, inlined
                    held = hold(now, candidates, attempt)
                    if held > 0.0:
                        held = hold_delay(held, now, index / rate, max_hold)
                        if held > 0.0:
                            answer, latency = woken, held
                            break
                arm = choose(now, candidates, attempt)
                if paid and estimate(arm, now) <= penalty:
                    break
                server = inline[arm]
                if server is not None:  # ServerModel.decide, inlined (no faults)
                    (
                        latency_random,
                        latency,
                        low,
                        span,
                        refusal,
                        outcome_random,
                        error_rate,
                        error_status,
                        hint,
                        failed_outcome,
                    ) = server
                    if latency_random is not None:
                        latency = low + span * latency_random()
                        if not latency > 0.0:  # max(0.0, latency)
                            latency = 0.0
                    counted[index] += 1
                    if refusal is not None and (wait := refusal(now)) is not None:
                        rate_limited[arm] += 1
                        retry_after = None if hint is None else hint(wait, now)
                        if not shared:
                            answer = Outcome(limited_kind, 429, retry_after, latency)
                        elif retry_after is None:
                            answer = limited_outcome
                        else:
                            answer = limited_hinted.get(retry_after)
                            if answer is None:
                                answer = Outcome(limited_kind, 429, retry_after)
                                if len(limited_hinted) < 4096:  # HTTP-date hints vary freely
                                    limited_hinted[retry_after] = answer
                    elif outcome_random() >= error_rate:
                        ok[arm] += 1
                        accepted[index] = 1
                        if shared:
                            answer = ok_outcome
                        else:
                            answer = Outcome(accepted_kind, 200, None, latency)
                    else:
                        failed[arm] += 1
                        if shared:
                            answer = failed_outcome
                        else:
                            answer = Outcome(failed_kind, error_status, None, latency)
                    if latency >= timeout:  # slower than the balancer waits
                        timeouts += 1
                        answer, latency = timeout_outcome, timeout
                    break
                # The general path (a server with faults), as the reference loop plays it.
                decide, down, advertised = general[arm]
                if down is not None and down(now):
                    fault: Fault | None = refused
                else:
                    status, latency, retry_after, fault = decide(now)
                if fault is refused or fault is flap:
                    # refused: the referee never sees it; the balancer knows at once
                    connection_errors += 1
                    attempts += 1
                    observe(arm, REFUSED_OUTCOME, now, attempts)
                    continue
                counted[index] += 1
                if status == 200:
                    ok[arm] += 1
                    accepted[index] = 1
                elif status == 429:
                    rate_limited[arm] += 1
                else:  # 5xx, or NO_ANSWER for a hang, reset or malformed reply
                    failed[arm] += 1
                if status is not None and latency < timeout:  # an HTTP answer
                    quota = None if advertised is None else advertised(now)
                    answer = outcome_for_status(status, retry_after, latency, quota=quota)
                elif status is None and fault is not hang and latency < timeout:
                    connection_errors += 1  # reset, malformed
                    answer = Outcome(error_kind, latency=latency)
                else:  # hang, or slower than the balancer waits
                    timeouts += 1
                    answer, latency = timeout_outcome, timeout
                break
            if answer is None:  # no attempt sent: the request is over
                break
            answered = now + latency
            if answered < arrival[0] and (not heap or answered < heap[0][0]):
                now = answered  # nothing else happens first: no need for the heap
                continue
            push(heap, (answered, seq, index, attempts, arm, answer))
            seq += 1
            in_flight = True
            break
        if not in_flight and points:  # the request is over: add what it scored
            bucket = index * points // requests
            if accepted[index]:
                bucket_accepted[bucket] += 1
            extra = counted[index] - free
            if extra > 0:
                bucket_penalised[bucket] += extra
    sim.clock.advance_to(now)
    sim._total_attempts += sum(counted)
    sim._penalised += sum(count - free for count in counted if count > free)
    sim.timeouts = timeouts
    sim.connection_errors = connection_errors
