"""The referee's counts of one simulated run, kept flat: what both simulator loops write.

The `Ledger` (game/ledger.py) keys its counts by request id and server name; a run's request
ids are the indices 0..requests-1 and its servers the arms 0..n-1, so plain lists do the same
bookkeeping without a dict per attempt. `Simulation.ledger` rebuilds the equivalent `Ledger`
from these, and tests check the two agree attempt for attempt.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass


@dataclass(slots=True)
class SimCounters:
    """Per request and per arm counts, plus the balancer's own tallies.

    `counted[i]`: attempts of request i the referee read (429s included, refused connections
    not); `accepted[i]`: 1 once request i's id was accepted. `ok`, `failed`, `rate_limited`:
    per arm, the answers the referee counted. `timeouts` and `connection_errors` are what the
    balancer saw (a refused connection is one, uncounted).
    """

    free_attempts: int
    counted: list[int]
    accepted: bytearray
    ok: list[int]
    failed: list[int]
    rate_limited: list[int]
    timeouts: int = 0
    connection_errors: int = 0

    @classmethod
    def empty(cls, *, requests: int, arms: int, free_attempts: int) -> SimCounters:
        """Zero counts for a run of `requests` on `arms` servers."""
        return cls(
            free_attempts, [0] * requests, bytearray(requests), [0] * arms, [0] * arms, [0] * arms
        )

    @property
    def total_attempts(self) -> int:
        """Every attempt the referee read."""
        return sum(self.counted)

    @property
    def penalised(self) -> int:
        """Attempts beyond the free ones, summed over requests."""
        return _beyond(self.counted, self.free_attempts)

    def buckets(self, points: int) -> tuple[list[int], list[int]]:
        """Accepted ids and penalised attempts per bucket of requests by arrival, request i in
        bucket `i * points // requests` (call when every request is over: a request's counts
        are final once it is)."""
        requests = len(self.counted)
        if points < 1:
            return [], []
        starts = [-(-b * requests // points) for b in range(points + 1)]  # ceil(b·n/points)
        spans = list(itertools.pairwise(starts))
        accepted = [self.accepted[start:end].count(1) for start, end in spans]
        penalised = [_beyond(self.counted[start:end], self.free_attempts) for start, end in spans]
        return accepted, penalised


def _beyond(counts: list[int], free: int) -> int:
    """Attempts past the `free` ones, summed over `counts` (one entry per request)."""
    return sum(count - free for count in counts if count > free)
