"""The proxy's speed on loopback, next to `serve` and to calling the upstream directly.

One upstream process (`proxy_upstream.py`: the scripted upstream under uvicorn), a
`banditlb proxy --no-record` and a `banditlb serve --no-record` in front of it, each in its own
process. Printed: added latency (through - direct, paired back to back) p50/p99 for small
answers, 1 MiB uploads and 1 MiB downloads; throughput with wrk (small and 1 MiB); and an event
stream's time to first byte, through the proxy and direct (target: within 1 ms).
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from bench_support import balancer_process, free_ports, percentile

from banditlb.harness.processes import banditlb_command, start_process, wait_healthy

pytestmark = [pytest.mark.bench, pytest.mark.anyio]

UPSTREAM = Path(__file__).with_name("proxy_upstream.py")
MIB = 1 << 20
PAYLOAD = b"p" * MIB
GOOD_ID = b"abcdefghijklmnopqrstuvwx"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.3f} ms"


@asynccontextmanager
async def upstream_process() -> AsyncIterator[int]:
    (port,) = free_ports(1)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(UPSTREAM), str(port), stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line.strip() == b"ready", line
        yield port
    finally:
        process.terminate()
        await process.wait()


@asynccontextmanager
async def proxy_process(upstream_port: int) -> AsyncIterator[str]:
    port, admin = free_ports(2)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "proxy.toml"
        config.write_text(
            f"[listen]\nport = {port}\nadmin_port = {admin}\n"
            f'[[upstreams]]\nname = "bench"\nurl = "http://127.0.0.1:{upstream_port}"\n'
        )
        command = banditlb_command("proxy", "--config", str(config), "--no-record")
        process = await start_process("proxy", command)
        try:
            await wait_healthy(process, f"http://127.0.0.1:{admin}/healthz")
            yield f"http://127.0.0.1:{port}"
        finally:
            await process.stop(grace=10.0)


Call = Callable[[aiohttp.ClientSession, str], Awaitable[float]]


def request(method: str, path: str, body: bytes | None = None) -> Call:
    """A timed call: send, read the whole answer, return seconds."""

    async def call(session: aiohttp.ClientSession, base: str) -> float:
        started = time.perf_counter()
        async with session.request(method, base + path, data=body) as response:
            await response.read()
            assert response.status == 200, response.status
        return time.perf_counter() - started

    return call


async def first_byte(session: aiohttp.ClientSession, base: str) -> float:
    """Seconds to an event stream's first event (the stream then ends)."""
    started = time.perf_counter()
    async with session.get(base + "/sse?n=1") as response:
        chunk = await response.content.readany()
        elapsed = time.perf_counter() - started
        assert chunk.startswith(b"data: 0"), chunk
        await response.read()
    return elapsed


async def paired(
    session: aiohttp.ClientSession, direct: str, via: str, call: Call, rate: float, count: int
) -> tuple[list[float], list[float]]:
    """`count` pairs (direct, through) back to back, open loop at `rate` pairs per second."""
    for _ in range(20):
        await call(session, direct)
        await call(session, via)
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def pair(flip: bool) -> tuple[float, float]:
        if flip:
            through = await call(session, via)
            return await call(session, direct), through
        first = await call(session, direct)
        return first, await call(session, via)

    tasks = []
    for i in range(count):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(pair(i % 2 == 1)))
    pairs = await asyncio.gather(*tasks)
    return [d for d, _ in pairs], [t for _, t in pairs]


def line(label: str, directs: list[float], throughs: list[float]) -> str:
    added = [t - d for d, t in zip(directs, throughs, strict=True)]
    return (
        f"{label:<34} added p50 {ms(percentile(added, 0.5))} p99 {ms(percentile(added, 0.99))}"
        f" | direct p50 {ms(percentile(directs, 0.5))} | through p50 "
        f"{ms(percentile(throughs, 0.5))} p99 {ms(percentile(throughs, 0.99))}"
    )


def wrk(url: str, seconds: int, connections: int, script: str | None = None) -> str:
    """wrk's requests/s and transfer/s for `url` (GET, or the Lua `script`)."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
        if script is not None:
            path = Path(tmp) / "s.lua"
            path.write_text(script)
            argv[4:4] = ["-s", str(path)]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 30)
    rates = [ln.strip() for ln in out.stdout.splitlines() if "/sec" in ln and ":" in ln]
    return " | ".join(rates)


POST_ID = f'wrk.method = "POST"\nwrk.body = "{GOOD_ID.decode()}"\n'


async def test_proxy_speed() -> None:
    """Prints the proxy's added latency, throughput and time to first byte, next to serve."""
    async with (
        upstream_process() as port,
        proxy_process(port) as proxy,
        balancer_process([port], "--no-record", "--strategy", "round_robin") as (serve, _),
    ):
        direct = f"http://127.0.0.1:{port}"
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), auto_decompress=False
            ) as session:
                print()
                small = request("GET", "/small")
                d, t = await paired(session, direct, proxy, small, 100, 1500)
                print(line("proxy, small GET, 100/s", d, t))
                post_id = request("POST", "/", GOOD_ID)
                d, t = await paired(session, direct, serve, post_id, 100, 1500)
                print(line("serve, POST / (24 B id), 100/s", d, t))
                d, t = await paired(session, direct, proxy, post_id, 100, 1500)
                print(line("proxy, POST / (24 B id), 100/s", d, t))
                up = request("POST", "/echo", PAYLOAD)
                d, t = await paired(session, direct, proxy, up, 10, 200)
                print(line("proxy, 1 MiB upload, 10/s", d, t))
                down = request("GET", f"/bytes?size={MIB}")
                d, t = await paired(session, direct, proxy, down, 10, 200)
                print(line("proxy, 1 MiB download, 10/s", d, t))
                d, t = await paired(session, direct, proxy, first_byte, 50, 500)
                print(line("proxy, SSE time to first byte", d, t))
        finally:
            gc.enable()
            gc.unfreeze()
        if shutil.which("wrk") is None:
            print("wrk not installed: throughput skipped")
            return
        for label, url, script in (
            ("direct, small GET", f"{direct}/small", None),
            ("proxy, small GET", f"{proxy}/small", None),
            ("serve, POST / id", f"{serve}/", POST_ID),
            ("proxy, POST / id", f"{proxy}/", POST_ID),
            ("direct, 1 MiB GET", f"{direct}/bytes?size={MIB}", None),
            ("proxy, 1 MiB GET", f"{proxy}/bytes?size={MIB}", None),
        ):
            print(f"wrk -t1 -c32 5 s {label:<20} {wrk(url, 5, 32, script)}")
