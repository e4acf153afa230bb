"""The whole strategy contract: choose, observe, estimate, snapshot; time and RNG passed in.

Arms are indices 0..n_arms-1; strategies never know ports, tiers or URLs. `attempt` is the
1-based attempt number within one client request, so strategies may act differently on
first attempts and retries. A 429 arrives as `OutcomeKind.RATE_LIMITED`, never as a failure
the strategy has to guess at.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from banditlb.outcome import Outcome, OutcomeKind


@dataclass(frozen=True, slots=True)
class ArmSnapshot:
    """One arm's state for dashboards and metrics. Optional fields are None when not kept."""

    arm: int
    pulls: int
    successes: int
    failures: int
    rate_limited: int
    estimate: float
    alpha: float | None = None
    beta: float | None = None
    capacity: float | None = None
    blocked_until: float | None = None


@runtime_checkable
class Strategy(Protocol):
    """A stateful routing policy. Pure and synchronous."""

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        """Pick one arm from `candidates` (never empty) for attempt number `attempt`."""
        ...

    def observe(self, arm: int, outcome: Outcome, now: float, attempt: int) -> None:
        """Learn from what an attempt on `arm` came to."""
        ...

    def estimate(self, arm: int, now: float) -> float:
        """The probability that an attempt sent to `arm` at `now` is accepted."""
        ...

    def snapshot(self, now: float) -> list[ArmSnapshot]:
        """Per-arm state at `now`, for people and metrics."""
        ...


class StrategyConfig(Protocol):
    """A frozen, validated strategy spec; `build` makes a fresh stateful policy."""

    name: ClassVar[str]

    def build(self, n_arms: int, rng: random.Random) -> Strategy: ...


class ArmCounts:
    """Counts most strategies keep per arm; a building block, not a base class to inherit."""

    def __init__(self, n_arms: int) -> None:
        self.pulls = [0] * n_arms
        self.successes = [0] * n_arms
        self.failures = [0] * n_arms
        self.rate_limited = [0] * n_arms

    def record(self, arm: int, outcome: Outcome) -> None:
        self.pulls[arm] += 1
        if outcome.kind is OutcomeKind.ACCEPTED:
            self.successes[arm] += 1
        elif outcome.kind is OutcomeKind.RATE_LIMITED:
            self.rate_limited[arm] += 1
        else:
            self.failures[arm] += 1

    def mean(self, arm: int, prior: float = 0.5) -> float:
        """Empirical success rate among answered attempts (429s excluded)."""
        tries = self.successes[arm] + self.failures[arm]
        return self.successes[arm] / tries if tries else prior

    def snapshot(self, arm: int, estimate: float, **extra: float | None) -> ArmSnapshot:
        return ArmSnapshot(
            arm=arm,
            pulls=self.pulls[arm],
            successes=self.successes[arm],
            failures=self.failures[arm],
            rate_limited=self.rate_limited[arm],
            estimate=estimate,
            **extra,
        )


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    """Validation shared by configs: raises ConfigError naming the parameter and the rule."""
    from banditlb.errors import ConfigError

    if value < 0 or (value == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"parameter {name} must be {rule}, got {value!r}")
