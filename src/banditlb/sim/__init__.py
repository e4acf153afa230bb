"""The simulator: the live strategy, router and server models on a virtual clock; sweeps; plots."""

from banditlb.sim.engine import AttemptRecord, Simulation, simulate, simulate_traced
from banditlb.sim.result import SimResult

__all__ = ["AttemptRecord", "SimResult", "Simulation", "simulate", "simulate_traced"]
