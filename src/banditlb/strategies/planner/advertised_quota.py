"""What servers say about their own quota (RateLimit / X-RateLimit fields), per server.

A reading is `remaining` sends at the moment the server answered one of ours, and the seconds
to `reset` (whole seconds on the wire, rounded up). How `remaining` moves between readings
depends on the limiter behind it, which the fields do not name:

- a fixed window only counts down until its reset, so the lowest reading of a window is the
  latest (answers may arrive out of order) and nothing comes back before the reset;
- a token bucket, GCRA, sliding log or a concurrency limit refills as it goes: a reading from
  a later send can show *more* left than an earlier one. Once a server has done that, its
  quota is modelled as refilling one send every window / limit seconds from the reading on,
  instead of waiting for a reset that means "full again" (a bucket refilling at 5 per second
  says "reset: 1" when empty, though a send fits after 0.2 s).

A quota that only ever reads empty (a bucket of burst 1, a concurrency limit: every send
takes the last unit) never shows a refill, and its whole-second reset can hide one that comes
back in 0.2 s. So a first attempt now and then (the capacity model's probe schedule) goes
*early*, some time after the empty reading: admitted, the quota is modelled as giving a send
back at least that often; refused, early sends come later and rarer. A refused send made on
that learned refill stretches its interval by 1.3 (random:0-39, 6 seeds: mean 90.63 -> 91.34%
of oracle, p10 81.0 -> 83.4, 429s 7.7% -> 8.3% of attempts at the median).

A quota that is a log of holds (a concurrency limit, a sliding log, a bucket of burst 1: each
admitted send holds one unit for a fixed time) is modelled exactly once its readings have
pinned that time (`slot_hold.SlotHolds`): room is the limit less our sends of the last hold
seconds, which neither the refill model nor early sends can say of a limit of several slots.

Readings are ordered by when their send left (answer time minus latency), so a slow answer
to an earlier send never overrides a later one. Sends that left within `_SEND_SLOP` of each
other are taken as simultaneous: the server counted them in an order their answers need not
keep, so a reading with more left is the earlier one, not a refill. Read as a refill, it
switched a sliding log of 3 per second that had taken a burst to one send every 0.33 s, and
each of those sends drew a 429 (random-36 T2: 20% -> 1% 429s on that server; random:0-39,
6 seeds: +0.30 +- 0.07 points of oracle, median 429 share 7.3% -> 6.7%).
"""

from __future__ import annotations

import math

from banditlb.game.outcome import Quota
from banditlb.strategies.planner.slot_hold import SlotHolds

_EPS = 1e-9
_SEND_SLOP = 0.02  # seconds: a send time seen from its answer vs our decision time
ANSWER_WAIT = 0.01  # seconds to wait when only answers still in flight can free room
_FIRST_PROBE_GAP = 0.5  # seconds after an empty reading before the first early send
_MAX_PROBE_GAP = 3.0  # ... at most (refused early sends double the gap up to this)
_LEARNED_BACKOFF = 1.3  # a refused send on the learned refill stretches its interval so much


