"""One attempt at a simulated server, as the fleet and the balancer see it; both loops send here.

`server_side(sim)` gives `send(arm, now, index)`: the server model decides (faults, limit, error
rate: `ServerModel.decide`), the referee counts what it read (into `SimCounters`), and the
balancer gets its `Outcome` and how long it took: a refused connection at once (not counted),
a TIMEOUT after `attempt_timeout` when the server hangs or is slower, a CONNECTION_ERROR for a
reset or malformed reply, else the HTTP answer with its Retry-After and rate-limit fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from banditlb.game.outcome import Outcome, OutcomeKind, outcome_for_status
from banditlb.models.server import Fault

if TYPE_CHECKING:
    from banditlb.sim.simulation import Simulation

REFUSED_OUTCOME = Outcome(OutcomeKind.CONNECTION_ERROR)
"""What the balancer records for a refused connection (the referee never sees the attempt)."""

Send = Callable[[int, float, int], tuple[Outcome, float] | None]
"""`send(arm, now, request index)` -> (outcome, seconds until it is known), None if refused."""

SHARED_HINTS = 4096
"""At most this many Retry-After values keep a shared 429 (HTTP-date hints vary freely)."""


def server_side(sim: Simulation, *, shared: bool = False) -> Send:
    """`send(arm, now, index)` for `sim`'s servers, counting into `sim.counters` as the
    referee counts (`Ledger.record` on flat counters: 429s and unanswered attempts too).

    With `shared` (for a strategy that never reads `Outcome.latency`: `LATENCY_BLIND`), an
    HTTP answer without rate-limit fields is one shared `Outcome` per (status, Retry-After)
    with latency 0, so none is built per attempt; otherwise each is exact.
    """
    counters = sim.counters
    counted, accepted = counters.counted, counters.accepted
    ok, failed, rate_limited = counters.ok, counters.failed, counters.rate_limited
    decide = [model.decide for model in sim.models]
    down = [
        model.is_down if may else None
        for model, may in zip(sim.models, sim.may_refuse, strict=True)
    ]
    fields = [model.advertised if model.advertises else None for model in sim.models]
    timeout, timeout_outcome = sim.attempt_timeout, sim.timeout_outcome
    fault_answer = _fault_answers(sim)
    by_status: dict[int, Outcome] = {}
    by_hint: dict[float, Outcome] = {}

    def send(arm: int, now: float, index: int) -> tuple[Outcome, float] | None:
        is_down = down[arm]
        if is_down is not None and is_down(now):
            return fault_answer(arm, index, Fault.REFUSED, 0.0)
        status, latency, retry_after, fault = decide[arm](now)
        if status is None:  # no HTTP answer: a fault (a slow one still answers)
            return fault_answer(arm, index, fault, latency)
        counted[index] += 1
        if status == 200:
            ok[arm] += 1
            accepted[index] = 1
        elif status == 429:
            rate_limited[arm] += 1
        else:
            failed[arm] += 1
        if latency >= timeout:  # slower than the balancer waits
            counters.timeouts += 1
            return timeout_outcome, timeout
        advertised = fields[arm]  # rate-limit fields, read right after the decision
        if advertised is None and shared and retry_after is None:
            found = by_status.get(status)
            if found is not None:
                return found, latency
        if advertised is not None or not shared:
            quota = None if advertised is None else advertised(now)
            return outcome_for_status(status, retry_after, latency, quota=quota), latency
        found = by_status.get(status) if retry_after is None else by_hint.get(retry_after)
        if found is None:
            found = outcome_for_status(status, retry_after)
            if retry_after is None:
                by_status[status] = found
            elif len(by_hint) < SHARED_HINTS:
                by_hint[retry_after] = found
        return found, latency

    return send


def _fault_answers(
    sim: Simulation,
) -> Callable[[int, int, Fault | None, float], tuple[Outcome, float] | None]:
    """What `send` does for a server that does not answer in HTTP: a refused connection (down,
    or a refused or flap fault) is not counted and known at once (None); a hang is counted and
    a TIMEOUT; a reset or malformed reply is counted (as failed) and a CONNECTION_ERROR after
    its latency, or a TIMEOUT when that is longer than the balancer waits."""
    counters, timeout, timeout_outcome = sim.counters, sim.attempt_timeout, sim.timeout_outcome

    def fault_answer(
        arm: int, index: int, fault: Fault | None, latency: float
    ) -> tuple[Outcome, float] | None:
        if fault is Fault.REFUSED or fault is Fault.FLAP:  # the referee never sees it
            counters.connection_errors += 1
            return None
        counters.counted[index] += 1
        counters.failed[arm] += 1  # no answer counts as failed
        if fault is Fault.HANG or latency >= timeout:
            counters.timeouts += 1
            return timeout_outcome, timeout
        counters.connection_errors += 1  # reset, malformed
        return Outcome(OutcomeKind.CONNECTION_ERROR, latency=latency), latency

    return fault_answer
