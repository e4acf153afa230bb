"""Exp3: exponential weights for adversarial bandits.

Auer, Cesa-Bianchi, Freund & Schapire, "The Nonstochastic Multiarmed Bandit Problem"
(SIAM J. Computing, 2002). Each arm has a weight; choose draws from
p_i = (1 − γ) · w_i / Σ w + γ / K over the K candidates; an accepted attempt (reward 1) on arm i
multiplies w_i by exp(γ · (1 / p_i) / K). Weights are kept as logarithms so they never overflow.
No stochastic assumption, so it copes with adversarial change, at the cost of slow learning.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome
from banditlb.strategies.base import ArmCounts, ArmSnapshot, Range, check_ranges, unit


@dataclass(frozen=True, slots=True)
class Exp3Config:
    name: ClassVar[str] = "exp3"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType({"gamma": unit()})
    gamma: float = 0.1

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"parameter gamma must be in (0, 1], got {self.gamma!r}")

    def build(self, n_arms: int, rng: random.Random) -> Exp3:
        return Exp3(n_arms, rng, self.gamma)


class Exp3:
    """Exponential-weight exploration and exploitation."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, gamma: float) -> None:
        self._rng = rng
        self.gamma = gamma
        self.log_weights = [0.0] * n_arms
        self._chosen_with = [1.0] * n_arms
        self._candidates = n_arms
        self._counts = ArmCounts(n_arms)

    def distribution(self, candidates: Sequence[int]) -> list[float]:
        """Exp3's probabilities for `candidates`, in their order."""
        top = max(self.log_weights[a] for a in candidates)
        weights = [math.exp(self.log_weights[a] - top) for a in candidates]
        total = sum(weights)
        k = len(candidates)
        return [(1.0 - self.gamma) * w / total + self.gamma / k for w in weights]

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        probs = self.distribution(candidates)
        pick = self._rng.random()
        index = len(candidates) - 1
        for i, p in enumerate(probs):
            pick -= p
            if pick < 0:
                index = i
                break
        arm = candidates[index]
        self._chosen_with[arm] = probs[index]
        self._candidates = len(candidates)
        return arm

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        if outcome.accepted:
            self.log_weights[arm] += self.gamma / (self._chosen_with[arm] * self._candidates)
            top = max(self.log_weights)
            if top > 500.0:  # renormalise; probabilities depend only on differences
                self.log_weights = [w - top for w in self.log_weights]

    def estimate(self, arm: int, now: float) -> float:
        return self._counts.mean(arm)

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [
            self._counts.snapshot(a, self._counts.mean(a)) for a in range(len(self.log_weights))
        ]
