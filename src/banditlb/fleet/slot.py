"""One served server: its endpoint, its listening socket, and whether it should be up.

A server is up unless the operator holds it down (`POST /servers/{name}/down`) or its model's
refused/flap faults have it down at the current time; `sync` makes the socket match.
"""

from __future__ import annotations

from typing import Any

from banditlb.fleet.endpoint import ServerEndpoint
from banditlb.fleet.listener import Listener
from banditlb.models.spec import ServerSpec


class ServerSlot:
    """A server's endpoint plus the listener that exposes it."""

    def __init__(self, endpoint: ServerEndpoint, listener: Listener) -> None:
        self.endpoint = endpoint
        self.listener = listener
        self.held_down = False

    @property
    def spec(self) -> ServerSpec:
        return self.endpoint.model.spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def can_flap(self) -> bool:
        """Whether the model has faults that take the socket down on their own."""
        return any(fault.kind in ("refused", "flap") for fault in self.spec.faults)

    async def sync(self) -> None:
        """Open or close the socket so it is up exactly when it should be."""
        if self.held_down or self.endpoint.is_down():
            await self.listener.close()
        else:
            await self.listener.open()

    async def hold_down(self, down: bool) -> None:
        """The operator's kill (`down=True`) or restart (`down=False`)."""
        self.held_down = down
        await self.sync()

    def row(self) -> dict[str, Any]:
        """The `GET /servers` entry."""
        return {
            "name": self.name,
            "tier": self.spec.tier,
            "port": self.listener.port,
            "up": self.listener.is_open,
            "error_rate": self.spec.error_rate,
        }
