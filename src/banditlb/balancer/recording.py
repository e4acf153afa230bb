"""Per-attempt records and the `Recorder` protocol the balancer writes them to.

The contract, for anyone writing a recorder (the run store's SQLite recorder implements it):

- `record(rec)` is called on the request path once per downstream attempt, right after the
  attempt's outcome is known. It is synchronous and must be non-blocking and O(1): queue the
  record (e.g. append to a bounded buffer) and persist it elsewhere, never do I/O inline.
  It must not raise; a recorder that cannot keep up drops records and counts the drops.
- `saturated(in_flight)` says whether the recorder, counting one more record for each of the
  `in_flight` client requests already admitted, is so far behind that the balancer should
  refuse new ones (503 + Retry-After) until it catches up: the backpressure that keeps the
  number of attempts a crash can lose bounded. Also O(1) and synchronous.
- `await start()` runs once in the app's lifespan before the first request;
  `await close()` runs once at shutdown, after the last request, and flushes what is queued.

`AttemptRecord` fields: `request_no` (1-based, per balancer), `request_id` (the 24-char id),
`attempt` (1-based within the request), `arm` (index into the upstream list), `server`
(upstream name), `kind` (`OutcomeKind`), `status` (HTTP status or None), `latency_s`
(attempt duration, seconds) and `at` (wall time the attempt finished, Unix epoch seconds).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from banditlb.game.outcome import Outcome, OutcomeKind


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One downstream attempt, as the balancer saw it."""

    request_no: int
    request_id: str
    attempt: int
    arm: int
    server: str
    kind: OutcomeKind
    status: int | None
    latency_s: float
    at: float

    @classmethod
    def of(
        cls, outcome: Outcome, *, request_no: int, request_id: str, attempt: int, arm: int,
        server: str, at: float,
    ) -> AttemptRecord:  # fmt: skip
        """The record of one answered attempt (the balancer's and the proxy's alike)."""
        return cls(
            request_no=request_no,
            request_id=request_id,
            attempt=attempt,
            arm=arm,
            server=server,
            kind=outcome.kind,
            status=outcome.status,
            latency_s=outcome.latency,
            at=at,
        )


@runtime_checkable
class Recorder(Protocol):
    """Where attempt records go; see the module docstring for the rules."""

    def record(self, rec: AttemptRecord) -> None: ...

    def saturated(self, in_flight: int) -> bool: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class NullRecorder:
    """Keeps nothing; the default when no run store is configured."""

    def record(self, rec: AttemptRecord) -> None:
        return None

    def saturated(self, in_flight: int) -> bool:
        return False

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class MemoryRecorder:
    """Keeps the last `maxlen` records in memory (for tests and quick looks)."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self.records: deque[AttemptRecord] = deque(maxlen=maxlen)
        self.started = False
        self.closed = False

    def record(self, rec: AttemptRecord) -> None:
        self.records.append(rec)

    def saturated(self, in_flight: int) -> bool:
        return False

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True
