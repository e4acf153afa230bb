"""Capacity planner: model each server's rate limit, plan which attempt goes where (ours).

Not one of the blog's eight; it combines a limiter model, a flow LP and Thompson sampling.

1. Acceptance rates: a Beta posterior per server over *answered* attempts (200 vs 5xx/timeout);
   a 429 says nothing about the error rate, so it never touches the posterior.
2. Limiter state, modelled from our own sends (`capacity_model.py`): per server a cap K on
   admitted sends in any sliding `window` seconds, which is safe for fixed windows (any offset)
   and token buckets alike. When Retry-After values keep pointing at the same window boundary
   the server is a fixed window: we count sends in its current window and K becomes exactly the
   count at its first refusal. K starts unknown (infinite) and falls on 429s; a server at its cap
   gets no attempt, so we seldom burn a free attempt on a 429. Growing capacity (sinusoids, step
   changes) is found by probing: one first attempt past the cap of a server the plan wants,
   after `probe_interval` seconds, the interval doubling after a refused probe (or a raise
   undone by a 429 within `raise_trial` seconds; up to `max_probe_interval`) and halving after
   an admitted one. A 429 whose Retry-After exceeds `outage_after` seconds, or that comes with
   nothing admitted in the window, is an outage: the server sits out, K is left alone.
3. An attempt-aware plan: at most every `replan_interval` seconds of virtual time (and early on
   whenever the answered attempts have doubled), if a cap, the arrival rate or some p (by
   `drift`) moved, solve the flow LP (`flow_plan.py`, a small dense simplex, plans cached)

       max Σ_j Σ_i p_i x_ji   s.t.  Σ_j x_ji ≤ K_i / window               (server capacity)
                                   Σ_i x_ji ≤ λ − Σ_{j'<j} Σ_i p_i x_j'i  (ids left for attempt j)

   with x_ji the rate of attempt-j sends to server i, p_i posterior means and λ the arrival rate
   measured from first attempts over `rate_horizon` seconds. When capacity binds, the LP gives
   first attempts to plentiful flaky servers and saves scarce good capacity for retries.
4. Choose scores each candidate with room under its cap by the LP's dual index
   p · (1 − W_j) − μ_i (W_j: value of the id's later attempts, μ_i: server i's capacity price),
   p being a Thompson draw (`BetaSampler`) on attempts up to `explore_attempts` (exploration
   where a miss still leaves retries) and the posterior mean on later ones. The top-scoring
   servers are the plan's; among ties it follows the plan's shares by deficit (stride)
   scheduling, and when the plan's servers are full the index picks the right substitute. If no
   candidate has room, the most reliable one outside an outage is sent a probe. O(candidates)
   per choice.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from banditlb.errors import ConfigError
from banditlb.outcome import Outcome, OutcomeKind
from banditlb.strategies.base import ArmCounts, ArmSnapshot, BetaSampler, check_positive
from banditlb.strategies.capacity_model import CONFIRM, WINDOW_EPS, CapacityModel
from banditlb.strategies.flow_plan import FlowPlan, solve_flow_plan

_PLAN_CACHE = 512
_TIE = 1e-6


@dataclass(frozen=True, slots=True)
class CapacityPlannerConfig:
    name: ClassVar[str] = "planner"
    window: float = 1.0
    replan_interval: float = 2.0
    drift: float = 0.05
    probe_interval: float = 2.0
    max_probe_interval: float = 60.0
    outage_after: float = 1.0
    raise_trial: float = 2.0
    free_attempts: int = 3
    rate_horizon: float = 10.0
    explore_attempts: int = 1

    def __post_init__(self) -> None:
        for field in (
            "window",
            "replan_interval",
            "drift",
            "probe_interval",
            "max_probe_interval",
            "outage_after",
            "raise_trial",
            "rate_horizon",
        ):
            check_positive(field, getattr(self, field))
        if self.max_probe_interval < self.probe_interval:
            raise ConfigError(
                f"parameter max_probe_interval must be >= probe_interval "
                f"({self.probe_interval!r}), got {self.max_probe_interval!r}"
            )
        if self.explore_attempts < 0:
            raise ConfigError(
                f"parameter explore_attempts must be >= 0, got {self.explore_attempts!r}"
            )
        if self.free_attempts < 1:
            raise ConfigError(f"parameter free_attempts must be >= 1, got {self.free_attempts!r}")

    def build(self, n_arms: int, rng: random.Random) -> CapacityPlanner:
        return CapacityPlanner(n_arms, rng, self)


class CapacityPlanner:
    """Capacity-aware, attempt-aware routing from a periodically re-solved flow plan."""

    def __init__(self, n_arms: int, rng: random.Random, config: CapacityPlannerConfig) -> None:
        self._rng = rng
        self._draw = BetaSampler(rng).draw
        self._config = config
        self._n = n_arms
        self.wins = [0] * n_arms
        self.losses = [0] * n_arms
        self.capacity = CapacityModel(
            n_arms,
            window=config.window,
            probe_interval=config.probe_interval,
            max_probe_interval=config.max_probe_interval,
            outage_after=config.outage_after,
            raise_trial=config.raise_trial,
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
            and answered < 2 * self._answered_at_plan + 4
        ):
            return
        self._answered_at_plan = answered
        p = [round(self.mean(a) * 50.0) / 50.0 for a in range(self._n)]
        caps = [self.capacity.rate(a, now) for a in range(self._n)]
        rate = round(self.arrival_rate(now) * 2.0) / 2.0
        self._planned_at = now
        last = self._plan_inputs
        if (
            last
            and caps == last[2]
            and abs(rate - last[0]) < 1.0
            and max(abs(a - b) for a, b in zip(p, last[1], strict=True)) < config.drift
        ):
            return
        key = (rate, *p, *caps)
        plan = self._plans.get(key)
        if plan is None:
            plan = solve_flow_plan(p, caps, rate, len(self.shares))
            if len(self._plans) >= _PLAN_CACHE:
                self._plans.clear()
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
        floor = min((self.mean(a) for a in range(self._n) if planned[a]), default=0.0)
        self.wanted = [planned[a] or self.mean(a) >= floor for a in range(self._n)]

    # ---- the contract ----------------------------------------------------------------------

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        if attempt == 1:
            self._arrivals.append(now)
        self._maybe_replan(now)
        level = min(attempt, len(self.shares)) - 1
        shares, sent = self.shares[level], self._sent[level]
        total = self._level_total[level] + 1
        model = self.capacity
        later = 1.0 - self.plan.later_value[level]
        price = self.plan.capacity_price
        explore = attempt <= self._config.explore_attempts
        draw = self._draw
        wins, losses = self.wins, self.losses
        outage_until, cap, in_window = model.outage_until, model.cap, model.in_window
        sends_of, hits, misses = model.sends, model.phase_hits, model.phase_misses
        edge = now - model.window + WINDOW_EPS  # what model.in_window trims up to
        inf = math.inf
        roomy = []
        values = []
        full = []  # candidates without room, in order: the only ones probe_due can pick
        top = -inf
        for arm in candidates:
            # model.has_room(arm, now), inlined; in_window(arm, now) is len(sends) when
            # nothing expired and the arm is not aligned, so it is only called otherwise
            if outage_until[arm] > now:
                full.append(arm)
                continue
            room = cap[arm]
            if room != inf:
                sends = sends_of[arm]
                if (sends and sends[0] <= edge) or (hits[arm] >= CONFIRM > misses[arm]):
                    if in_window(arm, now) >= room:
                        full.append(arm)
                        continue
                elif len(sends) >= room:
                    full.append(arm)
                    continue
            w, f = wins[arm], losses[arm]
            p = draw(1.0 + w, 1.0 + f) if explore else (1.0 + w) / (2.0 + w + f)
            value = p * later - price[arm]
            roomy.append(arm)
            values.append(value)
            top = value if value > top else top
        best, best_deficit = -1, -inf
        for value, arm in zip(values, roomy, strict=True):
            if value >= top - _TIE:
                deficit = shares[arm] * total - sent[arm]
                if deficit > best_deficit:
                    best, best_deficit = arm, deficit
        if attempt == 1 and full:
            probe = model.probe_due(now, full, self.wanted)
            if probe is not None:
                best = probe
        if best < 0:
            best = self._fallback(now, candidates)
        sent[best] += 1
        self._level_total[level] = total
        return best

    def _fallback(self, now: float, candidates: Sequence[int]) -> int:
        """No candidate has room: the most reliable one not in an outage (a forced probe)."""
        model = self.capacity
        pool = [a for a in candidates if not model.in_outage(a, now)] or candidates
        best = max(pool, key=self.mean)
        model.mark_probe(best)
        return best

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        self.capacity.record(arm, outcome, now)
        if outcome.kind is OutcomeKind.ACCEPTED:
            self.wins[arm] += 1
            self._answered += 1
        elif outcome.kind is not OutcomeKind.RATE_LIMITED:
            self.losses[arm] += 1
            self._answered += 1

    def estimate(self, arm: int, now: float) -> float:
        return self.mean(arm) if self.capacity.has_room(arm, now) else 0.0

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        model = self.capacity
        out = []
        for a in range(self._n):
            cap = model.rate(a, now)
            until = model.outage_until[a]
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
