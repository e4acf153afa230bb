"""A discrete-event simulator of the game on a virtual clock, SimPy-style and deterministic.

Events sit on a heap of `(time, seq, ...)` with an `itertools.count()` tie-breaker, so events at
the same virtual time run in the order they were scheduled and a seed fixes the whole run. Client
requests arrive open-loop every `1 / rate` seconds (as the harness sends them); each request is
an independent chain of events that walks the *same* `Router` and strategy as the live balancer,
against the *same* `ServerModel`s the fleet serves:

- `route.next_arm(now)` is asked when the request arrives and whenever an answer comes back;
- the server model handles the attempt at the time it is sent; its answer arrives `Reply.latency`
  later, or as a TIMEOUT after `attempt_timeout` when it would take longer or the server hangs;
- reset/malformed replies are CONNECTION_ERRORs after their latency; a refused or flapping-down
  server is a CONNECTION_ERROR at once, which the referee never sees;
- the referee's `Ledger` counts every attempt a server read (429s included), at send time,
  with the pseudo status `NO_ANSWER` for hang/reset/malformed, as the fleet does;
- as in the live balancer, no attempt starts once the request is `request_deadline` seconds old.

`Simulation.run` has two loops that play exactly the same game. With `trace=True` it walks a
`Route` per request and calls `ServerModel.decide` per attempt: the reference. Without a trace it
runs the fast loop: arrivals are a regular grid merged with the heap of answers in flight (only
answers go on the heap, in the same `(time, seq)` order the reference gives them, and an answer
due before anything else is handled at once without the heap), the `Route` rules and `decide`
(for servers without faults) are inlined, and strategies known not to read `Outcome.latency`
get shared immutable outcomes instead of a fresh one per attempt. `tests/sim` checks that the
two loops give identical results for every registered strategy, faults and penalties included.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from banditlb.clock import VirtualClock
from banditlb.errors import ConfigError
from banditlb.models.server import Fault, ServerModel
from banditlb.models.spec import Scenario
from banditlb.outcome import Outcome, OutcomeKind, outcome_for_status
from banditlb.referee import Ledger, Score, ServerCounts
from banditlb.router import RetryRules, Route, Router, StopReason
from banditlb.sim.result import SimResult
from banditlb.sim.world import build_models, resolve_scenario, tier_specs
from banditlb.strategies.attempt_aware_ucb import AttemptAwareUCB
from banditlb.strategies.balanced_exploration import BalancedExploration
from banditlb.strategies.blocking import Blocking
from banditlb.strategies.discounted_thompson import DiscountedThompson
from banditlb.strategies.discover_exploit import DiscoverExploit
from banditlb.strategies.exp3 import Exp3
from banditlb.strategies.kl_ucb import KLUCB
from banditlb.strategies.masked_thompson import MaskedThompson
from banditlb.strategies.primal_dual_bwk import PrimalDualBwK
from banditlb.strategies.random_choice import RandomChoice
from banditlb.strategies.registry import build_strategy, config_params, make_config
from banditlb.strategies.round_robin import RoundRobin
from banditlb.strategies.sliding_window_thompson import SlidingWindowThompson
from banditlb.strategies.sliding_window_ucb import SlidingWindowUCB
from banditlb.strategies.thompson import Thompson
from banditlb.strategies.ucb1 import UCB1
from banditlb.strategies.variance_scaled_thompson import VarianceScaledThompson

DEFAULT_ATTEMPT_TIMEOUT = 2.0
TIMELINE_POINTS = 100
DEFAULT_REQUEST_DEADLINE = 10.0
"""As the live balancer: no new attempt once a request is this many seconds old."""

REFUSED_OUTCOME = Outcome(OutcomeKind.CONNECTION_ERROR)
_NOT_LISTENING = (Fault.REFUSED, Fault.FLAP)

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

# (time, seq, request index, route or None for an arrival, arm, outcome); the request's id is
# str(index), which the referee's bookkeeping below never needs to build.
_Event = tuple[float, int, int, Route | None, int, Outcome | None]
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
    bool,
    Outcome,
]
_Decide = Callable[[float], tuple[int | None, float, float | None, Fault | None]]
_IsDown = Callable[[float], bool]


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt as the balancer saw it (kept only when tracing)."""

    request: int
    arm: int
    sent: float
    answered: float
    outcome: Outcome
    counted: bool


