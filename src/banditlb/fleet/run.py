"""Run a fleet in the foreground until SIGINT or SIGTERM, then close every socket cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

from banditlb.fleet.fleet import Fleet


async def serve_until_signalled(fleet: Fleet, ready: Callable[[Fleet], None]) -> None:
    """Start `fleet`, call `ready(fleet)`, wait for Ctrl-C or SIGTERM, stop the fleet."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stopping.set)
    try:
        async with fleet:
            ready(fleet)
            await stopping.wait()
    finally:
        for sig in signals:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
