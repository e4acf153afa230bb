"""A peer's answer applied to this replica's router and strategy (pure, synchronous).

The router learns the peer's Retry-After (no replica sends into a server another was told to
leave alone), the strategy the answer itself: through `observe_peer` when it is `PeerAware`
(the planner: evidence, the cluster's window counts, caps and back-offs), else through
`observe` as evidence stamped `now`.
"""

from __future__ import annotations

from collections.abc import Callable

from banditlb.game.outcome import Outcome
from banditlb.game.router import Router
from banditlb.strategies.base import PeerAware, Strategy


def apply_peer(
    router: Router, arm: int, outcome: Outcome, attempt: int, *, answered_at: float, now: float
) -> None:
    """Teach `router` and its strategy one answer another replica got from `arm`."""
    router.block(arm, answered_at, outcome.retry_after)  # through Blocks: its cache follows
    strategy: Strategy = router.strategy
    if isinstance(strategy, PeerAware):
        strategy.observe_peer(arm, outcome, now, attempt, answered_at)
    else:
        strategy.observe(arm, outcome, now, attempt)


PeerApplier = Callable[[int, Outcome, int, float, float], None]
"""(arm, outcome, attempt, answered_at, now) -> None: `apply_peer` bound to one router."""


def peer_applier(router: Router) -> PeerApplier:
    """`apply_peer` for `router` with the strategy's kind looked up once (a runtime Protocol
    check per answer would cost more than the answer's own learning)."""
    strategy: Strategy = router.strategy
    observe_peer = strategy.observe_peer if isinstance(strategy, PeerAware) else None
    observe = strategy.observe
    block = router.block

    def apply(arm: int, outcome: Outcome, attempt: int, answered_at: float, now: float) -> None:
        block(arm, answered_at, outcome.retry_after)
        if observe_peer is not None:
            observe_peer(arm, outcome, now, attempt, answered_at)
        else:
            observe(arm, outcome, now, attempt)

    return apply
