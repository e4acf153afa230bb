"""An instant-200 HTTP/1.1 server for benchmarks: `python instant_server.py PORT [PORT ...]`.

Bare asyncio protocol (uvloop when installed), keep-alive, pipelining-safe; it answers every
`POST /` with 200 at once so a benchmark measures the balancer, not the downstream. Run it in
its own process so it does not compete with the balancer for the event loop. Prints "ready"
once every port is listening.
"""

from __future__ import annotations

import asyncio
import sys
from typing import cast

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class InstantProtocol(asyncio.Protocol):
    """Answers each complete request in the buffer with `ANSWER`."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answers = 0
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                line_end = head.find(b"\r\n", at)
                length = int(head[at + 15 : line_end if line_end >= 0 else None])
            total = end + 4 + length
            if len(self.buffer) < total:
                break
            self.buffer = self.buffer[total:]
            answers += 1
        if answers and self.transport is not None:
            self.transport.write(ANSWER * answers)


async def serve(ports: list[int]) -> None:
    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_server(InstantProtocol, "127.0.0.1", port, backlog=1024) for port in ports
    ]
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main() -> None:
    ports = [int(arg) for arg in sys.argv[1:]]
    try:
        import uvloop

        uvloop.run(serve(ports))
    except ImportError:
        asyncio.run(serve(ports))


if __name__ == "__main__":
    main()
