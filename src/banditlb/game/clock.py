"""Time is passed in: a virtual clock for the simulator and tests, a wall clock for live runs."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds since an arbitrary origin; only differences mean anything."""

    def now(self) -> float: ...


class WallClock:
    """The live service's clock: monotonic seconds since the clock was made."""

    def __init__(self) -> None:
        self._origin = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._origin


class VirtualClock:
    """A clock that only moves when told to; the simulator and tests drive it."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance_to(self, when: float) -> None:
        """Move forward to `when`; moving backwards is a bug in the caller."""
        if when < self._now:
            raise ValueError(f"virtual time cannot go back: {when} < {self._now}")
        self._now = when

    def advance(self, seconds: float) -> None:
        self.advance_to(self._now + seconds)