class AdvertisedQuotas:
    """The latest quota reading of every server that sends one, and how it refills."""

    def __init__(self, n_arms: int) -> None:
        self.left: list[int | None] = [None] * n_arms  # remaining at the reading; None: no fields
        self.reset_at = [0.0] * n_arms
        self.read_at = [0.0] * n_arms  # when the reading in force arrived
        self.sent_at = [-math.inf] * n_arms  # when the send it answered left
        self.limit: list[int | None] = [None] * n_arms
        self.window = [0.0] * n_arms  # advertised window, else the longest reset seen
        self.refills = [False] * n_arms  # a later reading once showed more left
        self.credit_sent_at = [-math.inf] * n_arms  # the last send made on modelled refill
        self.full_after_reset = [True] * n_arms  # a reset has shown the whole limit back
        self.learned_every = [math.inf] * n_arms  # refill interval shown by early sends
        self.probe_gap = [_FIRST_PROBE_GAP] * n_arms  # seconds after an empty reading to probe
        self.early_from = [0.0] * n_arms  # when the quota the early send in flight tests read 0
        self.holds = SlotHolds(n_arms)  # a quota that is a log of holds (concurrency, sliding log)

    def advertised(self, arm: int) -> bool:
        return self.left[arm] is not None

    def sending(self, arm: int, now: float, in_flight: int) -> None:
        """A send leaves now; note it if only the modelled refill made room for it."""
        self.holds.leaving(arm, now)
        reading = self.left[arm]
        on_credit = reading is not None and reading - in_flight <= 0
        if self.refill_interval(arm) < math.inf and on_credit and now < self.reset_at[arm]:
            self.credit_sent_at[arm] = now

    def record(
        self,
        arm: int,
        quota: Quota,
        sent_at: float,
        now: float,
        *,
        refused: bool = False,
        own: bool = True,
    ) -> None:
        """One reading, from the answer (arriving at `now`) to a send made at `sent_at`.

        A 429 to a send made on the modelled refill means the quota does not
        refill that way (a fixed window whose whole-second reset made a roll look early):
        back to waiting for resets until a reading shows a refill again, and a refill
        interval learned by early sends is stretched by `_LEARNED_BACKOFF`. `own=False`: a
        peer's send (shared state), which bounds no hold (`SlotHolds.reading`).
        """
        if quota.limit:
            self.holds.reading(arm, sent_at, quota.remaining, quota.limit, refused=refused, own=own)
        if refused and abs(sent_at - self.credit_sent_at[arm]) < _SEND_SLOP:
            self.refills[arm] = False
            self.learned_every[arm] *= _LEARNED_BACKOFF
        left = self.left[arm]
        if left is not None and now < self.reset_at[arm]:  # the same window
            overtaken = sent_at < self.sent_at[arm]  # by a later send's answer
            if overtaken or (sent_at < self.sent_at[arm] + _SEND_SLOP and quota.remaining >= left):
                # or sends that left together and were answered out of order: the server
                # counted them in some order, and the lowest reading is the latest
                self.left[arm] = min(left, quota.remaining)
                self.reset_at[arm] = min(self.reset_at[arm], now + quota.reset)
                self._limits(arm, quota)
                return
            if quota.remaining > (self.remaining(arm, now) or 0):
                self.refills[arm] = True
        if left is not None and sent_at >= self.reset_at[arm] and quota.limit:
            self.full_after_reset[arm] = quota.remaining + 1 >= quota.limit
        self.left[arm] = quota.remaining
        self.reset_at[arm] = now + quota.reset
        self.read_at[arm] = now
        self.sent_at[arm] = sent_at
        self._limits(arm, quota)

    def _limits(self, arm: int, quota: Quota) -> None:
        self.limit[arm] = quota.limit
        self.window[arm] = quota.window or max(self.window[arm], quota.reset)

    def _pinned_hold(self, arm: int) -> tuple[float, int] | None:
        """(hold, limit) when the quota is a log of holds whose hold its readings have pinned
        (`SlotHolds.hold`) and it advertises its limit; else None."""
        hold, limit = self.holds.hold(arm), self.limit[arm]
        return (hold, limit) if hold is not None and limit else None

    def refill_interval(self, arm: int) -> float:
        """Seconds per send a refilling quota gives back (inf: it does not refill, or the
        fields do not say enough to tell)."""
        learned = self.learned_every[arm]
        limit, window = self.limit[arm], self.window[arm]
        if not self.refills[arm] or not limit or window <= 0.0:
            return learned
        return min(window / limit, learned)

    def early_send_due(self, arm: int, now: float) -> bool:
        """Whether to try one send before the reset of an empty quota: a whole-second reset
        hides a quota that refills faster (a bucket of burst 1, a concurrency limit)."""
        left = self.left[arm]
        return (
            self.holds.hold(arm) is None
            and left is not None
            and left <= 0
            and now < self.reset_at[arm]
            and now - self.read_at[arm] >= self.probe_gap[arm]
        )

    def early_send(self, arm: int) -> None:
        """An early send leaves: it tests the quota that read empty at `read_at`."""
        self.early_from[arm] = self.read_at[arm]

    def early_send_answered(self, arm: int, sent_at: float, admitted: bool) -> None:
        """An early send's answer. Admitted: the quota gave a send back within the time since
        it read empty, and sends are modelled as coming back at least that often (a refused
        send on that model stretches the interval); refused: wait longer next time."""
        if admitted:
            seen = max(sent_at - self.early_from[arm], _SEND_SLOP)
            self.learned_every[arm] = min(self.learned_every[arm], seen)
            self.probe_gap[arm] = max(_FIRST_PROBE_GAP / 4, self.probe_gap[arm] * 0.75)
        else:
            self.probe_gap[arm] = min(_MAX_PROBE_GAP, self.probe_gap[arm] * 2.0)

    def remaining(self, arm: int, now: float) -> int | None:
        """Sends the quota has left at `now` (None: the server advertises none).

        After its reset, the limit it advertised (one send when it gave none): held requests
        that wake together at a reset must not all go at once. A quota that once came back
        short after a reset (a drained bucket says "reset: 1" and then holds one token, not
        its burst) gets one send per reset until a reading after a reset shows it full again:
        the reading of that send says how much more fits (random:0-39, 6 seeds: mean 89.14 ->
        89.25% of oracle; random-54 T2: 415 -> 11 429s on its drained bucket)."""
        left = self.left[arm]
        if left is None:
            return None
        pinned = self._pinned_hold(arm)
        if pinned is not None:
            hold, units = pinned
            return max(0, units - self.holds.holding(arm, now, hold))
        limit = self.limit[arm]
        full = 1 if limit is None else max(1, limit)
        if now >= self.reset_at[arm]:
            return full if self.full_after_reset[arm] else 1
        every = self.refill_interval(arm)
        if every < math.inf:
            return min(max(left, full), left + math.floor((now - self.read_at[arm]) / every + _EPS))
        return left

    def room_at(self, arm: int, now: float, in_flight: int) -> float:
        """The earliest time from `now` on when one more send fits the quota."""
        left = self.remaining(arm, now)
        assert left is not None
        if left - in_flight > 0:
            return now
        pinned = self._pinned_hold(arm)
        if pinned is not None:
            hold, units = pinned
            need = self.holds.holding(arm, now, hold) + in_flight - units + 1
            free = self.holds.free_at(arm, now, hold, need)
            return free if free < math.inf else now + ANSWER_WAIT
        reset = self.reset_at[arm]
        if reset <= now:
            return now + ANSWER_WAIT  # full again, but the room is in flight: wait for answers
        every = self.refill_interval(arm)
        reading = self.left[arm]
        assert reading is not None
        if every < math.inf:  # the refill that makes room for one more than is in flight
            limit = self.limit[arm]
            if in_flight >= (1 if limit is None else max(1, limit)):
                return now + ANSWER_WAIT  # a full quota is in flight: wait for answers
            refill = self.read_at[arm] + every * (in_flight - reading + 1)
            return max(now, min(refill, reset))
        return reset

    def wait_after_refusal(self, arm: int, quota: Quota) -> float:
        """How long a 429 that came with these fields keeps the server blocked: until its
        reset, or for a refilling quota one refill interval (a Retry-After, if sent, is
        honoured on top of this by the caller)."""
        if self.holds.hold(arm) is not None:
            return 0.0  # the holds say when a unit comes back (`room_at`)
        return min(quota.reset, self.refill_interval(arm))

    def capacity(self, arm: int) -> float | None:
        """Sends per second the fields promise, limit / window (None: they do not say), or
        the refill early sends have shown when it is faster: a concurrency limit of 2 slots
        freed every 0.35 s says "reset: 1" and so promises 2 per second, but takes 5.7
        (random:0-39, 6 seeds: mean 91.34 -> 91.53% of oracle; random-36 T3 +0.07 per
        request, random-28 T2 +0.026)."""
        pinned = self._pinned_hold(arm)
        if pinned is not None:
            hold, units = pinned
            return units / max(hold, _SEND_SLOP)
        limit, window = self.limit[arm], self.window[arm]
        if limit is None or window <= 0.0:
            return None
        return max(limit / window, 1.0 / self.learned_every[arm])
