"""One listening socket that can be closed and re-opened on the same port, and its connections.

Closing it is what a dead server looks like from outside: new connects are refused and every
open connection is reset. Re-opening binds the very same port again.
"""

from __future__ import annotations

import asyncio

from banditlb.errors import ConfigError
from banditlb.fleet.http import Handler, abort, serve_connection


class Listener:
    """Serves `handler` on `host:port` (port 0 picks a free port once, then keeps it)."""

    def __init__(self, name: str, host: str, port: int, handler: Handler) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._accepting = False
        self._lock = asyncio.Lock()
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._dropped: set[asyncio.Task[None]] = set()

    @property
    def is_open(self) -> bool:
        return self._server is not None

    @property
    def connections(self) -> int:
        """Open client connections right now."""
        return len(self._connections)

    async def open(self) -> None:
        """Start listening; a no-op when already open. A busy port raises ConfigError."""
        async with self._lock:
            if self._server is not None:
                return
            self._accepting = True
            try:
                server = await asyncio.start_server(
                    self._accept, self.host, self.port, reuse_address=True
                )
            except OSError as exc:
                self._accepting = False
                raise ConfigError(
                    f"{self.name}: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
                ) from None
            self.port = server.sockets[0].getsockname()[1]
            self._server = server

    async def close(self) -> None:
        """Stop listening and reset every open connection; a no-op when already closed."""
        async with self._lock:
            self._accepting = False
            server, self._server = self._server, None
            if server is not None:
                server.close()
            current = asyncio.current_task()
            tasks = [task for task in self._connections if task is not current]
            for task in tasks:
                abort(self._connections[task])
                self._dropped.add(task)
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
            if server is not None:
                await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None or not self._accepting:  # raced with close(): act like a dead server
            abort(writer)
            return
        self._connections[task] = writer
        try:
            await serve_connection(reader, writer, self._handler)
        except asyncio.CancelledError:
            # Our own close() cancelled it: end normally, since Python 3.11's stream callback
            # calls task.exception() and would raise on a cancelled task.
            if task not in self._dropped:
                raise
        finally:
            self._connections.pop(task, None)
            self._dropped.discard(task)
