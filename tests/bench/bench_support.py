"""Processes and numbers for the balancer benchmarks: instant downstreams, a balancer
subprocess, free ports, resident memory, nearest-rank percentiles and wrk runs."""

from __future__ import annotations

import asyncio
import math
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from banditlb.harness.processes import (
    ManagedProcess,
    banditlb_command,
    start_process,
    wait_healthy,
)

INSTANT_SERVER = Path(__file__).with_name("instant_server.py")
GOOD_ID = "abcdefghijklmnopqrstuvwx"
WRK_LUA = f"""wrk.method = "POST"
wrk.body = "{GOOD_ID}"
wrk.headers["Content-Type"] = "text/plain"
"""


def wrk(url: str, seconds: float, connections: int, *, threads: int, check: bool) -> str:
    """`wrk` POSTing the id to `url` over keep-alive connections; returns its report."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_LUA)
        result = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), url],
            capture_output=True,
            text=True,
            check=check,
            timeout=seconds + 30,
        )
    return result.stdout


def free_ports(n: int) -> list[int]:
    """`n` distinct ports the OS just handed out (closed again, so free unless raced)."""
    socks = []
    try:
        for _ in range(n):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of `values` (sorted here)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def raise_priority(*pids: int, niceness: int = -10) -> bool:
    """Renice `pids` (0: this process) so a shared host's other work queues behind them; needs
    root (CAP_SYS_NICE). Returns whether it worked. Latency benchmarks say which they ran with."""
    try:
        for pid in pids:
            os.setpriority(os.PRIO_PROCESS, pid, niceness)
    except PermissionError:
        return False
    return True


def vm_rss_kib(pid: int) -> int:
    """Resident set size of process `pid` in KiB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


@asynccontextmanager
async def instant_servers(n: int) -> AsyncIterator[tuple[int, list[int]]]:
    """`n` instant-200 downstreams in one separate process; yields its pid and their ports."""
    ports = free_ports(n)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(INSTANT_SERVER),
        *map(str, ports),
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        assert line.strip() == b"ready", line
        yield process.pid, ports
    finally:
        process.terminate()
        await process.wait()


@asynccontextmanager
async def balancer_process(
    upstream_ports: Sequence[int], *extra: str
) -> AsyncIterator[tuple[str, ManagedProcess]]:
    """`banditlb serve --upstreams ...` as a real subprocess; yields its base URL and process."""
    (port,) = free_ports(1)
    upstreams = ",".join(f"127.0.0.1:{p}" for p in upstream_ports)
    command = banditlb_command("serve", "--upstreams", upstreams, "--port", str(port), *extra)
    process = await start_process("balancer", command)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(process, f"{url}/healthz")
        yield url, process
    finally:
        await process.stop(grace=10.0)
