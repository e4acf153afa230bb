"""`banditlb proxy` as a real process: forwards, records into the store, logs JSON without the
key even at debug level, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sqlite3
from pathlib import Path

import httpx
import pytest

from banditlb.balancer.serving import serve_in_background
from banditlb.harness.processes import banditlb_command, start_process, wait_healthy
from banditlb.proxy.testing import ScriptedUpstream

pytestmark = pytest.mark.anyio

SECRET = "sk-proc-Q7SECRET-abc"


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


async def test_proxy_process_forwards_records_and_stops_on_sigterm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six GETs through `banditlb proxy`: all 200 with the key injected upstream; after
    SIGTERM the store holds six attempts and an ended run; every log line is JSON and none
    holds the key."""
    monkeypatch.setenv("KEY_P", SECRET)
    db = tmp_path / "runs.db"
    port, admin = free_ports(2)
    upstream = ScriptedUpstream("up")
    async with serve_in_background(upstream) as upstream_url:
        config = tmp_path / "proxy.toml"
        config.write_text(
            f'label = "proc"\n[listen]\nport = {port}\nadmin_port = {admin}\n'
            f'[[upstreams]]\nname = "up"\nurl = "{upstream_url}/api"\n'
            'headers = { Authorization = { env = "KEY_P", prefix = "Bearer " } }\n'
        )
        command = banditlb_command(
            "proxy", "--config", str(config), "--db", str(db), "--log-level", "debug"
        )
        process = await start_process("proxy", command)
        try:
            await wait_healthy(process, f"http://127.0.0.1:{admin}/healthz")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                answers = [await client.get(f"/v1/{i}/echo") for i in range(6)]
            process.process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.process.wait(), 15)
            log_text = process.log_tail(200_000)
        finally:
            await process.stop()
    assert [a.status_code for a in answers] == [200] * 6
    assert {r.header("authorization") for r in upstream.requests} == {f"Bearer {SECRET}"}
    assert upstream.requests[0].path == "/api/v1/0/echo"
    assert code == -signal.SIGTERM
    with sqlite3.connect(db) as conn:
        attempts = conn.execute("SELECT server, status FROM attempts").fetchall()
        runs = conn.execute("SELECT label, ended_at FROM runs").fetchall()
    assert attempts == [("up", 200)] * 6
    assert runs[0][0] == "proc"
    assert runs[0][1] is not None
    assert SECRET not in log_text
    stored = b"".join(f.read_bytes() for f in tmp_path.iterdir() if f.name.startswith("runs.db"))
    assert SECRET.encode() not in stored
    lines = [json.loads(line) for line in log_text.splitlines() if line.strip()]
    assert any(entry["message"] == "proxying" for entry in lines)
