"""The independent referee fleet (`../shared/referee/fleet.py`, never copied here) as a
benchmark downstream: its scenario rewritten onto free ports, run as a child process, its
`/score` read back. Skipped by callers when the referee folder is absent."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from bench_support import free_ports

REFEREE = Path(__file__).resolve().parents[3] / "shared" / "referee"


def referee_available() -> bool:
    return (REFEREE / "fleet.py").is_file()


@asynccontextmanager
async def referee_fleet(scenario: str = "instant") -> AsyncIterator[tuple[list[int], str]]:
    """The referee fleet serving `scenario` on free ports; yields the ports and control URL."""
    spec = json.loads((REFEREE / "scenarios" / f"{scenario}.json").read_text())
    ports = free_ports(len(spec["servers"]) + 1)
    for server, port in zip(spec["servers"], ports, strict=False):
        server["port"] = port
    control = ports[-1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{scenario}.json"
        path.write_text(json.dumps(spec))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(REFEREE / "fleet.py"),
            str(path),
            "--control-port",
            str(control),
            "--max-runtime-s",
            "1800",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{control}"
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(200):  # bounded wait for the control port
                    try:
                        async with session.get(f"{url}/scenario") as answer:
                            if answer.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
            yield ports[:-1], url
        finally:
            process.terminate()
            await process.wait()


async def referee_call(url: str, method: str = "GET", path: str = "/score") -> Any:
    """One control call (`GET /score`, `POST /reset`); returns the JSON answer."""
    async with aiohttp.ClientSession() as session, session.request(method, f"{url}{path}") as a:
        return await a.json(content_type=None)
