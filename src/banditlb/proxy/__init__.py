"""`banditlb proxy`: the balancer's engine in front of any HTTP API (issue 12).

config.py + checks.py (TOML validation) -> spec.py (frozen config) -> app.py (two ports,
lifespan) -> engine.py (route, retry when safe) with body.py (kept or streamed bodies), hop.py
(hop-by-hop fields, X-Forwarded-*, Via), relay.py (streamed answers), hedge.py (hedged
attempts) and latency.py (prefer_faster). serving.py runs it under uvicorn.
"""

from __future__ import annotations

from banditlb.proxy.app import ProxyApp, ProxyState
from banditlb.proxy.config import load, parse
from banditlb.proxy.spec import ProxyConfig, RouteSpec, Secret, UpstreamSpec

__all__ = [
    "ProxyApp",
    "ProxyConfig",
    "ProxyState",
    "RouteSpec",
    "Secret",
    "UpstreamSpec",
    "load",
    "parse",
]
