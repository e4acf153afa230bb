"""Capacity planner: model each server's rate limit, plan which attempt goes where (ours).

Not one of the blog's eight; it combines a limiter model, a flow LP and Thompson sampling.

1. Acceptance rates: a Beta posterior per server over *answered* attempts (200 vs 5xx/timeout);
   a 429 says nothing about the error rate, so it never touches the posterior. Older answers
   weigh less (`memory` 0.99 per answer of the server, about the last 100): real error rates
   drift (tuning family +0.24 +- 0.09 points of oracle against no discount; default T2
   0.9653 -> 0.9640 and T3 0.9622 -> 0.9640, 30 seeds; per second instead: +0.1). But it does
   spend one of the id's attempts: the plan and the index value an attempt at the posterior
   times the share of recent sends the server admitted (`admission`, discounted by
   `admission_memory` per send). Counting answered attempts only, the plan expected 1.6 last
   attempts/s on referee_t3 and got 3.4: half went to substitutes, half of those to the
   servers that accept 5% and 10%.
2. Limiter state, modelled from our own sends and only what real servers say (a 429, whole-
   second Retry-After, RateLimit fields): `capacity_model.py`. Per server a cap K on admitted
   sends in any sliding `window` seconds and a pace r learned AIMD-style, both lowered at 429s;
   sends in flight count against the room; repeated 429s are outages waited out with a
   doubling back-off; capacity that grows is found by probing (K) and additive increase (r);
   advertised quotas are taken as exact. A server without room gets no attempt, so few free
   attempts are burnt on 429s.
3. An attempt-aware plan: at most every `replan_interval` seconds of virtual time (and early on
   whenever the answered attempts have doubled), if a cap, the arrival rate or some p (by
   `drift`) moved, solve the flow LP (`flow_plan.py`, a small dense simplex, plans cached)

       max Σ_j Σ_i p_i x_ji   s.t.  Σ_j x_ji ≤ K_i / window               (server capacity)
                                   Σ_i x_ji ≤ λ − Σ_{j'<j} Σ_i p_i x_j'i  (ids left for attempt j)

   with x_ji the rate of attempt-j sends to server i, p_i posterior means and λ the arrival rate
   measured from first attempts over `rate_horizon` seconds. When capacity binds, the LP gives
   first attempts to plentiful flaky servers and saves scarce good capacity for retries.
4. Choose scores each candidate with room by the LP's dual index
   p · (1 − W_j) − μ_i (W_j: value of the id's later attempts, μ_i: server i's capacity price),
   p being a Thompson draw (`BetaSampler`) on attempts up to `explore_attempts` (exploration
   where a miss still leaves retries) and the posterior mean on later ones, either times the
   server's admission share (as in the plan, item 1). The top-scoring
   servers are the plan's; among ties it follows the plan's shares by deficit (stride)
   scheduling, and when the plan's servers are full the index picks the right substitute.
5. Hold rather than burn (`hold`, the `Pacing` contract): when no server the plan uses has
   room, the attempt waits until the first one will (within the request's `max_hold` budget,
   `router.RetryRules`); a 429 costs a free attempt, a short wait only latency. If the budget
   is spent and still nothing has room, the server that will admit soonest is tried.
   The id's last free attempt waits only for the servers the plan gives that attempt: a
   substitute there decides the id, and the plan saved its reliable capacity for it.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.strategies.base import ArmCounts, ArmSnapshot, Range, check_ranges, count, unit
from banditlb.strategies.planner.capacity_model import CapacityModel
from banditlb.strategies.planner.flow_plan import FlowPlan, solve_flow_plan
from banditlb.strategies.sampling import BetaSampler

_PLAN_CACHE = 512  # solved plans kept (oldest evicted first): worlds revisit a few states
_TIE = 1e-6  # index values closer than this are ties, broken by the plan's shares
_P_GRID = 50.0  # success rates are rounded to 1/50 so near-equal inputs share a plan
_RATE_GRID = 2.0  # arrival rates are rounded to 1/2 id per second for the same reason
_RATE_MOVE = 1.0  # ids per second the arrival rate must move by to re-solve
_EARLY_GROWTH = 2  # early on, re-plan whenever the answered attempts have grown this many times
_EARLY_SLACK = 4  # ... plus this many, so the first few answers re-plan quickly


@dataclass(frozen=True, slots=True)
class CapacityPlannerConfig:
    name: ClassVar[str] = "planner"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {
            "window": Range(0.01, 60.0),
            "replan_interval": Range(0.01, 3600.0),
            "drift": unit(),
            "probe_interval": Range(0.01, 3600.0),
            "max_probe_interval": Range(0.01, 86_400.0),
            "outage_after": Range(0.01, 3600.0),
            "raise_trial": Range(0.01, 3600.0),
            "base_backoff": Range(0.001, 3600.0),
            "max_backoff": Range(0.001, 3600.0),
            "free_attempts": count(1, 10),
            "rate_horizon": Range(0.1, 600.0),
            "explore_attempts": count(0, 10),
            "memory": Range(0.5, 1.0),
            "decrease": Range(0.01, 1.0),
            "increase": Range(0.0, 1000.0),
            "admission_memory": unit(),
            "plan_wait": Range(0.0, 60.0),
        }
    )
    window: float = 1.0
    replan_interval: float = 0.5  # 2 s: default T3 -0.005, tuning family -0.33 points
    drift: float = 0.05
    probe_interval: float = 2.0
    max_probe_interval: float = 10.0
    outage_after: float = 1.0
    raise_trial: float = 2.0
    base_backoff: float = 0.5
    max_backoff: float = 2.0  # an outage that ended is found within 2 s (8: referee_t3 -0.005)
    free_attempts: int = 3
    rate_horizon: float = 10.0
    explore_attempts: int = 1
    memory: float = 0.99  # per answer of the server: error rates drift (1.0: family -0.24 points)
    decrease: float = 0.8
    increase: float = 0.2
    admission_memory: float = 0.9
    plan_wait: float = 0.1  # an attempt before the last waits this long for its plan's servers

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        if self.max_probe_interval < self.probe_interval:
            raise ConfigError(
                f"parameter max_probe_interval must be >= probe_interval "
                f"({self.probe_interval!r}), got {self.max_probe_interval!r}"
            )
        if self.max_backoff < self.base_backoff:
            raise ConfigError(
                f"parameter max_backoff must be >= base_backoff "
                f"({self.base_backoff!r}), got {self.max_backoff!r}"
            )

    def build(self, n_arms: int, rng: random.Random) -> CapacityPlanner:
        return CapacityPlanner(n_arms, rng, self)


class CapacityPlanner:
    """Capacity-aware, attempt-aware routing from a periodically re-solved flow plan."""

    LATENCY_BLIND: ClassVar[bool] = False  # sends count until answered: latency places them

    def __init__(self, n_arms: int, rng: random.Random, config: CapacityPlannerConfig) -> None:
        self._draw = BetaSampler(rng).draw
        self._config = config
        self._n = n_arms
        self.wins = [0.0] * n_arms  # discounted by `memory` per answer of the arm
        self.losses = [0.0] * n_arms
        self.sends_seen = [0.0] * n_arms  # discounted by `admission_memory` per send's answer
        self.refusals_seen = [0.0] * n_arms  # ... the 429s among them
        self.capacity = CapacityModel(
            n_arms,
            window=config.window,
            probe_interval=config.probe_interval,
            max_probe_interval=config.max_probe_interval,
            outage_after=config.outage_after,
            raise_trial=config.raise_trial,
            base_backoff=config.base_backoff,
            max_backoff=config.max_backoff,
            decrease=config.decrease,
            increase=config.increase,
            horizon=config.rate_horizon,
        )
        levels = config.free_attempts
        self.shares: list[list[float]] = [[0.0] * n_arms for _ in range(levels)]
        self._sent: list[list[int]] = [[0] * n_arms for _ in range(levels)]
        self._level_total = [0] * levels
        self._planned_at = -math.inf
        self._answered = 0
        self._answered_at_plan = 0
        self._plan_inputs: tuple[float, list[float], list[float]] | tuple[()] = ()
        self._plans: dict[tuple[float, ...], FlowPlan] = {}
        self.plan = FlowPlan(
            [[0.0] * n_arms for _ in range(levels)], [0.0] * n_arms, [0.0] * levels
        )
        self.wanted = [True] * n_arms
        self._arrivals: deque[float] = deque()
        self._counts = ArmCounts(n_arms)

    # ---- estimates -------------------------------------------------------------------------

    def mean(self, arm: int) -> float:
        """Posterior mean acceptance rate of an answered attempt (Beta(1, 1) prior)."""
        return (1.0 + self.wins[arm]) / (2.0 + self.wins[arm] + self.losses[arm])

    def admission(self, arm: int) -> float:
        """The share of recent sends to `arm` it admitted (429s are the rest; prior: 2
        admitted). A 429 spends one of the id's attempts as surely as a 5xx does."""
        return 1.0 - self.refusals_seen[arm] / (2.0 + self.sends_seen[arm])

    def attempt_success(self, arm: int) -> float:
        """What one attempt sent to `arm` is worth in ids: admitted, then accepted."""
        return self.mean(arm) * self.admission(arm)

    def arrival_rate(self, now: float) -> float:
        """Client ids per second, from first attempts in the last `rate_horizon` seconds."""
        horizon = self._config.rate_horizon
        arrivals = self._arrivals
        while arrivals and arrivals[0] <= now - horizon:
            arrivals.popleft()
        if len(arrivals) < 2:
            return 1.0
        span = max(now - arrivals[0], 1e-3)
        return len(arrivals) / span if span < horizon else len(arrivals) / horizon

    # ---- planning --------------------------------------------------------------------------

    def _maybe_replan(self, now: float) -> None:
        config = self._config
        answered = self._answered
        if (
            now - self._planned_at < config.replan_interval
            and answered < _EARLY_GROWTH * self._answered_at_plan + _EARLY_SLACK
        ):
            return
        self._answered_at_plan = answered
        p = [round(self.attempt_success(a) * _P_GRID) / _P_GRID for a in range(self._n)]
        caps = [self.capacity.capacity(a, now) for a in range(self._n)]
        rate = round(self.arrival_rate(now) * _RATE_GRID) / _RATE_GRID
        self._planned_at = now
        last = self._plan_inputs
        if (
            last
            and caps == last[2]
            and abs(rate - last[0]) < _RATE_MOVE
            and max(abs(a - b) for a, b in zip(p, last[1], strict=True)) < config.drift
        ):
            return
        key = (rate, *p, *caps)
        plan = self._plans.get(key)
        if plan is None:
            plan = solve_flow_plan(p, caps, rate, len(self.shares))
            if len(self._plans) >= _PLAN_CACHE:
                del self._plans[next(iter(self._plans))]  # dicts keep insertion order
            self._plans[key] = plan
        self._plan_inputs = (rate, p, caps)
        self.plan = plan
        rates = plan.rates
        for level, row in enumerate(rates):
            total = sum(row)
            self.shares[level] = [x / total if total > 0 else 0.0 for x in row]
            self._sent[level] = [0] * self._n
            self._level_total[level] = 0
        planned = [any(row[a] > 0 for row in rates) for a in range(self._n)]
        success = self.attempt_success
        floor = min((success(a) for a in range(self._n) if planned[a]), default=0.0)
        self.wanted = [planned[a] or success(a) >= floor for a in range(self._n)]

    # ---- the contract ----------------------------------------------------------------------

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        if attempt == 1:
            self._arrivals.append(now)
        self._maybe_replan(now)
        level = min(attempt, len(self.shares)) - 1
        shares, sent = self.shares[level], self._sent[level]
        total = self._level_total[level] + 1
        model = self.capacity
        plan = self.plan
        explore = attempt <= self._config.explore_attempts
        has_room = model.has_room
        roomy: list[int] = []
        values: list[float] = []
        full = []  # candidates without room, in order: the only ones a probe can go to
        for arm in candidates:
            if has_room(arm, now):
                roomy.append(arm)
                values.append(plan.index(level, arm, self._p(arm, explore)))
            else:
                full.append(arm)
        best = -1
        if roomy:  # the top index; among ties, the plan's share most behind (stride scheduling)
            top = max(values) - _TIE
            best_deficit = -math.inf
            for value, arm in zip(values, roomy, strict=True):
                if value >= top:
                    deficit = shares[arm] * total - sent[arm]
                    if deficit > best_deficit:
                        best, best_deficit = arm, deficit
        if attempt == 1 and full:
            probe = model.probe_due(now, full, self.wanted)
            if probe is not None:
                best = probe
        if best < 0:
            best = self._fallback(now, candidates)
            model.mark_beyond(best)
        sent[best] += 1
        self._level_total[level] = total
        model.sending(best, now)
        for arm in full:
            if plan.rates[level][arm] > 0.0:
                model.starve(arm, now)
        return best

    def _p(self, arm: int, explore: bool) -> float:
        """Success probability to plan with: a posterior draw while exploring, else the mean
        success of an attempt (admitted and accepted)."""
        w, f = self.wins[arm], self.losses[arm]
        p = self._draw(1.0 + w, 1.0 + f) if explore else self.mean(arm)
        return p * self.admission(arm)

    def hold(self, now: float, candidates: Sequence[int], attempt: int) -> float:
        """Wait until the first candidate has room, rather than burn the attempt on a 429.

        0 when some candidate has room now, when a probe is due (first attempts probe), or
        when no candidate will ever have room without a probe (the caller then chooses, and
        `choose` falls back to a forced probe).

        The id's last free attempt waits for the servers the plan gives that attempt, not
        for any server worth having: a substitute there decides the id, and the plan keeps
        its reliable capacity for exactly these attempts (default scenario, 30 seeds: T2
        0.941 -> 0.956, T3 0.919 -> 0.931). Earlier attempts wait for their own plan's
        servers only when one frees within `plan_wait` seconds (0.1: default T2 0.960 ->
        0.964, referee_t3 0.834 -> 0.842, tuning family +0.15 points; waiting for them
        longer costs the default T3), else only while no server worth having has room, so
        most of the request's hold budget is left to its last.
        """
        self._maybe_replan(now)
        model = self.capacity
        level = min(attempt, len(self.shares)) - 1
        planned = self.plan.rates[level]
        own = [model.room_at(arm, now) for arm in candidates if planned[arm] > 0.0]
        if own:
            wait = max(0.0, min(own) - now)
            if level == len(self.shares) - 1 or wait <= self._config.plan_wait:
                return wait  # the plan's own servers for this attempt, soon enough
        soonest = math.inf
        for arm in candidates:
            if planned[arm] <= 0.0 and self.plan.rates[0][arm] <= 0.0 and not self.wanted[arm]:
                continue  # not worth waiting for, nor worth sending to while others fill
            at = model.room_at(arm, now)
            if at <= now:
                return 0.0
            soonest = at if at < soonest else soonest
        return soonest - now if soonest < math.inf else 0.0

    def _fallback(self, now: float, candidates: Sequence[int]) -> int:
        """No candidate has room and the request may wait no longer: of the servers whose
        refusal is not certain (our cap is only learned), the one sent to longest ago (the
        most reliable among equals). When every server is full this spreads the doomed-looking
        attempts like round robin, which finds whatever capacity our caps underrate.

        A server whose 429s carry a Retry-After of a second or more comes last: the router
        keeps a refused server out for that long, so a likely refusal there also wastes its
        capacity (random-12 T3: a sliding log of one send per 0.5 s that says "Retry-After: 1"
        was used at half its rate, 77% -> 84% of oracle; tuning family +0.15 +- 0.11 points,
        min 77.2% -> 80.8%; the default scenario and the referee, whose waits are shorter or
        absent, unchanged)."""
        model = self.capacity
        shuts = model.shuts_on_refusal
        pool = [a for a in candidates if not model.surely_full(a, now)] or candidates
        return min(pool, key=lambda a: (shuts[a], model.last_sent[a], -self.mean(a)))

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        self.capacity.record(arm, outcome, now)
        self._learn(arm, outcome)

    def observe_peer(
        self, arm: int, outcome: Outcome, now: float, attempt: int, answered_at: float
    ) -> None:
        """Another replica's answer (`PeerAware`): evidence for the posterior; and, when it
        is recent (within one window), a send of the cluster's in the limiter model, so
        caps, paces, back-offs and the arrival rate the plan uses are the cluster's."""
        self._counts.record(arm, outcome)
        if now - answered_at <= self.capacity.window:
            self.capacity.record(arm, outcome, answered_at, own=False)
            if attempt == 1:  # the cluster's arrival rate, not only ours
                sent_at = answered_at - outcome.latency
                arrivals = self._arrivals
                if not arrivals or arrivals[-1] <= sent_at:
                    arrivals.append(sent_at)
                else:
                    arrivals.insert(bisect.bisect_right(arrivals, sent_at), sent_at)
        self._learn(arm, outcome)

    def _learn(self, arm: int, outcome: Outcome) -> None:
        """The posterior's update for one answer (a 429 says nothing about reliability, only
        about admission)."""
        kind = outcome.kind
        keep = self._config.admission_memory
        self.sends_seen[arm] = keep * self.sends_seen[arm] + 1.0
        self.refusals_seen[arm] *= keep
        if kind is OutcomeKind.RATE_LIMITED:
            self.refusals_seen[arm] += 1.0
            return
        memory = self._config.memory
        if memory < 1.0:  # error rates may drift: older answers weigh less
            self.wins[arm] *= memory
            self.losses[arm] *= memory
        if kind is OutcomeKind.ACCEPTED:
            self.wins[arm] += 1.0
        else:
            self.losses[arm] += 1.0
        self._answered += 1

    def declare_limit(self, arm: int, requests: int, window: float) -> None:
        """A provider's declared limit as the limiter model's starting point (`DeclaredLimits`)."""
        self.capacity.declare(arm, requests, window)

    def estimate(self, arm: int, now: float) -> float:
        return self.mean(arm) if self.capacity.has_room(arm, now) else 0.0

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        model = self.capacity
        out = []
        for a in range(self._n):
            cap = model.capacity(a, now)
            until = model.blocked_until[a]
            out.append(
                self._counts.snapshot(
                    a,
                    self.mean(a),
                    alpha=1.0 + self.wins[a],
                    beta=1.0 + self.losses[a],
                    capacity=None if math.isinf(cap) else cap,
                    blocked_until=until if until > now else None,
                )
            )
        return out
