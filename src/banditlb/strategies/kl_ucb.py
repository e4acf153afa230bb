"""KL-UCB for Bernoulli rewards.

Garivier & Cappé, "The KL-UCB Algorithm for Bounded Stochastic Bandits and Beyond" (COLT 2011).
An arm's index is the largest q with n · kl(p̂, q) ≤ ln t + c · ln ln t, where kl is the
Bernoulli Kullback–Leibler divergence, found by bisection to `tolerance`. c = 0 is the paper's
recommended practical choice. Every candidate is tried once first. Reward is 1 for an accepted
attempt and 0 otherwise, a 429 included. Indices are cached and refreshed when an arm is
observed or ln t has grown by 1%.
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
from banditlb.strategies.base import ArmCounts, ArmSnapshot, Range, check_positive, check_ranges

_EPS = 1e-12


def bernoulli_kl(p: float, q: float) -> float:
    """kl(p, q) between Bernoulli(p) and Bernoulli(q), with q clipped away from 0 and 1."""
    q = min(max(q, _EPS), 1.0 - _EPS)
    total = 0.0
    if p > 0:
        total += p * math.log(p / q)
    if p < 1:
        total += (1.0 - p) * math.log((1.0 - p) / (1.0 - q))
    return total


def kl_upper(mean: float, bound: float, tolerance: float) -> float:
    """The largest q in [mean, 1] with kl(mean, q) <= bound, by bisection.

    `bernoulli_kl(mean, mid)` is inlined (same arithmetic, so the same answer): this runs on
    every observation.
    """
    log = math.log
    low, high = mean, 1.0
    if mean <= 0.0:  # kl(0, q) = -ln(1 - q)
        while high - low > tolerance:
            mid = (low + high) / 2.0
            q = _EPS if mid < _EPS else (mid if mid < 1.0 - _EPS else 1.0 - _EPS)
            if log(1.0 / (1.0 - q)) > bound:
                high = mid
            else:
                low = mid
        return low
    if mean >= 1.0:
        return low  # [1, 1]: nothing to search
    miss = 1.0 - mean
    while high - low > tolerance:
        mid = (low + high) / 2.0
        q = _EPS if mid < _EPS else (mid if mid < 1.0 - _EPS else 1.0 - _EPS)
        if mean * log(mean / q) + miss * log(miss / (1.0 - q)) > bound:
            high = mid
        else:
            low = mid
    return low


@dataclass(frozen=True, slots=True)
class KLUCBConfig:
    name: ClassVar[str] = "kl_ucb"
    RANGES: ClassVar[Mapping[str, Range]] = MappingProxyType(
        {"c": Range(0.0, 100.0), "tolerance": Range(1e-12, 0.5, high_open=True)}
    )
    c: float = 0.0
    tolerance: float = 1e-4

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        check_positive("c", self.c, allow_zero=True)
        if not 0 < self.tolerance < 0.5:
            raise ConfigError(f"parameter tolerance must be in (0, 0.5), got {self.tolerance!r}")

    def build(self, n_arms: int, rng: random.Random) -> KLUCB:
        return KLUCB(n_arms, rng, self)


class KLUCB:
    """Upper confidence bounds from the Bernoulli KL divergence."""

    LATENCY_BLIND: ClassVar[bool] = True

    def __init__(self, n_arms: int, rng: random.Random, config: KLUCBConfig) -> None:
        self._rng = rng
        self._config = config
        self.plays = [0] * n_arms
        self.wins = [0] * n_arms
        self._t = 0
        self._index = [math.inf] * n_arms
        self._log_t_at_refresh = 0.0
        self._counts = ArmCounts(n_arms)

    def _bound(self) -> float:
        log_t = math.log(max(self._t, 1))
        extra = self._config.c * math.log(log_t) if log_t > 1 else 0.0
        return log_t + extra

    def _refresh(self, arm: int) -> None:
        n = self.plays[arm]
        if n:
            self._index[arm] = kl_upper(
                self.wins[arm] / n, self._bound() / n, self._config.tolerance
            )

    def index(self, arm: int) -> float:
        """The arm's KL-UCB index (cached); infinite before its first play."""
        return self._index[arm]

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        log_t = math.log(max(self._t, 1))
        if log_t > 1.01 * self._log_t_at_refresh:
            self._log_t_at_refresh = log_t
            for arm in range(len(self.plays)):
                self._refresh(arm)
        index = self._index
        best, best_arm, ties = -math.inf, candidates[0], 0
        for arm in candidates:
            value = index[arm]
            if value > best:
                best, best_arm, ties = value, arm, 1
            elif value == best:
                ties += 1
        if ties == 1:
            return best_arm
        tied = [a for a in candidates if index[a] == best]
        return tied[self._rng.randrange(len(tied))]

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        self._counts.record(arm, outcome)
        self._t += 1
        self.plays[arm] += 1
        self.wins[arm] += outcome.accepted
        self._refresh(arm)

    def estimate(self, arm: int, now: float) -> float:
        n = self.plays[arm]
        return self.wins[arm] / n if n else 0.5

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        return [self._counts.snapshot(a, self.estimate(a, now)) for a in range(len(self.plays))]
