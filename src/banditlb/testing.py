"""Test doubles shipped with the package: a fake clock and scripted strategies/servers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from banditlb.game.clock import VirtualClock
from banditlb.game.outcome import Outcome
from banditlb.strategies.base import ArmCounts, ArmSnapshot

FakeClock = VirtualClock
"""A clock tests move by hand (`advance`, `advance_to`)."""


class ScriptedStrategy:
    """Picks arms from a fixed script (falling back to the first candidate) and fixed estimates."""

    def __init__(self, n_arms: int, picks: Iterable[int] = (), estimates: Sequence[float] = ()):
        self._picks = list(picks)
        self._estimates = list(estimates) or [0.5] * n_arms
        self._counts = ArmCounts(n_arms)
        self.observed: list[tuple[int, Outcome, float, int]] = []
        self.offered: list[list[int]] = []

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        self.offered.append(list(candidates))
        if self._picks and self._picks[0] in candidates:
            return self._picks.pop(0)
        return candidates[0]

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        self.observed.append((arm, outcome, now, attempt))

    def estimate(self, arm: int, now: float) -> float:
        return self._estimates[arm]

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [self._counts.snapshot(a, self._estimates[a]) for a in range(len(self._estimates))]
