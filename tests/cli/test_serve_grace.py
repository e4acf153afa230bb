"""`banditlb serve --grace` shorter than an attempt (issue 9 item 6): SIGTERM while an attempt
waits on a hanging server ends that attempt when the grace runs out, records it in the store
as a timeout, and answers the client with JSON, never uvicorn's plain-text 500."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
from pathlib import Path

import httpx
import pytest

from banditlb.fleet import Fleet
from banditlb.harness.processes import banditlb_command, start_process, wait_healthy
from banditlb.models import scenario

pytestmark = pytest.mark.anyio

HANGING = """
name = "hanging"

[[servers]]
name = "hang"
tier = "T"
port = 4510
error_rate = 0.0
faults = [{ kind = "hang" }]
"""
GOOD_ID = "abcdefghijklmnopqrstuvwx"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_grace_shorter_than_an_attempt_records_it_and_answers_json(tmp_path: Path) -> None:
    """--grace 0.3 with a 5 s attempt timeout on a server that never answers: after SIGTERM the
    client gets a JSON 502 naming the deadline, and the store holds that attempt as a timeout."""
    db = tmp_path / "runs.db"
    port = free_port()
    async with Fleet(scenario.loads(HANGING), ephemeral=True) as fleet:
        host, upstream_port = fleet.address("hang")
        command = banditlb_command(
            "serve",
            "--upstreams", f"{host}:{upstream_port}",
            "--port", str(port),
            "--db", str(db),
            "--attempt-timeout", "5",
            "--grace", "0.3",
            "--strategy", "round_robin",
        )  # fmt: skip
        process = await start_process("balancer", command)
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_healthy(process, f"{url}/healthz")
            async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
                sent = asyncio.create_task(client.post("/", content=GOOD_ID))
                for _ in range(500):  # bounded: the attempt reaches the hanging server
                    if fleet.ledger("T").score().attempts:
                        break
                    await asyncio.sleep(0.01)
                process.process.send_signal(signal.SIGTERM)
                answer = await sent
            await asyncio.wait_for(process.process.wait(), 15)
        finally:
            await process.stop()
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"id": GOOD_ID, "attempts": 1, "error": "request deadline passed"}
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT request_id, attempt, outcome FROM attempts").fetchall()
    assert rows == [(GOOD_ID, 1, "timeout")]
