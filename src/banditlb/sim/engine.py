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
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from banditlb.clock import VirtualClock
from banditlb.errors import ConfigError
from banditlb.models.server import Fault, ServerModel
from banditlb.models.spec import Scenario
from banditlb.outcome import Outcome, OutcomeKind, outcome_for_status
from banditlb.referee import NO_ANSWER, Ledger
from banditlb.router import RetryRules, Route, Router, StopReason
from banditlb.sim.result import SimResult
from banditlb.sim.world import build_models, resolve_scenario, tier_specs
from banditlb.strategies.registry import build_strategy, config_params, make_config

DEFAULT_ATTEMPT_TIMEOUT = 2.0
TIMELINE_POINTS = 100
DEFAULT_REQUEST_DEADLINE = 10.0
"""As the live balancer: no new attempt once a request is this many seconds old."""

REFUSED_OUTCOME = Outcome(OutcomeKind.CONNECTION_ERROR)
_NOT_LISTENING = (Fault.REFUSED, Fault.FLAP)

# (time, seq, request index, request id, route or None for an arrival, arm, outcome)
_Event = tuple[float, int, int, str, Route | None, int, Outcome | None]


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
    """One run: arrivals, attempts and answers on a virtual clock, scored by the referee ledger."""

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
        self.ledger = Ledger(free_attempts=router.rules.free_attempts)
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
        self._handlers = [model.handle for model in self.models]
        self._may_refuse = [
            any(fault.kind in _NOT_LISTENING for fault in model.spec.faults)
            for model in self.models
        ]
        self._count = self.ledger.record

    def run(self) -> None:
        """Play every request to its end; the clock stops at the last answer."""
        heap = self._heap
        seq = self._seq
        pop = heapq.heappop
        push = heapq.heappush
        advance_to = self.clock.advance_to
        start = self.router.start
        send = self._send
        rate = self.rate
        requests = self.requests
        trace = self.trace
        push(heap, (0.0, next(seq), 0, "0", None, -1, None))
        while heap:
            now, _, index, rid, route, arm, outcome = pop(heap)
            advance_to(now)
            if route is None:  # an arrival: schedule the next one, start routing this one
                following = index + 1
                if following < requests:
                    arrival = following / rate
                    push(heap, (arrival, next(seq), following, str(following), None, -1, None))
                send(index, rid, start(), now)
            else:
                assert outcome is not None
                if trace is not None:
                    self._trace(index, arm, now, outcome)
                route.record(arm, outcome, now)
                send(index, rid, route, now)

    def _send(self, index: int, rid: str, route: Route, now: float) -> None:
        """Send the request's next attempt (or finish it); refusals retry at once."""
        timeout = self.attempt_timeout
        deadline = index / self.rate + self.request_deadline  # arrival time + deadline
        while True:
            if now >= deadline:
                route.give_up(StopReason.DEADLINE)
            arm = route.next_arm(now)
            if arm is None:
                if self.timeline_points:
                    self._finish(index, rid)
                return
            if self._may_refuse[arm] and self.models[arm].is_down(now):
                reply = None
            else:
                reply = self._handlers[arm](now)
                if reply.fault in _NOT_LISTENING:
                    reply = None
            if reply is None:  # refused: the referee never sees it; the balancer knows at once
                self.connection_errors += 1
                if self.trace is not None:
                    self.trace.append(AttemptRecord(index, arm, now, now, REFUSED_OUTCOME, False))
                route.record(arm, REFUSED_OUTCOME, now)
                continue
            status = reply.status
            latency = reply.latency
            if status is not None and latency < timeout:  # the usual case: an HTTP answer
                self._count(rid, self.names[arm], status)
                outcome = outcome_for_status(status, reply.retry_after, latency)
            else:
                self._count(rid, self.names[arm], NO_ANSWER if status is None else status)
                if status is None and reply.fault is not Fault.HANG and latency < timeout:
                    self.connection_errors += 1  # reset, malformed
                    outcome = Outcome(OutcomeKind.CONNECTION_ERROR, latency=latency)
                else:  # hang, or slower than the balancer waits
                    self.timeouts += 1
                    outcome, latency = self._timeout_outcome, timeout
            if self.trace is not None:
                self._in_flight[index] = (now, True)
            heapq.heappush(
                self._heap, (now + latency, next(self._seq), index, rid, route, arm, outcome)
            )
            return

    def _trace(self, index: int, arm: int, now: float, outcome: Outcome) -> None:
        assert self.trace is not None
        sent, counted = self._in_flight.pop(index)
        self.trace.append(AttemptRecord(index, arm, sent, now, outcome, counted))

    def _finish(self, index: int, rid: str) -> None:
        """A request is over: add what it scored to its timeline bucket."""
        ledger = self.ledger
        bucket = index * self.timeline_points // self.requests
        if rid in ledger.accepted:
            self._bucket_accepted[bucket] += 1
        extra = ledger.attempts.get(rid, 0) - ledger.free_attempts
        if extra > 0:
            self._bucket_penalised[bucket] += extra

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
        score = self.ledger.score(penalty)
        counts = [self.ledger.servers.get(name) for name in self.names]
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
