"""`Fleet`: every server of a scenario on its own socket in one event loop, plus the referee.

    async with Fleet(scenario.load("default"), ephemeral=True) as fleet:
        host, port = fleet.address("t1-0")
        ...
        fleet.ledger("T1").score(penalty=1.0)

Each server's model is `ServerModel(spec, scenario.seed)`, asked at `clock.now()` (seconds since
`start()` with the default wall clock). One `Ledger` per tier. Servers with refused/flap faults
are polled every `fault_poll` seconds and their sockets closed or re-opened to match; `refresh()`
does it at once (tests with a virtual clock call it after moving time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from types import TracebackType

from banditlb.access import AccessPolicy
from banditlb.errors import BanditLBError, ConfigError
from banditlb.fleet.control import Control
from banditlb.fleet.endpoint import ServerEndpoint
from banditlb.fleet.listener import Listener
from banditlb.fleet.slot import ServerSlot
from banditlb.game.clock import Clock, WallClock
from banditlb.game.ledger import Ledger
from banditlb.models.server import ServerModel
from banditlb.models.spec import Scenario

log = logging.getLogger(__name__)

DEFAULT_CONTROL_PORT = 3999
MAX_PORT = 65535


class Fleet:
    """Serves a scenario's servers and the control endpoint; see the module docstring.

    `wall` gives epoch seconds for Retry-After HTTP-dates (servers in "date" mode) only.
    `ephemeral=True` binds every socket (control included) to port 0; `address()` and
    `control_url` report the real ports once started. `port_offset` is added to every port the
    fleet binds, the control port included, so fleets with different offsets coexist.
    `control_token` makes the control endpoint require `Authorization: Bearer <token>`.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        host: str = "127.0.0.1",
        control_port: int = DEFAULT_CONTROL_PORT,
        ephemeral: bool = False,
        clock: Clock | None = None,
        port_offset: int = 0,
        fault_poll: float = 0.01,
        wall: Callable[[], float] = time.time,
        control_token: str | None = None,
    ) -> None:
        if fault_poll <= 0:
            raise ConfigError(f"fault_poll must be > 0 seconds, got {fault_poll!r}")
        self.scenario = scenario
        self.host = host
        self._own_clock = clock is None
        self._clock: Clock = clock if clock is not None else WallClock()
        self._fault_poll = fault_poll
        self._ledgers = {tier: Ledger() for tier in scenario.tiers()}
        self._slots: dict[str, ServerSlot] = {}
        for spec in scenario.servers:
            endpoint = ServerEndpoint(
                ServerModel(spec, scenario.seed), self._ledgers[spec.tier], self._now, wall
            )
            port = 0 if ephemeral else _port(spec.port + port_offset, spec.name)
            self._slots[spec.name] = ServerSlot(
                endpoint, Listener(spec.name, host, port, endpoint.handle)
            )
        port = 0 if ephemeral else _port(control_port + port_offset, "control")
        if port and port in {slot.listener.port for slot in self._slots.values()}:
            raise ConfigError(f"control port {port} is also a server port; pick another")
        control = Control(self._slots, self._ledgers, AccessPolicy.for_bind(host, control_token))
        self._control = Listener("control", host, port, control.handle)
        self._supervisor: asyncio.Task[None] | None = None
        self._started = False

    def _now(self) -> float:
        return self._clock.now()

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def control_url(self) -> str:
        """Base URL of the control endpoint, e.g. "http://127.0.0.1:3999"."""
        return f"http://{_url_host(self.host)}:{self._control.port}"

    @property
    def names(self) -> list[str]:
        """Server names in scenario order."""
        return list(self._slots)

    def address(self, name: str) -> tuple[str, int]:
        """The (host, port) server `name` listens on (the real port once started)."""
        slot = self._slot(name)
        return slot.listener.host, slot.listener.port

    def tier_addresses(self, tier: str) -> list[tuple[str, int]]:
        """Addresses of the tier's servers, in scenario order."""
        self.ledger(tier)
        return [self.address(s.name) for s in self._slots.values() if s.spec.tier == tier]

    def ledger(self, tier: str) -> Ledger:
        """The referee's ledger for `tier` (live: it changes as requests arrive)."""
        if tier not in self._ledgers:
            raise ConfigError(f"unknown tier {tier!r}; tiers are {', '.join(self._ledgers)}")
        return self._ledgers[tier]

    def is_up(self, name: str) -> bool:
        """Whether server `name` is accepting connections right now."""
        return self._slot(name).listener.is_open

    async def down(self, name: str) -> None:
        """Kill server `name`: close its socket and reset its connections until `up(name)`."""
        await self._slot(name).hold_down(True)

    async def up(self, name: str) -> None:
        """Restart server `name` on the same port (unless its own faults keep it down)."""
        await self._slot(name).hold_down(False)

    async def refresh(self) -> None:
        """Open or close every server socket to match the models at `clock.now()`."""
        for slot in self._slots.values():
            await slot.sync()

    async def start(self) -> None:
        """Bind every socket; a busy port raises ConfigError and leaves nothing open."""
        if self._started:
            return
        self._started = True
        if self._own_clock:
            self._clock = WallClock()
        try:
            await self._control.open()
            for slot in self._slots.values():
                await slot.listener.open()
            await self.refresh()
        except BaseException:
            await self.stop()
            raise
        if any(slot.can_flap for slot in self._slots.values()):
            self._supervisor = asyncio.create_task(self._supervise(), name="fleet-faults")

    async def stop(self) -> None:
        """Close every socket and connection; safe to call twice."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        for slot in self._slots.values():
            await slot.listener.close()
        await self._control.close()
        self._started = False

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _supervise(self) -> None:
        flappers = [slot for slot in self._slots.values() if slot.can_flap]
        while True:
            await asyncio.sleep(self._fault_poll)
            for slot in flappers:
                try:
                    await slot.sync()
                except BanditLBError as exc:  # e.g. the port was taken while down: retry
                    log.warning("cannot bring %s back up: %s", slot.name, exc)

    def _slot(self, name: str) -> ServerSlot:
        slot = self._slots.get(name)
        if slot is None:
            raise ConfigError(f"unknown server {name!r}; servers are {', '.join(self._slots)}")
        return slot


def _port(port: int, name: str) -> int:
    if not 1 <= port <= MAX_PORT:
        raise ConfigError(f"{name}: port {port} is outside 1..{MAX_PORT} (check --port-offset)")
    return port


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
