"""Latency in the objective (a route's `prefer_faster = true`): among upstreams the strategy
rates equally likely to succeed, the faster one gets the attempt.

`LatencyTable` keeps an exponentially weighted mean of each upstream's answer time (to the
answer's headers), fed by every attempt on every route. `FasterAmongEquals` wraps the route's
strategy: before the strategy chooses, the candidates are narrowed
1. to those whose estimate is within `tolerance` of the best, giving an upstream with n timed
   answers the benefit of a doubt of 1/sqrt(1 + n), so one barely tried is not written off on
   its prior (an estimate of 0, the planner's "no room now", gets none);
2. then to one never timed, if any (each gets timed once), else to the fastest (within
   `slack` seconds of it).
The strategy still decides among the upstreams that remain and still sees every outcome.
Success comes first: a faster upstream is not preferred to one clearly more reliable. For the
planner, an upstream without room estimates 0, so traffic moves to the next fastest as the
fastest fills. An upstream no longer preferred keeps its last mean, but once `RETIME` answers
have come from others since it was last timed it gets one attempt again, whose time replaces
the old mean: one slow answer (a pause, a busy moment) must not demote the faster upstream for
good, and an upstream that got faster is found. Pure: no clock, no I/O; the wrapped strategy's
`hold` passes through (declared limits are given to the inner strategy before it is wrapped).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from banditlb.game.outcome import Outcome
from banditlb.strategies.base import ArmSnapshot, Pacing, Strategy

WEIGHT = 0.2  # each new answer's weight in the mean (about the last ten answers)
RETIME = 20  # answers from other upstreams after which an unchosen one is timed again


class LatencyTable:
    """Per-upstream mean answer time in seconds; NaN until an upstream has answered."""

    def __init__(self, n_arms: int, weight: float = WEIGHT) -> None:
        self.seconds = [math.nan] * n_arms
        self.answers = [0] * n_arms
        self.total = 0  # answers from every upstream
        self.timed_at = [0] * n_arms  # `total` when each upstream last answered
        self._weight = weight

    def add(self, arm: int, seconds: float) -> None:
        """One answer's time; an upstream not timed for `RETIME` answers starts afresh."""
        stale = self.total - self.timed_at[arm] >= RETIME
        self.answers[arm] += 1
        self.total += 1
        self.timed_at[arm] = self.total
        old = self.seconds[arm]
        fresh = math.isnan(old) or stale
        self.seconds[arm] = seconds if fresh else old + self._weight * (seconds - old)


class FasterAmongEquals:
    """A strategy wrapper; see the module docstring."""

    def __init__(
        self,
        inner: Strategy,
        latencies: LatencyTable,
        *,
        tolerance: float = 0.02,
        slack: float = 0.001,
    ) -> None:
        self.inner = inner
        self._table = latencies
        self._latencies = latencies.seconds
        self._answers = latencies.answers
        self._tolerance = tolerance
        self._slack = slack
        self._hold = inner.hold if isinstance(inner, Pacing) else None

    def narrow(self, now: float, candidates: Sequence[int]) -> Sequence[int]:
        """The candidates the inner strategy chooses among (never empty)."""
        if len(candidates) < 2:
            return candidates
        estimate = self.inner.estimate
        scores = [estimate(arm, now) for arm in candidates]
        best = max(scores) - self._tolerance
        answers = self._answers
        equal = [
            a
            for a, s in zip(candidates, scores, strict=True)
            if s + 1.0 / math.sqrt(1.0 + answers[a]) * (s > 0.0) >= best
        ]  # an upstream with few answers may still be as good: its doubt counts for it
        seconds = self._latencies
        untimed = [a for a in equal if math.isnan(seconds[a])]
        if untimed:  # time every tied upstream once before preferring any
            return untimed
        table = self._table
        stale = [a for a in equal if table.total - table.timed_at[a] >= RETIME]
        if stale:  # not timed for a while: its mean may be one bad moment old
            return stale[:1]
        fastest = min(seconds[a] for a in equal)
        return [a for a in equal if seconds[a] <= fastest + self._slack]

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        return self.inner.choose(now, self.narrow(now, candidates), attempt)

    def hold(self, now: float, candidates: Sequence[int], attempt: int) -> float:
        return 0.0 if self._hold is None else self._hold(now, candidates, attempt)

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self.inner.observe(arm, outcome, now, attempt)

    def estimate(self, arm: int, now: float) -> float:
        return self.inner.estimate(arm, now)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return self.inner.snapshot(now)
