"""Child processes for live runs: each in its own process group, stopped for sure.

`stop()` sends SIGTERM to the whole group, waits `grace` seconds, then SIGKILLs it, so a
child's own children go too. Stderr goes to a temporary file whose tail explains a failed start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from typing import IO

import aiohttp

from banditlb.errors import BanditLBError

CLI = ("-c", "from banditlb.cli.main import main; main()")


class ProcessError(BanditLBError):
    """A child process failed to start or to become healthy."""


def banditlb_command(*args: str) -> list[str]:
    """argv running the banditlb CLI with this interpreter."""
    return [sys.executable, *CLI, *args]


class ManagedProcess:
    """One child in its own process group."""

    def __init__(
        self,
        name: str,
        process: asyncio.subprocess.Process,
        log: IO[bytes],
    ) -> None:
        self.name = name
        self.process = process
        self._log = log

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def log_tail(self, limit: int = 2000) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-limit:].strip()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def kill_now(self) -> None:
        """SIGKILL the group at once (last resort; does not wait)."""
        if self.running:
            self._signal_group(signal.SIGKILL)

    async def stop(self, grace: float = 3.0) -> None:
        """SIGTERM the group, then SIGKILL it after `grace` seconds; always reaps the child."""
        try:
            if self.running:
                self._signal_group(signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.process.wait(), grace)
            self._signal_group(signal.SIGKILL)  # stragglers in the group, if any
            if self.running:
                await self.process.wait()
        finally:
            self._log.close()


async def start_process(name: str, argv: Sequence[str]) -> ManagedProcess:
    """Start `argv` in a new session (so its own process group); stdout is discarded."""
    # The log outlives this function: ManagedProcess.stop() closes (and so deletes) it.
    log = tempfile.TemporaryFile(prefix=f"banditlb-{name}-")  # noqa: SIM115
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    except OSError as exc:
        log.close()
        raise ProcessError(f"{name}: cannot start {argv[0]}: {exc}") from None
    return ManagedProcess(name, process, log)


async def wait_healthy(
    process: ManagedProcess, url: str, *, timeout: float = 20.0, interval: float = 0.1
) -> None:
    """Poll `url` until it answers 200; fail early if the process exits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    probe = aiohttp.ClientTimeout(total=1.0)
    async with aiohttp.ClientSession(timeout=probe) as session:
        while True:
            if not process.running:
                raise ProcessError(
                    f"{process.name} exited with status {process.process.returncode} before "
                    f"{url} was healthy:{_why(process.log_tail())}"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            if loop.time() > deadline:
                raise ProcessError(f"{process.name}: {url} not healthy after {timeout:g} s")
            await asyncio.sleep(interval)


def _why(tail: str) -> str:
    """A child's stderr tail for an error message: its own one-line `error: ...` if it ended
    with one (kept on the same line), else the whole tail on the lines below."""
    lines = tail.splitlines()
    if lines and lines[-1].startswith("error: "):
        return " " + lines[-1].removeprefix("error: ")
    return "\n" + tail
