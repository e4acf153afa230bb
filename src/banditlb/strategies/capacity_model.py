"""Per-server rate-limit state modelled from our own sends, for the capacity planner.

Each server gets a cap K: the most sends it admits in any sliding `window` seconds. Staying
within K in every sliding window never overruns a fixed window of limit K (of length at most
`window`, any offset) nor a token bucket of rate K / window and burst at least K. The model only
sees our sends and their answers: admitted send times (send time = answer time − latency), 429s,
and Retry-After values. See `capacity_planner.py` for how K is learned and probed.

A fixed window's Retry-After runs to the window's end, so `send time + Retry-After` marks a
boundary. When two such marks agree (to 2 ms, modulo `window`) the server is taken to be a fixed
window of length `window` with that phase: counts are then per current window, not sliding,
and the count at the first refusal is the limit itself. A token bucket's marks disagree, and
after two disagreements a server is never treated as a fixed window again.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from banditlb.outcome import Outcome

_EPS = 1e-9
_CONFIRM = 2  # Retry-Afters that must agree on a window boundary before we trust it
WINDOW_EPS = _EPS  # in_window's slack at the window edge, for callers that inline its fast path
CONFIRM = _CONFIRM  # aligned(arm) is phase_hits[arm] >= CONFIRM > phase_misses[arm]
_PHASE_TOLERANCE = 0.002  # seconds; Retry-After comes rounded to the millisecond


class CapacityModel:
    """Sliding-window caps, probing schedule and outages for every server."""

    def __init__(
        self,
        n_arms: int,
        *,
        window: float,
        probe_interval: float,
        max_probe_interval: float,
        outage_after: float,
        raise_trial: float = 2.0,
    ) -> None:
        self.window = window
        self.probe_interval = probe_interval
        self.max_probe_interval = max_probe_interval
        self.outage_after = outage_after
        self.raise_trial = raise_trial
        self.cap = [math.inf] * n_arms
        self.sends: list[deque[float]] = [deque() for _ in range(n_arms)]
        self.probe_at = [0.0] * n_arms
        self.probe_wait = [probe_interval] * n_arms
        self.probing = [False] * n_arms
        self.outage_until = [0.0] * n_arms
        self.raised_at = [-math.inf] * n_arms
        self.phase = [0.0] * n_arms
        self.phase_hits = [0] * n_arms
        self.phase_misses = [0] * n_arms
        # in_window's count for an aligned arm: sends at or after `_start` (the fixed window's
        # start it was counted for), kept in step by every append and trim; `_sends_len` notices
        # a `sends` deque changed from outside, which forces a recount.
        self._start = [math.nan] * n_arms
        self._in_start = [0] * n_arms
        self._sends_len = [0] * n_arms

    def aligned(self, arm: int) -> bool:
        """Whether Retry-Afters agree on the arm's window boundaries (a fixed window).

        A token bucket's Retry-Afters can agree by chance, but not for long: two disagreements
        and the arm is never treated as a fixed window again.
        """
        return self.phase_hits[arm] >= _CONFIRM and self.phase_misses[arm] < _CONFIRM

    def in_window(self, arm: int, now: float) -> int:
        """Admitted sends to `arm` in its current fixed window if aligned, else the sliding one."""
        sends = self.sends[arm]
        edge = now - self.window + _EPS
        if sends and sends[0] <= edge:
            if len(sends) != self._sends_len[arm]:
                self._start[arm] = math.nan  # changed from outside: recount when next aligned
            start = self._start[arm]
            dropped = 0
            while sends and sends[0] <= edge:
                if sends.popleft() >= start:
                    dropped += 1
            self._in_start[arm] -= dropped
            self._sends_len[arm] = len(sends)
        if self.phase_hits[arm] < _CONFIRM or self.phase_misses[arm] >= _CONFIRM:  # aligned()
            return len(sends)
        phase, width = self.phase[arm], self.window
        start = phase + math.floor((now - phase) / width + _EPS) * width - _EPS
        if start != self._start[arm] or len(sends) != self._sends_len[arm]:
            self._start[arm] = start
            self._in_start[arm] = sum(1 for t in sends if t >= start)
            self._sends_len[arm] = len(sends)
        return self._in_start[arm]

    def _append_send(self, arm: int, sent_at: float) -> None:
        sends = self.sends[arm]
        if len(sends) != self._sends_len[arm]:
            self._start[arm] = math.nan  # changed from outside: recount when next aligned
        self._in_start[arm] += sent_at >= self._start[arm]
        sends.append(sent_at)
        self._sends_len[arm] = len(sends)

    def _learn_boundary(self, arm: int, window_end: float) -> None:
        """A Retry-After that ends a fixed window puts its boundary at `window_end`."""
        width = self.window
        phase = round(window_end % width, 3) % width
        gap = abs(phase - self.phase[arm])
        if min(gap, width - gap) < _PHASE_TOLERANCE:
            self.phase_hits[arm] += 1
        else:
            if self.phase_hits[arm]:
                self.phase_misses[arm] += 1
            self.phase[arm], self.phase_hits[arm] = phase, 1

    def in_outage(self, arm: int, now: float) -> bool:
        return self.outage_until[arm] > now

    def has_room(self, arm: int, now: float) -> bool:
        """Whether one more send at `now` stays within the arm's cap (and it is not in outage)."""
        if self.outage_until[arm] > now:
            return False
        cap = self.cap[arm]
        return cap == math.inf or self.in_window(arm, now) < cap

    def rate(self, arm: int, now: float) -> float:
        """Planned capacity in sends per second: 0 in an outage, inf while never refused."""
        if self.outage_until[arm] > now:
            return 0.0
        return self.cap[arm] / self.window

    def probe_due(
        self, now: float, candidates: Sequence[int], wanted: Sequence[bool]
    ) -> int | None:
        """A wanted candidate at its cap whose probe time has come, marked as probing; else None."""
        for arm in candidates:
            if (
                wanted[arm]
                and self.probe_at[arm] <= now
                and self.cap[arm] != math.inf
                and not self.has_room(arm, now)
                and self.outage_until[arm] <= now
            ):
                self.mark_probe(arm)
                self.probe_at[arm] = now + self.probe_wait[arm]
                return arm
        return None

    def mark_probe(self, arm: int) -> None:
        """The next send to `arm` goes past its cap; its answer adjusts the probing schedule."""
        self.probing[arm] = True

    def record(self, arm: int, outcome: Outcome, now: float) -> None:
        """Learn from one answer; `now` is when it arrived."""
        sent_at = now - outcome.latency
        probing, self.probing[arm] = self.probing[arm], False
        if outcome.rate_limited:
            wait = outcome.retry_after
            admitted = self.in_window(arm, sent_at)
            if wait is not None and (wait > self.outage_after or admitted == 0):
                # an outage, or a window that admits nothing: sit it out, keep the cap
                self.outage_until[arm] = max(self.outage_until[arm], now + wait)
                return
            if wait is not None:
                self._learn_boundary(arm, sent_at + wait)
                admitted = self.in_window(arm, sent_at)
            if probing or now - self.raised_at[arm] < self.raise_trial:
                # a refused probe, or a raise that did not last: the cap was right; wait longer
                self.probe_wait[arm] = min(2.0 * self.probe_wait[arm], self.max_probe_interval)
                self.raised_at[arm] = -math.inf
            exact = self.aligned(arm)  # a fixed window's count at its first refusal is its limit
            self.cap[arm] = float(admitted) if exact else min(self.cap[arm], float(admitted))
            self.probe_at[arm] = max(self.probe_at[arm], now + self.probe_wait[arm])
            return
        if outcome.status is None:
            return  # no answer: we cannot tell whether the server admitted it
        self._append_send(arm, sent_at)
        admitted = self.in_window(arm, sent_at)
        if admitted > self.cap[arm]:
            self.cap[arm] = float(admitted)
            self.raised_at[arm] = now
        if probing:
            self.probe_wait[arm] = max(self.probe_interval, self.probe_wait[arm] / 2.0)
            self.probe_at[arm] = now + self.probe_wait[arm]
