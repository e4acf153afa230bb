"""One table from strategy name to config class, used by the CLI, the service and the simulator."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from banditlb.errors import ConfigError
from banditlb.strategies.attempt_aware_ucb import AttemptAwareUCBConfig
from banditlb.strategies.balanced_exploration import BalancedExplorationConfig
from banditlb.strategies.base import Range, Strategy, StrategyConfig, parameter_ranges
from banditlb.strategies.blocking import BlockingConfig
from banditlb.strategies.discounted_thompson import DiscountedThompsonConfig
from banditlb.strategies.discover_exploit import DiscoverExploitConfig
from banditlb.strategies.exp3 import Exp3Config
from banditlb.strategies.kl_ucb import KLUCBConfig
from banditlb.strategies.masked_thompson import MaskedThompsonConfig
from banditlb.strategies.planner.capacity_planner import CapacityPlannerConfig
from banditlb.strategies.primal_dual_bwk import PrimalDualBwKConfig
from banditlb.strategies.random_choice import RandomConfig
from banditlb.strategies.round_robin import RoundRobinConfig
from banditlb.strategies.sliding_window_thompson import SlidingWindowThompsonConfig
from banditlb.strategies.sliding_window_ucb import SlidingWindowUCBConfig
from banditlb.strategies.thompson import ThompsonConfig
from banditlb.strategies.ucb1 import UCB1Config
from banditlb.strategies.variance_scaled_thompson import VarianceScaledThompsonConfig

_CONFIGS: tuple[type[Any], ...] = (
    RandomConfig,
    RoundRobinConfig,
    # the blog's eight, V1..V8
    DiscoverExploitConfig,
    UCB1Config,
    AttemptAwareUCBConfig,
    ThompsonConfig,
    VarianceScaledThompsonConfig,
    MaskedThompsonConfig,
    SlidingWindowThompsonConfig,
    BlockingConfig,
    # Bandits with Knapsacks
    BalancedExplorationConfig,
    PrimalDualBwKConfig,
    # breadth
    Exp3Config,
    DiscountedThompsonConfig,
    SlidingWindowUCBConfig,
    KLUCBConfig,
    # ours
    CapacityPlannerConfig,
)

REGISTRY: Mapping[str, type[StrategyConfig]] = MappingProxyType({c.name: c for c in _CONFIGS})
DEFAULT_STRATEGY = "planner"  # ours: the best on every tier in the simulator (see README)


def strategy_names() -> list[str]:
    return list(REGISTRY)


def _coerce(field: dataclasses.Field[Any], raw: Any, allowed: Range | None = None) -> Any:
    if not isinstance(raw, str):
        return raw
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if kind == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"parameter {field.name} must be true or false, got {raw!r}")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        rule = (
            str(allowed) if allowed is not None else ("an integer" if kind == "int" else "a number")
        )
        raise ConfigError(f"parameter {field.name} must be {rule}, got {raw!r}") from None
    return raw


def make_config(name: str, params: Mapping[str, Any] | None = None) -> StrategyConfig:
    """Validate `name` and `params` (strings are coerced) into a frozen config."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown strategy {name!r}; choose one of: {', '.join(REGISTRY)}")
    cls = REGISTRY[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, raw in (params or {}).items():
        if key not in fields:
            allowed = ", ".join(fields) or "none"
            raise ConfigError(f"strategy {name!r} has no parameter {key!r}; parameters: {allowed}")
        values[key] = _coerce(fields[key], raw, parameter_ranges(cls).get(key))
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"bad parameters for strategy {name!r}: {exc}") from None


def config_params(config: StrategyConfig) -> dict[str, Any]:
    """A config's parameters as plain data (for the run store and the dashboard)."""
    return dataclasses.asdict(config)  # type: ignore[call-overload, no-any-return]


def build_strategy(
    name: str, n_arms: int, rng: random.Random, params: Mapping[str, Any] | None = None
) -> Strategy:
    """Build a fresh policy by name; the one factory every caller uses."""
    if n_arms < 1:
        raise ConfigError(f"a strategy needs at least one server, got {n_arms}")
    return make_config(name, params).build(n_arms, rng)
