"""Round robin: each server in turn, skipping those not among the candidates."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from banditlb.game.outcome import Outcome
from banditlb.strategies.base import ArmCounts, ArmSnapshot


@dataclass(frozen=True, slots=True)
class RoundRobinConfig:
    name: ClassVar[str] = "round_robin"

    def build(self, n_arms: int, rng: random.Random) -> RoundRobin:
        return RoundRobin(n_arms)


class RoundRobin:
    """Cycles through arms in index order; the classic non-learning balancer."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int) -> None:
        self._n = n_arms
        self._next = 0
        self._counts = ArmCounts(n_arms)

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        allowed = set(candidates)
        for step in range(self._n):
            arm = (self._next + step) % self._n
            if arm in allowed:
                self._next = (arm + 1) % self._n
                return arm
        return candidates[0]

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)

    def estimate(self, arm: int, now: float) -> float:
        return self._counts.mean(arm)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [self._counts.snapshot(a, self._counts.mean(a)) for a in range(self._n)]
