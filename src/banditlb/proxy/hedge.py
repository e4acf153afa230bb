"""Hedged attempts (a route's `hedge_after`): a second attempt races a slow first one.

`hedged` runs the first attempt as a task; if no answer came within `hedge_after` seconds it
asks the route for attempt 2 (bumping `route.attempts` around the call, since the first is not
recorded yet) and races both. The first final answer (success or the client's own error) wins;
the other attempt is cancelled (its `attempt` call records it as a timeout: it was the
slower). When neither is final, the one that answered last is kept, as in the sequential walk,
and the other released. Attempts are recorded in the order they finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp

from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.game.router import Route

Attempt = Callable[..., Awaitable[tuple[Outcome, aiohttp.ClientResponse | None]]]
Tried = tuple[int, Outcome, aiohttp.ClientResponse | None]  # arm, outcome, answer if any


def final(tried: Tried) -> bool:
    """An answer the client gets at once: success or the client's own error."""
    return tried[2] is not None and tried[1].kind is OutcomeKind.ACCEPTED


def prefer(kept: Tried | None, new: Tried) -> bool:
    """Whether a hedged race's `new` result replaces `kept` as the one to use: a final answer
    wins, else any answer beats none, else the later one (as in the sequential walk)."""
    if kept is None:
        return True
    if final(kept):
        return False
    return final(new) or new[2] is not None or kept[2] is None


async def hedged(
    route: Route, arm: int, attempt: Attempt, hedge_after: float, now: Callable[[], float]
) -> Tried:
    """The attempt to `arm`, raced by a second one if no answer came within `hedge_after`.

    The first final answer (success or the client's own error) wins and the other attempt
    is cut short (recorded as a timeout: it was the slower); when neither is final, the one
    that answered last is kept (as in the sequential loop) and the other released."""
    first = asyncio.ensure_future(attempt(arm=arm))
    racing = {first: arm}
    kept: Tried | None = None
    try:
        await asyncio.wait({first}, timeout=hedge_after)
        if not first.done():
            stop = route.stop
            route.attempts += 1  # the first is in flight: the strategy picks attempt 2
            try:
                second = route.next_arm(now())
            finally:
                route.attempts -= 1
            if second is None:
                route.stop = stop  # no hedge possible now; the walk goes on as before
            else:
                racing[asyncio.ensure_future(attempt(arm=second))] = second
        pending = set(racing)
        while pending and not (kept is not None and final(kept)):
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                tried = (racing[task], *task.result())
                if prefer(kept, tried):
                    kept = tried
        assert kept is not None  # every attempt finished, or one was final
        return kept
    finally:
        for task in racing:
            if not task.done():
                task.cancel()  # the slower attempt: recorded as a timeout by `_attempt`
        for result in await asyncio.gather(*racing, return_exceptions=True):
            if isinstance(result, BaseException) or result[1] is None:
                continue
            if kept is None or result[1] is not kept[2]:
                result[1].release()  # an answer not used
