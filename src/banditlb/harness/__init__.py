"""Load generation and live runs: open-loop load, the referee client, process management."""

from __future__ import annotations

from banditlb.harness.load import LoadPlan, LoadProgress, LoadReport, run_load
from banditlb.harness.referee_client import RefereeClient, RefereeError

__all__ = [
    "LoadPlan",
    "LoadProgress",
    "LoadReport",
    "RefereeClient",
    "RefereeError",
    "run_load",
]