class Simulation:
    """One run: arrivals, attempts and answers on a virtual clock, scored by the referee ledger.

    The referee's bookkeeping is the `Ledger`'s, kept in flat per-request and per-arm counters
    (request ids here are unique indices, so no dict keyed by id is needed); `ledger` rebuilds
    the equivalent `Ledger`, and tests check the two agree attempt for attempt.
    """

    def __init__(
        self,
        models: Sequence[ServerModel],
        router: Router,
        *,
        rate: float,
        requests: int,
        attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT,
        request_deadline: float = DEFAULT_REQUEST_DEADLINE,
        timeline_points: int = TIMELINE_POINTS,
        trace: bool = False,
    ) -> None:
        if len(models) != router.n_arms:
            raise ConfigError(f"{len(models)} server models for a router of {router.n_arms} arms")
        if rate <= 0:
            raise ConfigError(f"rate must be > 0 requests/s, got {rate!r}")
        if requests < 1:
            raise ConfigError(f"requests must be >= 1, got {requests!r}")
        if attempt_timeout <= 0:
            raise ConfigError(f"attempt_timeout must be > 0 s, got {attempt_timeout!r}")
        if request_deadline <= 0:
            raise ConfigError(f"request_deadline must be > 0 s, got {request_deadline!r}")
        self.models = list(models)
        self.names = [model.name for model in self.models]
        self.router = router
        self.rate = rate
        self.requests = requests
        self.attempt_timeout = attempt_timeout
        self.request_deadline = request_deadline
        self.clock = VirtualClock()
        self.free_attempts = router.rules.free_attempts
        self.timeouts = 0
        self.connection_errors = 0
        points = max(0, min(timeline_points, requests))
        self.timeline_points = points
        self._bucket_accepted = [0] * points
        self._bucket_penalised = [0] * points
        self.trace: list[AttemptRecord] | None = [] if trace else None
        self._in_flight: dict[int, tuple[float, bool]] = {}
        self._heap: list[_Event] = []
        self._seq = itertools.count()
        self._timeout_outcome = Outcome(OutcomeKind.TIMEOUT, latency=attempt_timeout)
        self._may_refuse = [
            any(fault.kind in _NOT_LISTENING for fault in model.spec.faults)
            for model in self.models
        ]
        # The referee's counts: attempts it read per request (index) and per arm.
        n_arms = len(self.models)
        self._counted = [0] * requests
        self._accepted = bytearray(requests)
        self._ok = [0] * n_arms
        self._failed = [0] * n_arms
        self._rate_limited = [0] * n_arms
        self._total_attempts = 0
        self._penalised = 0

    def run(self) -> None:
        """Play every request to its end; the clock stops at the last answer.

        A traced run takes the reference loop (`Route` and `ServerModel.decide` as the balancer
        and the fleet use them); otherwise the fast loop, which gives identical results.
        """
        if self.trace is not None:
            self._run_reference()
        else:
            self._run_fast()

    def _run_reference(self) -> None:
        """The game as the live parts play it: a `Route` per request, `decide` per attempt."""
        heap = self._heap
        next_seq = self._seq.__next__
        pop = heapq.heappop
        push = heapq.heappush
        start = self.router.start
        rate = self.rate
        requests = self.requests
        request_deadline = self.request_deadline
        timeout = self.attempt_timeout
        timeout_outcome = self._timeout_outcome
        trace = self.trace
        in_flight = self._in_flight
        decide = [model.decide for model in self.models]
        is_down = [
            model.is_down if may else None
            for model, may in zip(self.models, self._may_refuse, strict=True)
        ]
        points = self.timeline_points
        bucket_accepted = self._bucket_accepted
        bucket_penalised = self._bucket_penalised
        counted = self._counted
        accepted = self._accepted
        ok = self._ok
        failed = self._failed
        rate_limited = self._rate_limited
        free = self.free_attempts
        total_attempts = self._total_attempts
        penalised = self._penalised
        timeouts = self.timeouts
        connection_errors = self.connection_errors
        refused, flap, hang = Fault.REFUSED, Fault.FLAP, Fault.HANG
        accepted_kind = OutcomeKind.ACCEPTED
        limited_kind = OutcomeKind.RATE_LIMITED
        failed_kind = OutcomeKind.FAILED
        error_kind = OutcomeKind.CONNECTION_ERROR
        deadline_reason = StopReason.DEADLINE
        now = self.clock.now()
        push(heap, (0.0, next_seq(), 0, None, -1, None))
        while heap:
            now, _, index, route, arm, outcome = pop(heap)
            if route is None:  # an arrival: schedule the next one, start routing this one
                following = index + 1
                if following < requests:
                    push(heap, (following / rate, next_seq(), following, None, -1, None))
                route = start()
            else:
                assert outcome is not None
                if trace is not None:
                    self._trace(index, arm, now, outcome)
                route.record(arm, outcome, now)
            # Send the request's next attempt (or finish it); refusals retry at once.
            deadline = index / rate + request_deadline  # arrival time + deadline
            next_arm = route.next_arm
            while True:
                if now >= deadline:
                    route.give_up(deadline_reason)
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
                    if status == 200:
                        answer = Outcome(accepted_kind, 200, None, latency)
                    elif status == 429:
                        answer = Outcome(limited_kind, 429, retry_after, latency)
                    else:
                        answer = Outcome(failed_kind, status, None, latency)
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
        self.clock.advance_to(now)
        self._total_attempts = total_attempts
        self._penalised = penalised
        self.timeouts = timeouts
        self.connection_errors = connection_errors

    def _run_fast(self) -> None:
        """The reference loop's game with its calls inlined: the simulator's hot path.

        Arrivals are not pushed on the heap: request i arrives at `i / rate`, and the next
        arrival keeps the sequence number the reference gives it (taken when the previous one
        arrives), so an answer due at the same time goes first exactly when it would there.
        Heap entries are `(time, seq, request, attempts so far, arm, outcome)`; an answer due
        strictly before the next arrival and the heap's first entry is the next event anyway,
        so the request plays on at once (most requests finish without touching the heap). The
        `Route` rules (deadline, free/paid/max attempts, Retry-After candidates, the penalty
        test) and the referee's counts run inline; `ServerModel.decide` too, for servers
        without faults. While some arm is blocked the candidates are a tuple kept until the
        next block ends or a new one starts (the reference builds the same arms as a list).
        """
        router = self.router
        strategy = router.strategy
        choose, observe, estimate = strategy.choose, strategy.observe, strategy.estimate
        rules = router.rules
        free, max_attempts, penalty = rules.free_attempts, rules.max_attempts, rules.penalty
        never_paid = penalty >= 1.0  # as Router: no estimate can beat a penalty of 1
        blocked = router.blocked_until
        all_arms = tuple(range(router.n_arms))
        blocked_max = max(blocked)  # entries only grow, so this stays max(blocked)
        some_arms: tuple[int, ...] = ()  # the candidates while some arm is blocked ...
        some_until = -math.inf  # ... until this time (the next block to end), or recompute
        rate = self.rate
        requests = self.requests
        request_deadline = self.request_deadline
        timeout = self.attempt_timeout
        timeout_outcome = self._timeout_outcome
        accepted_kind = OutcomeKind.ACCEPTED
        limited_kind = OutcomeKind.RATE_LIMITED
        failed_kind = OutcomeKind.FAILED
        error_kind = OutcomeKind.CONNECTION_ERROR
        refused, flap, hang = Fault.REFUSED, Fault.FLAP, Fault.HANG
        shared = type(strategy) in LATENCY_BLIND
        ok_outcome = Outcome(accepted_kind, 200)
        limited_outcome = Outcome(limited_kind, 429)
        limited_hinted: dict[float, Outcome] = {}
        # Per arm: decide's parts and the shared 5xx outcome for a server without faults (else
        # None); decide and is_down (None when it never refuses) for the general path.
        inline: list[_Inline | None] = []
        general: list[tuple[_Decide, _IsDown | None]] = []
        for model, may_refuse in zip(self.models, self._may_refuse, strict=True):
            parts = model.inline_parts()
            failed_outcome = Outcome(failed_kind, model.spec.error_status)
            inline.append(None if parts is None else (*parts, failed_outcome))
            general.append((model.decide, model.is_down if may_refuse else None))
        points = self.timeline_points
        bucket_accepted = self._bucket_accepted
        bucket_penalised = self._bucket_penalised
        counted = self._counted
        accepted = self._accepted
        ok = self._ok
        failed = self._failed
        rate_limited = self._rate_limited
        timeouts = self.timeouts
        connection_errors = self.connection_errors
        heap: list[tuple[float, int, int, int, int, Outcome]] = []
        push, pop = heapq.heappush, heapq.heappop
        arrival = (0.0, 0)  # (time, seq) of the next request to arrive
        arrived = 0  # requests arrived so far: the next one's index
        seq = 1
        now = self.clock.now()
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
                if answer is not None:  # Route.record, inlined
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
                            retry_after = round(wait, 3) if hint else None
                            if not shared:
                                answer = Outcome(limited_kind, 429, retry_after, latency)
                            elif retry_after is None:
                                answer = limited_outcome
                            else:
                                answer = limited_hinted.get(retry_after)
                                if answer is None:
                                    answer = Outcome(limited_kind, 429, retry_after)
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
                    decide, down = general[arm]
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
                        answer = outcome_for_status(status, retry_after, latency)
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
        self.clock.advance_to(now)
        self._total_attempts += sum(counted)
        self._penalised += sum(count - free for count in counted if count > free)
        self.timeouts = timeouts
        self.connection_errors = connection_errors

    def _trace(self, index: int, arm: int, now: float, outcome: Outcome) -> None:
        assert self.trace is not None
        sent, counted = self._in_flight.pop(index)
        self.trace.append(AttemptRecord(index, arm, sent, now, outcome, counted))

    def _server_counts(self) -> dict[str, ServerCounts]:
        """The referee's per-server counts, keyed by name, for servers that read an attempt."""
        servers: dict[str, ServerCounts] = {}
        for arm, name in enumerate(self.names):
            ok, failed, limited = self._ok[arm], self._failed[arm], self._rate_limited[arm]
            if ok or failed or limited:
                counts = servers.setdefault(name, ServerCounts())
                counts.ok += ok
                counts.failed += failed
                counts.rate_limited += limited
        return servers

    def score(self, penalty: float) -> Score:
        """The referee's score so far, as `Ledger.score` gives it."""
        requests = self.requests
        return Score(
            requests - self._counted.count(0),
            self._total_attempts,
            self._accepted.count(1),
            self._penalised,
            penalty,
        )

    @property
    def ledger(self) -> Ledger:
        """The referee's `Ledger` for this run (request ids are the indices as text)."""
        counted = self._counted
        return Ledger(
            free_attempts=self.free_attempts,
            attempts={str(i): n for i, n in enumerate(counted) if n},
            accepted={str(i) for i, flag in enumerate(self._accepted) if flag},
            servers=self._server_counts(),
            total_attempts=self._total_attempts,
            penalised=self._penalised,
        )

    def timeline(self) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """Cumulative (requests, score) at the end of each bucket of requests, by arrival."""
        penalty = self.router.rules.penalty
        points = self.timeline_points
        ends = tuple((b + 1) * self.requests // points for b in range(points))
        accepted = itertools.accumulate(self._bucket_accepted)
        penalised = itertools.accumulate(self._bucket_penalised)
        scores = tuple(a - penalty * p for a, p in zip(accepted, penalised, strict=True))
        return ends, scores

    def result(
        self,
        *,
        scenario: str,
        tier: str,
        strategy: str,
        seed: int,
        params: Mapping[str, Any] | None = None,
    ) -> SimResult:
        """The run's totals as plain data (call after `run`)."""
        penalty = self.router.rules.penalty
        score = self.score(penalty)
        servers = self._server_counts()
        counts = [servers.get(name) for name in self.names]
        ends, scores = self.timeline()
        return SimResult(
            scenario=scenario,
            tier=tier,
            strategy=strategy,
            seed=seed,
            requests=self.requests,
            rate=self.rate,
            penalty=penalty,
            accepted=score.accepted,
            attempts=score.attempts,
            penalised_attempts=score.penalised_attempts,
            score=score.score,
            rate_limited=sum(c.rate_limited for c in counts if c),
            failed=sum(c.failed for c in counts if c),
            timeouts=self.timeouts,
            connection_errors=self.connection_errors,
            duration=self.clock.now(),
            arm_names=tuple(self.names),
            arm_attempts=tuple(c.ok + c.failed + c.rate_limited if c else 0 for c in counts),
            arm_accepted=tuple(c.ok if c else 0 for c in counts),
            arm_rate_limited=tuple(c.rate_limited if c else 0 for c in counts),
            timeline_requests=ends,
            timeline_score=scores,
            params=tuple(sorted((params or {}).items())),
        )


def simulate(
    scenario: Scenario | str | Path | None,
    tier: str,
    strategy: str,
    *,
    seed: int,
    requests: int,
    params: Mapping[str, Any] | None = None,
    rules: RetryRules | None = None,
    rate: float | None = None,
    record_timeline: bool = True,
    attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT,
    request_deadline: float = DEFAULT_REQUEST_DEADLINE,
) -> SimResult:
    """Simulate `requests` client requests on `tier` routed by the registry strategy `strategy`.

    `scenario` is a loaded Scenario, a file path or a built-in name. The strategy's RNG is
    `random.Random(seed)`, and the server models are seeded with `seed` too (not
    `scenario.seed`): different seeds are different worlds as well as different choices.
    `rate` overrides the scenario's arrival rate; `rules` carries the penalty.
    `attempt_timeout` and `request_deadline` default to the live balancer's settings.
    """
    world = resolve_scenario(scenario)
    specs = tier_specs(world, tier)
    config = make_config(strategy, params)
    policy = build_strategy(strategy, len(specs), random.Random(seed), params)
    router = Router(policy, len(specs), rules)
    sim = Simulation(
        build_models(specs, seed),
        router,
        rate=world.rate if rate is None else rate,
        requests=requests,
        attempt_timeout=attempt_timeout,
        request_deadline=request_deadline,
        timeline_points=TIMELINE_POINTS if record_timeline else 0,
    )
    sim.run()
    return sim.result(
        scenario=world.name, tier=tier, strategy=strategy, seed=seed, params=config_params(config)
    )
