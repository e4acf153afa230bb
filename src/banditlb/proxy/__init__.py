"""`banditlb proxy`: the balancer's engine in front of any HTTP API (issue 12).

config.py (TOML validation) -> spec.py (frozen config) -> app.py (two ports, lifespan) ->
engine.py (route, retry when safe, stream) with body.py (kept or streamed bodies) and hop.py
(hop-by-hop fields, X-Forwarded-*, Via). serving.py runs it under uvicorn.
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
