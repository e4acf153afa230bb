"""Backpressure from the run store (issue 9 item 1): when the writer is behind, new client
requests are refused with 503 JSON + Retry-After, so what a crash can lose stays bounded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from balancer_doubles import OK, FakeDownstream, running

from banditlb.balancer.app import create_app
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.store import RunCreate, SqliteRecorder

pytestmark = pytest.mark.anyio

GOOD_ID = "abcdefghijklmnopqrstuvwx"
RUN = RunCreate(source="live", strategy="round_robin", scenario="", tier="")


async def test_a_burst_faster_than_the_writer_never_leaves_more_than_the_bound_unwritten(
    tmp_path: Path,
) -> None:
    """300 concurrent requests against a stalled writer with max_backlog=100: exactly 100 are
    admitted (one attempt each), the other 200 get 503 JSON with Retry-After, the unwritten
    backlog is 100; once the writer flushes, requests are admitted again."""
    recorder = SqliteRecorder(
        tmp_path / "runs.db", run=RUN, flush_interval=3600.0, batch_size=10**9, max_backlog=100
    )
    settings = BalancerSettings(upstreams=(Upstream("s", "127.0.0.1", 9),), strategy="round_robin")
    app = create_app(settings, recorder=recorder, downstream=FakeDownstream({0: [OK]}))
    async with running(app) as client:
        answers = await asyncio.gather(*(client.post("/", content=GOOD_ID) for _ in range(300)))
        backlog = recorder.backlog
        await recorder.flush()
        after = await client.post("/", content=GOOD_ID)
    statuses = sorted(a.status_code for a in answers)
    refused = [a for a in answers if a.status_code == 503]
    assert statuses == [200] * 100 + [503] * 200
    assert backlog == 100
    assert refused[0].headers["retry-after"] == "1"
    assert "run store's writer is behind" in refused[0].json()["error"]
    assert after.status_code == 200
    assert recorder.written == 101  # close() wrote the last one
