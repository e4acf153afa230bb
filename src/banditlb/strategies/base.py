"""The whole strategy contract: choose, observe, estimate, snapshot; time and RNG passed in.

Arms are indices 0..n_arms-1; strategies never know ports, tiers or URLs. `attempt` is the
1-based attempt number within one client request, so strategies may act differently on
first attempts and retries. A 429 arrives as `OutcomeKind.RATE_LIMITED`, never as a failure
the strategy has to guess at.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome, OutcomeKind


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


@runtime_checkable
class Pacing(Protocol):
    """A strategy that may ask for an attempt to wait rather than be sent into a full server.

    A 429 burns one of an id's free attempts; waiting a moment for a server's rate limit to
    admit again costs only latency. The router asks `hold` before each attempt (only of
    strategies that implement it, checked once when the router is built) and waits that many
    seconds, within the request's hold budget (`RetryRules.max_hold`), before `choose`.
    """

    def hold(self, now: float, candidates: Sequence[int], attempt: int) -> float:
        """Seconds to wait before choosing among `candidates` for `attempt`; 0 to choose now."""
        ...


@runtime_checkable
class PeerAware(Protocol):
    """A strategy that can learn from attempts made by other replicas of its cluster.

    Replicas that share state (`banditlb.shared_state`) feed each other's answers back into
    their local strategies. A peer's answer is evidence like our own, but it was never one of
    our sends in flight, and it arrives late: `answered_at` (<= `now`) is when the peer got
    it, on our clock. A strategy without this method is given peers' answers through
    `observe(arm, outcome, now, attempt)` instead: evidence only, stamped `now`.
    """

    def observe_peer(
        self, arm: int, outcome: Outcome, now: float, attempt: int, answered_at: float
    ) -> None:
        """Learn from attempt number `attempt` that another replica sent to `arm`."""
        ...


@runtime_checkable
class DeclaredLimits(Protocol):
    """A strategy that takes a provider's declared rate limit as a prior (the proxy's
    `limit = { requests, window }`), to refine from what the server then says."""

    def declare_limit(self, arm: int, requests: int, window: float) -> None:
        """`arm` is said to admit `requests` per `window` seconds; called before any attempt."""
        ...


def latency_blind(strategy: object) -> bool:
    """Whether `strategy`'s class declares `LATENCY_BLIND: ClassVar[bool] = True`: it never
    reads `Outcome.latency`, so the simulator may hand it shared outcomes with latency 0.

    Optional, off by default: a strategy that does not say (the planner, which reads latency)
    gets an exact `Outcome` per attempt. A subclass inherits the promise, so one that reads
    latency must set it back to False. `tests/strategies/test_latency_blind.py` checks that no
    class that declares it reads `.latency`.
    """
    return getattr(type(strategy), "LATENCY_BLIND", False) is True


class StrategyConfig(Protocol):
    """A frozen, validated strategy spec; `build` makes a fresh stateful policy."""

    name: ClassVar[str]

    def build(self, n_arms: int, rng: random.Random) -> Strategy: ...


class ArmCounts:
    """Counts most strategies keep per arm; a building block, not a base class to inherit."""

    __slots__ = ("failures", "pulls", "rate_limited", "successes")

    def __init__(self, n_arms: int) -> None:
        self.pulls = [0] * n_arms
        self.successes = [0] * n_arms
        self.failures = [0] * n_arms
        self.rate_limited = [0] * n_arms

    def record(self, arm: int, outcome: Outcome) -> None:
        self.pulls[arm] += 1
        kind = outcome.kind
        if kind is OutcomeKind.ACCEPTED:
            self.successes[arm] += 1
        elif kind is OutcomeKind.RATE_LIMITED:
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
    if value < 0 or (value == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"parameter {name} must be {rule}, got {value!r}")


@dataclass(frozen=True, slots=True)
class Range:
    """The values one strategy parameter may take: a finite interval, optionally integers only.

    Every parameter has one, with a finite upper bound, because a parameter is also a cost:
    NaN or infinity silently disables comparisons (a Thompson prior of NaN makes the gamma
    sampler loop forever), and an absurd magnitude turns into absurd work or memory (a window
    of 1e29 observations, a bisection to 1e-308). The bounds are generous for tuning and tight
    enough that a policy's per-call work stays bounded (`tests/strategies/test_hostile_params.py`).
    """

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def __str__(self) -> str:
        if self.integer:
            return f"an integer in {int(self.low)}..{int(self.high)}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"a number in {left}{self.low:g}, {self.high:g}{right}"

    def check(self, name: str, value: object) -> None:
        """Raise ConfigError naming `name`, the range and the value unless `value` is in range."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"parameter {name} must be {self}, got {value!r}")
        if self.integer and not isinstance(value, int):
            raise ConfigError(f"parameter {name} must be {self}, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"parameter {name} must be {self}, got {value!r}")
        too_low = value <= self.low if self.low_open else value < self.low
        too_high = value >= self.high if self.high_open else value > self.high
        if too_low or too_high:
            raise ConfigError(f"parameter {name} must be {self}, got {value!r}")


def unit(*, low_open: bool = True, high_open: bool = False, low: float = 0.0) -> Range:
    """A fraction: (0, 1] by default."""
    return Range(low, 1.0, low_open=low_open, high_open=high_open)


def seconds(high: float = 86_400.0, *, allow_zero: bool = False) -> Range:
    """A duration in seconds: (0, one day] by default ([0, ...] with `allow_zero`)."""
    return Range(0.0, high, low_open=not allow_zero)


def count(low: int, high: int) -> Range:
    """An integer count in low..high."""
    return Range(float(low), float(high), integer=True)


def check_ranges(config: object, ranges: Mapping[str, Range]) -> None:
    """Check every parameter of `config` named in `ranges` (call from `__post_init__`)."""
    for name, allowed in ranges.items():
        allowed.check(name, getattr(config, name))


def parameter_ranges(config_class: type) -> Mapping[str, Range]:
    """The declared ranges of a config class (`RANGES`), empty when it declares none."""
    ranges = getattr(config_class, "RANGES", None)
    return ranges if isinstance(ranges, Mapping) else {}
