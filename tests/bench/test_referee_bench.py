"""`banditlb serve` in front of the independent referee fleet (issue 9): throughput and added
latency side by side with the fleet reached directly, and the attempts a SIGKILL at saturation
loses from the run store (the referee's count minus the store's). Numbers are printed, never
asserted (`make bench`); the machine is shared, so each line carries the load average.
Env: BANDITLB_WRK_SECONDS (10), BANDITLB_KILL_AFTER (4)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest
from bench_support import GOOD_ID, free_ports, percentile
from bench_support import wrk as bench_wrk
from referee_support import referee_available, referee_call, referee_fleet

from banditlb.harness.processes import banditlb_command, start_process, wait_healthy
from banditlb.store.recorder import MAX_BACKLOG

pytestmark = [pytest.mark.bench, pytest.mark.anyio]

BODY = GOOD_ID.encode()
HEADERS = {"Content-Type": "text/plain"}


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 1)[0]


def need_tools() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (make bench installs it when run as root)")
    if not referee_available():
        pytest.skip("the referee fleet (../shared/referee) is not there")


def wrk(url: str, seconds: float, connections: int) -> str:
    """`wrk -t2` POSTing the id; returns its report."""
    return bench_wrk(url, seconds, connections, threads=2, check=False)


def requests_per_second(report: str) -> float:
    for line in report.splitlines():
        if line.strip().startswith("Requests/sec:"):
            return float(line.split()[1])
    return 0.0


def non_2xx(report: str) -> str:
    for line in report.splitlines():
        if "Non-2xx" in line:
            return line.split(":")[1].strip()
    return "0"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def total_requests(report: str) -> int:
    for line in report.splitlines():
        if "requests in" in line:
            return int(line.split()[0])
    return 0


def upstreams(ports: list[int]) -> str:
    return ",".join(f"127.0.0.1:{port}" for port in ports)


async def test_throughput_and_added_latency_vs_the_referee_fleet(tmp_path: Path) -> None:
    """Prints wrk -t2 req/s straight at one referee server and through one `serve` (recording
    into a store, as shipped), then added p50/p99 at 100 req/s next to the direct round trip."""
    need_tools()
    seconds = float(os.environ.get("BANDITLB_WRK_SECONDS", "10"))
    (port,) = free_ports(1)
    async with referee_fleet() as (ports, _):
        command = banditlb_command(
            "serve", "--upstreams", upstreams(ports), "--port", str(port),
            "--db", str(tmp_path / "runs.db"),
        )  # fmt: skip
        process = await start_process("balancer", command)
        try:
            url = f"http://127.0.0.1:{port}/"
            await wait_healthy(process, f"{url}healthz")
            direct = f"http://127.0.0.1:{ports[0]}/"
            await asyncio.to_thread(wrk, url, 2, 16)  # warm up
            print()
            for connections in (64,):
                d = requests_per_second(await asyncio.to_thread(wrk, direct, seconds, connections))
                cpu_before = cpu_seconds(process.process.pid)
                v = await asyncio.to_thread(wrk, url, seconds, connections)
                cpu = cpu_seconds(process.process.pid) - cpu_before
                per_request = cpu / max(1, total_requests(v)) * 1e6
                delivered = (total_requests(v) - int(non_2xx(v))) / seconds
                print(
                    f"wrk -t2 -c{connections} {seconds:g}s: referee fleet directly {d:>8,.0f} "
                    f"req/s | through serve {requests_per_second(v):>8,.0f} answers/s, of them "
                    f"{delivered:,.0f}/s delivered (200; the rest 503 while the store's writer is "
                    f"behind; target >= 3,000; balancer CPU {per_request:.0f} us/request) | "
                    f"load average {load_average()}"
                )
            await _added_latency(direct, url)
        finally:
            await process.stop(grace=10.0)


async def _post(session: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with session.post(url, data=BODY, headers=HEADERS) as response:
        await response.read()
    return time.perf_counter() - started


async def _added_latency(
    direct: str, balanced: str, rate: int = 100, seconds: float = 20.0
) -> None:
    """Open loop at `rate`: each tick one direct call and one via the balancer, back to back."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for _ in range(200):
            await _post(session, direct)
            await _post(session, balanced)
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []

        async def pair(flip: bool) -> tuple[float, float]:
            if flip:
                via = await _post(session, balanced)
                return await _post(session, direct), via
            first = await _post(session, direct)
            return first, await _post(session, balanced)

        for i in range(int(rate * seconds)):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(pair(i % 2 == 1)))
        pairs = await asyncio.gather(*tasks)
    added = [via - d for d, via in pairs]
    directs = [d for d, _ in pairs]
    print(
        f"{rate} req/s x {len(pairs)}: added p50 {percentile(added, 0.5) * 1000:.3f} ms "
        f"p99 {percentile(added, 0.99) * 1000:.3f} ms (target <= 1 ms) | referee fleet "
        f"directly p50 {percentile(directs, 0.5) * 1000:.3f} ms "
        f"p99 {percentile(directs, 0.99) * 1000:.3f} ms | load average {load_average()}"
    )


async def test_sigkill_at_saturation_loses_at_most_the_backlog(tmp_path: Path) -> None:
    """Prints, for wrk -c64 and -c256, the attempts the referee counted, the attempts in the
    store after SIGKILL mid-load, and the difference: the crash window at saturation."""
    need_tools()
    kill_after = float(os.environ.get("BANDITLB_KILL_AFTER", "4"))
    print()
    async with referee_fleet() as (ports, control):
        for connections in (64, 256):
            db = tmp_path / f"runs-{connections}.db"
            (port,) = free_ports(1)
            command = banditlb_command(
                "serve", "--upstreams", upstreams(ports), "--port", str(port), "--db", str(db),
            )  # fmt: skip
            process = await start_process("balancer", command)
            try:
                url = f"http://127.0.0.1:{port}/"
                await wait_healthy(process, f"{url}healthz")
                await referee_call(control, "POST", "/reset")
                load = asyncio.create_task(asyncio.to_thread(wrk, url, kill_after + 2, connections))
                await asyncio.sleep(kill_after)
                os.killpg(process.process.pid, signal.SIGKILL)
                await process.process.wait()
                report = await load
            finally:
                await process.stop()
            counted = (await referee_call(control))["total_attempts"]
            with sqlite3.connect(db) as conn:
                (stored,) = conn.execute("SELECT COUNT(*) FROM attempts").fetchone()
            print(
                f"wrk -t2 -c{connections}, SIGKILL after {kill_after:g} s: referee counted "
                f"{counted:,} attempts, store has {stored:,}, lost {counted - stored:,} "
                f"(bound {MAX_BACKLOG:,} + retries in flight + attempts in the air; "
                f"{non_2xx(report)} non-2xx incl. 503 backpressure) | "
                f"load average {load_average()}"
            )
