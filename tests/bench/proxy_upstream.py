"""A scripted upstream (`banditlb.proxy.testing.ScriptedUpstream`) under uvicorn, for the proxy
benchmark: `python proxy_upstream.py PORT`. Prints "ready" once listening."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from banditlb.balancer.serving import serve_in_background
from banditlb.proxy.testing import ScriptedUpstream


async def main(port: int) -> None:
    # wrk hangs up mid-answer at the end of each run; asyncio's "socket.send() raised
    # exception." for each late write of ours is expected noise here.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    async with serve_in_background(ScriptedUpstream("bench", keep=False), port=port):
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(int(sys.argv[1])))
