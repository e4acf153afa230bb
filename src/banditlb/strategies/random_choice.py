"""Uniform random routing: the baseline every learner must beat."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from banditlb.game.outcome import Outcome
from banditlb.strategies.base import ArmCounts, ArmSnapshot


@dataclass(frozen=True, slots=True)
class RandomConfig:
    name: ClassVar[str] = "random"

    def build(self, n_arms: int, rng: random.Random) -> RandomChoice:
        return RandomChoice(n_arms, rng)


class RandomChoice:
    """Picks uniformly among the candidates; learns nothing but counts for the dashboard."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random) -> None:
        self._rng = rng
        self._getrandbits = rng.getrandbits
        self._counts = ArmCounts(n_arms)

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        # rng.randrange(n), inlined as CPython draws it (rejection on n.bit_length() bits):
        # the same stream, without three Python-level calls per attempt.
        n = len(candidates)
        bits = n.bit_length()
        index = self._getrandbits(bits)
        while index >= n:
            index = self._getrandbits(bits)
        return candidates[index]

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)

    def estimate(self, arm: int, now: float) -> float:
        return self._counts.mean(arm)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [
            self._counts.snapshot(a, self._counts.mean(a)) for a in range(len(self._counts.pulls))
        ]
