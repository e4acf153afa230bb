"""A scripted upstream (`banditlb.proxy.testing.ScriptedUpstream`) under uvicorn, for the proxy
benchmark: `python proxy_upstream.py PORT`. Prints "ready" once listening."""

from __future__ import annotations

import asyncio
import contextlib
import sys

from banditlb.balancer.serving import serve_in_background
from banditlb.proxy.testing import ScriptedUpstream


async def main(port: int) -> None:
    async with serve_in_background(ScriptedUpstream("bench", keep=False), port=port):
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(int(sys.argv[1])))
