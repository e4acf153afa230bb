"""SqliteRecorder: queued on the request path, written in batches, nothing lost on close."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from store_doubles import attempt

from banditlb.balancer.recording import Recorder
from banditlb.game.outcome import OutcomeKind
from banditlb.store import RunCreate, SqliteRecorder, connect_readonly, count_attempts, get_run

pytestmark = pytest.mark.anyio
RUN = RunCreate(source="live", strategy="thompson", scenario="default", tier="T1")


async def until(condition: object, *, seconds: float = 10.0) -> None:
    """Poll `condition()` on the event loop until it holds (a generous bound, not a timing test)."""
    for _ in range(int(seconds / 0.005)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


def test_is_a_balancer_recorder(db_path: Path) -> None:
    """It satisfies the balancer's Recorder protocol."""
    assert isinstance(SqliteRecorder(db_path, run=RUN), Recorder)


async def test_a_full_batch_is_written_without_waiting_for_the_interval(db_path: Path) -> None:
    """batch_size queued records wake the writer at once; fewer wait for the interval."""
    recorder = SqliteRecorder(db_path, run=RUN, flush_interval=3600.0, batch_size=50)
    await recorder.start()
    for n in range(49):
        recorder.record(attempt(n))
    for _ in range(5):
        await asyncio.sleep(0)
    assert recorder.written == 0
    assert recorder.pending == 49
    recorder.record(attempt(49))
    await until(lambda: recorder.written == 50)
    assert recorder.batches == 1
    await recorder.close()


async def test_the_interval_flushes_a_partial_batch(db_path: Path) -> None:
    """A few records are written by the periodic flush, in one batch."""
    recorder = SqliteRecorder(db_path, run=RUN, flush_interval=0.01, batch_size=500)
    await recorder.start()
    for n in range(3):
        recorder.record(attempt(n))
    await until(lambda: recorder.written == 3)
    assert recorder.batches == 1
    await recorder.close()


async def test_readers_on_other_connections_see_batches_while_writing(db_path: Path) -> None:
    """A reader holding a snapshot never blocks the writer; after it ends it sees new rows."""
    recorder = SqliteRecorder(db_path, run=RUN, flush_interval=0.005, batch_size=10)
    await recorder.start()
    run_id = recorder.run_id
    assert run_id is not None
    reader = connect_readonly(db_path)
    for n in range(10):
        recorder.record(attempt(n))
    await until(lambda: recorder.written == 10)
    reader.execute("BEGIN")
    assert count_attempts(reader, run_id=run_id) == 10
    for n in range(10, 40):
        recorder.record(attempt(n))
        await asyncio.sleep(0)
    await until(lambda: recorder.written == 40)  # writes proceed under the open read snapshot
    assert count_attempts(reader, run_id=run_id) == 10
    reader.execute("COMMIT")
    assert count_attempts(reader, run_id=run_id) == 40
    reader.close()
    await recorder.close()


async def test_clean_shutdown_loses_nothing_and_stores_totals(db_path: Path) -> None:
    """close() writes every queued record and the run's end time and totals."""
    recorder = SqliteRecorder(db_path, run=RUN, flush_interval=3600.0, batch_size=1_000_000)
    await recorder.start()
    for n in range(2345):
        recorder.record(attempt(n, kind=OutcomeKind.ACCEPTED if n % 5 else OutcomeKind.FAILED))
    for n in range(5):  # request 0 failed, then attempts 2-6: 4, 5, 6 are penalised
        kind = OutcomeKind.ACCEPTED if n == 4 else OutcomeKind.FAILED
        recorder.record(attempt(0, attempt_no=n + 2, kind=kind))
    recorder.add_totals({"oracle_per_request": 0.9})
    await recorder.close()
    assert recorder.pending == 0

    reader = connect_readonly(db_path)
    run_id = recorder.run_id
    assert run_id is not None
    assert count_attempts(reader, run_id=run_id) == 2350
    run = get_run(reader, run_id=run_id)
    reader.close()
    assert run.ended_at is not None
    assert run.tier == "T1"
    assert {k: run.totals[k] for k in ("requests", "attempts", "delivered", "penalised")} == {
        "requests": 2345,
        "attempts": 2350,
        "delivered": 1877,
        "penalised": 3,
    }
    assert run.totals["score"] == 1874.0
    assert run.totals["oracle_per_request"] == 0.9
    assert run.totals["dropped"] == 0


async def test_a_full_queue_drops_and_counts_instead_of_blocking(db_path: Path) -> None:
    """Past max_queue records, record() drops and counts; it never raises."""
    recorder = SqliteRecorder(db_path, run=RUN, flush_interval=3600.0, max_queue=3)
    for n in range(5):
        recorder.record(attempt(n))
    assert (recorder.pending, recorder.dropped) == (3, 2)
    await recorder.start()
    await recorder.close()
    assert recorder.written == 3


async def test_a_crash_loses_only_the_unflushed_records(db_path: Path) -> None:
    """Records flushed before an abrupt stop survive; the queued rest is the loss window."""
    recorder = SqliteRecorder(db_path, run=RUN, flush_interval=3600.0, batch_size=100)
    await recorder.start()
    for n in range(100):
        recorder.record(attempt(n))
    await until(lambda: recorder.written == 100)
    for n in range(100, 130):
        recorder.record(attempt(n))
    task = recorder._task  # simulate the process dying: the task stops, close() never runs
    assert task is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    reader = connect_readonly(db_path)
    assert count_attempts(reader, run_id=recorder.run_id or "") == 100
    assert get_run(reader, run_id=recorder.run_id or "").ended_at is None
    reader.close()
    assert recorder._conn is not None
    recorder._conn.close()


async def test_explicit_flushes_alongside_the_writer_are_serialised(db_path: Path) -> None:
    """flush() racing the background writer still writes every record exactly once."""
    recorder = SqliteRecorder(db_path, run=RUN, flush_interval=0.001, batch_size=1)
    await recorder.start()
    for n in range(200):
        recorder.record(attempt(n))
        if n % 7 == 0:
            await asyncio.gather(recorder.flush(), recorder.flush())
    await recorder.close()
    reader = connect_readonly(db_path)
    assert count_attempts(reader, run_id=recorder.run_id or "") == 200
    reader.close()
    assert recorder.dropped == 0
