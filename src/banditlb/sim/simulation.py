"""One simulated run: its state on a virtual clock, and the referee's score of it.

`Simulation.run` hands the state to one of two loops that play the game exactly alike:
`reference_loop.run_reference` (a `Route` per request, `ServerModel.decide` per attempt; taken
by traced runs) or `fast_loop.run_fast` (the same rules, less bookkeeping; taken otherwise).
`tests/sim/test_sim_engine.py` checks that they agree for every registered strategy, faults and
penalties included.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from banditlb.errors import ConfigError
from banditlb.game.clock import VirtualClock
from banditlb.game.ledger import Ledger, Score, ServerCounts
from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.game.router import DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_REQUEST_DEADLINE, Router
from banditlb.models.server import Fault, ServerModel
from banditlb.sim.counters import SimCounters
from banditlb.sim.fast_loop import run_fast
from banditlb.sim.reference_loop import AttemptRecord, run_reference
from banditlb.sim.result import SimResult

TIMELINE_POINTS = 100

_NOT_LISTENING = (Fault.REFUSED, Fault.FLAP)


class Simulation:
    """One run: arrivals, attempts and answers on a virtual clock, scored by the referee ledger.

    The loops (`reference_loop.run_reference`, `fast_loop.run_fast`) read the models, router
    and settings and write `counters` (a `SimCounters`: the referee's bookkeeping, kept flat);
    the methods here score what they left. `ledger` rebuilds the equivalent `Ledger`, and
    tests check the two agree attempt for attempt.
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
        self.timeline_points = max(0, min(timeline_points, requests))
        self.trace: list[AttemptRecord] | None = [] if trace else None
        self.timeout_outcome = Outcome(OutcomeKind.TIMEOUT, latency=attempt_timeout)
        """What the balancer records for an attempt that outlived `attempt_timeout`."""
        self.may_refuse = [
            any(fault.kind in _NOT_LISTENING for fault in model.spec.faults)
            for model in self.models
        ]
        """Per arm: whether the server can refuse connections (a refused or flap fault)."""
        self.counters = SimCounters.empty(
            requests=requests, arms=len(self.models), free_attempts=self.free_attempts
        )
        """The referee's counts, which the loops write and the methods below score."""

    def run(self) -> None:
        """Play every request to its end; the clock stops at the last answer.

        A traced run takes the reference loop (`Route` and `ServerModel.decide` as the balancer
        and the fleet use them); otherwise the fast loop, which gives identical results.
        """
        if self.trace is not None:
            run_reference(self)
        else:
            run_fast(self)

    def _server_counts(self) -> dict[str, ServerCounts]:
        """The referee's per-server counts, keyed by name, for servers that read an attempt."""
        servers: dict[str, ServerCounts] = {}
        flat = self.counters
        for arm, name in enumerate(self.names):
            ok, failed, limited = flat.ok[arm], flat.failed[arm], flat.rate_limited[arm]
            if ok or failed or limited:
                counts = servers.setdefault(name, ServerCounts())
                counts.ok += ok
                counts.failed += failed
                counts.rate_limited += limited
        return servers

    def score(self, penalty: float) -> Score:
        """The referee's score so far, as `Ledger.score` gives it."""
        counts = self.counters
        return Score(
            self.requests - counts.counted.count(0),
            counts.total_attempts,
            counts.accepted.count(1),
            counts.penalised,
            penalty,
        )

    @property
    def ledger(self) -> Ledger:
        """The referee's `Ledger` for this run (request ids are the indices as text)."""
        counts = self.counters
        return Ledger(
            free_attempts=self.free_attempts,
            attempts={str(i): n for i, n in enumerate(counts.counted) if n},
            accepted={str(i) for i, flag in enumerate(counts.accepted) if flag},
            servers=self._server_counts(),
            total_attempts=counts.total_attempts,
            penalised=counts.penalised,
        )

    def timeline(self) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """Cumulative (requests, score) at the end of each bucket of requests, by arrival."""
        penalty = self.router.rules.penalty
        points = self.timeline_points
        ends = tuple((b + 1) * self.requests // points for b in range(points))
        per_bucket_accepted, per_bucket_penalised = self.counters.buckets(points)
        accepted = itertools.accumulate(per_bucket_accepted)
        penalised = itertools.accumulate(per_bucket_penalised)
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
            timeouts=self.counters.timeouts,
            connection_errors=self.counters.connection_errors,
            duration=self.clock.now(),
            arm_names=tuple(self.names),
            arm_attempts=tuple(c.ok + c.failed + c.rate_limited if c else 0 for c in counts),
            arm_accepted=tuple(c.ok if c else 0 for c in counts),
            arm_rate_limited=tuple(c.rate_limited if c else 0 for c in counts),
            timeline_requests=ends,
            timeline_score=scores,
            params=tuple(sorted((params or {}).items())),
        )
