"""The live balancer: settings, downstream client, retry loop, live stats and the ASGI app."""

from __future__ import annotations

from banditlb.balancer.app import BalancerState, create_app
from banditlb.balancer.balancer import Balancer, Delivery
from banditlb.balancer.downstream import Downstream, HttpDownstream
from banditlb.balancer.lean_downstream import LeanDownstream
from banditlb.balancer.recording import AttemptRecord, MemoryRecorder, NullRecorder, Recorder
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.balancer.stats import LiveStats

__all__ = [
    "AttemptRecord",
    "Balancer",
    "BalancerSettings",
    "BalancerState",
    "Delivery",
    "Downstream",
    "HttpDownstream",
    "LeanDownstream",
    "LiveStats",
    "MemoryRecorder",
    "NullRecorder",
    "Recorder",
    "Upstream",
    "create_app",
]
