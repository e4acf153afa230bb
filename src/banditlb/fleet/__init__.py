"""The flaky fleet: serves a scenario's server models over HTTP and referees the game.

`Fleet` is the whole public API; the modules below it each do one job:
`http` (h11 over asyncio streams), `listener` (one closable socket), `endpoint` (one server's
`POST /`), `slot` (a server's up/down state), `control` (the referee's endpoint).
"""

from __future__ import annotations

from banditlb.fleet.fleet import DEFAULT_CONTROL_PORT, Fleet

__all__ = ["DEFAULT_CONTROL_PORT", "Fleet"]
