"""Pure routing policies, one per module. Nothing here imports HTTP, asyncio or the wall clock."""

from banditlb.strategies.base import ArmSnapshot, Strategy, StrategyConfig
from banditlb.strategies.registry import REGISTRY, build_strategy, strategy_names

__all__ = [
    "REGISTRY",
    "ArmSnapshot",
    "Strategy",
    "StrategyConfig",
    "build_strategy",
    "strategy_names",
]
