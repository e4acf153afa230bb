"""UCB1 (the blog's V2; Auer, Cesa-Bianchi & Fischer 2002).

Index = mean + sqrt(c · ln(t) / n); every candidate is tried once before any index is used.
c = 2 is the paper's constant. A 429 counts as a failed attempt, as in the blog.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from banditlb.game.outcome import Outcome
from banditlb.strategies.base import ArmCounts, ArmSnapshot, Range, check_positive, check_ranges


@dataclass(frozen=True, slots=True)
class UCB1Config:
    name: ClassVar[str] = "ucb1"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType({"exploration": Range(0.0, 1000.0)})
    exploration: float = 2.0

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        check_positive("exploration", self.exploration, allow_zero=True)

    def build(self, n_arms: int, rng: random.Random) -> UCB1:
        return UCB1(n_arms, rng, self.exploration)


class UCB1:
    """Upper confidence bound on each arm's acceptance rate."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, exploration: float) -> None:
        self._rng = rng
        self.exploration = exploration
        self._counts = ArmCounts(n_arms)
        self._wins = [0] * n_arms
        self._total = 0

    def _mean(self, arm: int) -> float:
        pulls = self._counts.pulls[arm]
        return self._wins[arm] / pulls if pulls else 0.0

    def index(self, arm: int, exploration: float | None = None) -> float:
        """The arm's UCB index; infinite for an arm never tried."""
        pulls = self._counts.pulls[arm]
        if pulls == 0:
            return math.inf
        c = self.exploration if exploration is None else exploration
        return self._mean(arm) + math.sqrt(c * math.log(max(self._total, 1)) / pulls)

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        return self.choose_with(candidates, self.exploration)

    def choose_with(self, candidates: Sequence[int], exploration: float) -> int:
        """Highest index under `exploration`; ties broken at random (seeded).

        `index` inlined (same arithmetic, term for term): this runs once per simulated attempt.
        """
        pulls, wins, sqrt = self._counts.pulls, self._wins, math.sqrt
        spread = exploration * math.log(max(self._total, 1))
        best, ties = -math.inf, []
        for arm in candidates:
            tried = pulls[arm]
            score = wins[arm] / tried + sqrt(spread / tried) if tried else math.inf
            if score > best:
                best, ties = score, [arm]
            elif score == best:
                ties.append(arm)
        return ties[0] if len(ties) == 1 else ties[self._rng.randrange(len(ties))]

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        self._total += 1
        if outcome.accepted:
            self._wins[arm] += 1

    def estimate(self, arm: int, now: float) -> float:
        return self._mean(arm)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [self._counts.snapshot(a, self._mean(a)) for a in range(len(self._wins))]
