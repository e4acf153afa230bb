"""`banditlb serve` as a real process: JSON logs at the chosen level, and SIGTERM mid-flight
finishes what is in flight and flushes the run store before exiting."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import socket
import sqlite3
from pathlib import Path

import httpx
import pytest

from banditlb.cli.main import main
from banditlb.fleet import Fleet
from banditlb.game.ids import new_id
from banditlb.harness.processes import banditlb_command, start_process, wait_healthy
from banditlb.models import scenario

pytestmark = pytest.mark.anyio

SLOW = """
name = "slow"

[[servers]]
name = "slow"
tier = "T"
port = 4500
error_rate = 0.0
faults = [{ kind = "slow", delay = 0.6 }]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_sigterm_finishes_in_flight_requests_and_flushes_the_store(tmp_path: Path) -> None:
    """SIGTERM while requests wait on a slow server: each gets its 200, the process shuts down
    cleanly (uvicorn re-raises the signal after shutdown, so the status is -SIGTERM), every
    answered request's attempt is in the SQLite store and the run has its end time. Every log
    line on stderr, uvicorn's included, is JSON."""
    db = tmp_path / "runs.db"
    port = free_port()
    async with Fleet(scenario.loads(SLOW), ephemeral=True) as fleet:
        host, upstream_port = fleet.address("slow")
        command = banditlb_command(
            "serve",
            "--upstreams", f"{host}:{upstream_port}",
            "--port", str(port),
            "--db", str(db),
            "--grace", "5",
            "--log-level", "info",
        )  # fmt: skip
        process = await start_process("balancer", command)
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_healthy(process, f"{url}/healthz")
            rng = random.Random(5)
            ids = [new_id(rng) for _ in range(12)]
            async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
                sends = [asyncio.create_task(client.post("/", content=i)) for i in ids]
                while fleet.ledger("T").score().attempts < len(ids):  # all reached the server
                    await asyncio.sleep(0.02)
                process.process.send_signal(signal.SIGTERM)
                responses = await asyncio.gather(*sends)
            code = await asyncio.wait_for(process.process.wait(), 15)
            log_lines = process.log_tail(20_000).splitlines()
        finally:
            await process.stop()
    assert code == -signal.SIGTERM
    assert [r.status_code for r in responses] == [200] * len(ids)
    with sqlite3.connect(db) as conn:
        stored = {row[0] for row in conn.execute("SELECT request_id FROM attempts")}
        ended = conn.execute("SELECT ended_at FROM runs").fetchall()
    assert stored == {r.json()["id"] for r in responses}
    assert len(ended) == 1
    assert ended[0][0] is not None
    logs = [json.loads(line) for line in log_lines if line.strip()]  # every line is JSON
    serving = [entry for entry in logs if entry["message"] == "serving"]
    assert any(entry["logger"] == "uvicorn.error" for entry in logs)
    assert serving == [
        {
            "time": serving[0]["time"],
            "level": "info",
            "logger": "banditlb.cli.serve_cmd",
            "message": "serving",
            "host": "127.0.0.1",
            "port": port,
            "upstreams": 1,
        }
    ]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--log-level", "loud"], "log level must be one of debug, info, warning, error, critical"),
        (["--grace", "0"], "grace must be a finite number of seconds > 0, got 0.0"),
        (["--grace", "inf"], "grace must be a finite number of seconds > 0, got inf"),
        (["--max-in-flight", "0"], "--max-in-flight must be >= 1, got 0"),
    ],
)
def test_bad_serve_options_exit_2_with_one_line(
    option: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad --log-level, --grace or --max-in-flight: one line naming the rule, nothing started."""
    with pytest.raises(SystemExit) as info:
        main(["serve", "--upstreams", "127.0.0.1:4000", *option])
    assert info.value.code == 2
    assert message in " ".join(capsys.readouterr().err.split())


async def test_serve_records_into_the_default_store_and_serves_its_dashboard(
    tmp_path: Path,
) -> None:
    """Without --db, `serve` records its live run in the user's store and the same process
    serves /dashboard and /api/runs over it (the test's data dir is a temporary one)."""
    port = free_port()
    async with Fleet(scenario.loads(SLOW.replace("0.6", "0.01")), ephemeral=True) as fleet:
        host, upstream_port = fleet.address("slow")
        command = banditlb_command(
            "serve", "--upstreams", f"{host}:{upstream_port}", "--port", str(port)
        )
        process = await start_process("balancer", command)
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_healthy(process, f"{url}/healthz")
            async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
                sent = await client.post("/", content=new_id(random.Random(1)))
                page = await client.get("/dashboard")
                runs = (await client.get("/api/runs")).json()
        finally:
            await process.stop()
    assert sent.status_code == 200
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    live = [run for run in runs["runs"] if run["source"] == "live"]
    assert len(live) == 1
    assert live[0]["strategy"] == "planner"
