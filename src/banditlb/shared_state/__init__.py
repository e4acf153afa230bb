"""Replicas that share what they learn: the cluster's evidence and send budget in Redis.

`banditlb serve --state redis://HOST:PORT/DB --cluster NAME`: every replica keeps its own
local strategy and feeds it, besides its own answers, every other replica's (`PeerAware`).
`events.py` is the wire format and key layout (pure), `merge.py` applies a peer's answer to
the router and strategy (pure), `redis_state.py` moves the events through Redis off the
request path and keeps going on local state while Redis is away.
"""

from banditlb.shared_state.events import ClusterKeys, PeerEvent, check_cluster_name
from banditlb.shared_state.redis_state import SharedState, SharedStateConfig, parse_state_url

__all__ = [
    "ClusterKeys",
    "PeerEvent",
    "SharedState",
    "SharedStateConfig",
    "check_cluster_name",
    "parse_state_url",
]
