"""The capacity planner (ours): a limiter model per server, a flow LP, and the policy that
routes by them. `capacity_planner.py` is the strategy; `capacity_model.py` and `flow_plan.py` are its
two halves, each usable and tested on its own."""

from banditlb.strategies.planner.capacity_planner import CapacityPlanner, CapacityPlannerConfig

__all__ = ["CapacityPlanner", "CapacityPlannerConfig"]
