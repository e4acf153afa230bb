"""Child processes: group-wide stop with SIGKILL fallback, early failure reporting, and a
live run (`run_live`) that leaves nothing behind, finished or cancelled."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from banditlb.harness.load import LoadProgress
from banditlb.harness.processes import ProcessError, start_process, wait_healthy
from banditlb.harness.run import RunPlan, run_live
from banditlb.models.oracle import oracle_bound
from banditlb.scenarios import files as scenario_files
from banditlb.store import connect, count_attempts, list_runs

pytestmark = pytest.mark.anyio


def alive(pid: int) -> bool:
    """True when `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def children(pid: int) -> list[int]:
    """Live direct children of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


async def test_stop_kills_the_whole_group_after_grace(tmp_path: Path) -> None:
    """A child ignoring SIGTERM, and its own child, are both gone after stop()."""
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    process = await start_process("stubborn", [sys.executable, "-c", script])
    while not pid_file.exists() or not pid_file.read_text():
        await asyncio.sleep(0.02)
    grandchild = int(pid_file.read_text())
    await process.stop(grace=0.2)
    assert not process.running
    for _ in range(100):  # the grandchild is reaped by init, asynchronously
        if not alive(grandchild):
            break
        await asyncio.sleep(0.02)
    assert not alive(grandchild)


async def test_wait_healthy_reports_an_early_exit() -> None:
    """A child that exits before it is healthy fails fast with its status and stderr."""
    script = "import sys; sys.stderr.write('port busy'); sys.exit(3)"
    process = await start_process("dying", [sys.executable, "-c", script])
    try:
        with pytest.raises(
            ProcessError, match=r"(?s)dying exited with status 3 before .*port busy"
        ):
            await wait_healthy(process, "http://127.0.0.1:9/healthz", timeout=20)
    finally:
        await process.stop()


async def test_a_child_ending_with_one_error_line_is_reported_on_one_line() -> None:
    """A child that prints `error: ...` and exits 2 is reported on one line with that reason."""
    script = "import sys; sys.stderr.write('error: port must be <= 65535\\n'); sys.exit(2)"
    process = await start_process("balancer-T9", [sys.executable, "-c", script])
    try:
        with pytest.raises(ProcessError) as failed:
            await wait_healthy(process, "http://127.0.0.1:9/healthz", timeout=20)
    finally:
        await process.stop()
    assert str(failed.value) == (
        "balancer-T9 exited with status 2 before http://127.0.0.1:9/healthz was healthy: "
        "port must be <= 65535"
    )


def is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, consecutive: bool = False) -> list[int]:
    """Distinct ports nobody listens on right now (a run of consecutive ones when asked)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        wanted = list(range(first, first + count)) if consecutive else [first]
        if all(p < 65536 and p not in ports and is_free(p) for p in wanted):
            ports = wanted if consecutive else [*ports, first]
    return ports


def small_scenario(path: Path) -> Path:
    """Two tiers of two healthy servers on free ports."""
    ports = free_ports(4)
    lines = ['name = "small"', "seed = 1"]
    for i, port in enumerate(ports):
        lines += [
            "[[servers]]",
            f'name = "s{i}"',
            f'tier = "{"A" if i < 2 else "B"}"',
            f"port = {port}",
            "error_rate = 0.2",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_plan(tmp_path: Path, duration: float) -> RunPlan:
    return RunPlan(
        duration=duration,
        rps=20,
        scenario=str(small_scenario(tmp_path / "small.toml")),
        base_port=free_ports(2, consecutive=True)[0],
        control_port=free_ports(1)[0],
        grace=2.0,
        db=tmp_path / "runs.db",
    )


async def test_live_run_scores_every_tier_and_leaves_no_process(tmp_path: Path) -> None:
    """run_live plays each tier through its own balancer, names each tier's dashboard, records
    both live runs with all their attempts in the run store, and stops every process."""
    said: list[str] = []
    results = await run_live(run_plan(tmp_path, duration=1.0), on_status=said.append)
    assert [r.tier for r in results] == ["A", "B"]
    for result in results:
        assert result.report.sent == 20
        assert result.report.accepted == result.report.delivered
        assert f"{result.tier} dashboard: {result.url}/dashboard" in said
    conn = connect(tmp_path / "runs.db")
    try:
        stored = {run.tier: run for run in list_runs(conn)}
        attempts = {tier: count_attempts(conn, run_id=run.id) for tier, run in stored.items()}
    finally:
        conn.close()
    assert sorted(stored) == ["A", "B"]
    assert all(run.source == "live" and run.ended_at is not None for run in stored.values())
    world = scenario_files.load(str(tmp_path / "small.toml"))
    for tier, run in stored.items():  # the oracle bound rides along, for "% of oracle"
        assert run.totals["oracle_per_request"] == oracle_bound(world, tier).score_per_request
    for result in results:
        assert result.report.referee is not None
        assert attempts[result.tier] == result.report.referee["attempts"]
        assert result.report.penalised_attempts == 0
    assert children(os.getpid()) == []


async def test_cancelled_live_run_leaves_no_process(tmp_path: Path) -> None:
    """Cancelling run_live mid-load (Ctrl-C, SIGTERM) still stops every balancer."""
    answered = asyncio.Event()

    def on_progress(tier: str, progress: LoadProgress) -> None:
        if progress.done >= 5:
            answered.set()

    task = asyncio.create_task(run_live(run_plan(tmp_path, 60.0), on_progress=on_progress))
    await asyncio.wait_for(answered.wait(), 60)
    assert len(children(os.getpid())) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert children(os.getpid()) == []
