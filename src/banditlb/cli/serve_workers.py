"""`serve --workers N`: N balancer processes on one port, sharing what they learn via Redis.

Each worker is a full balancer (its own event loop, strategy, recorder run) bound with
SO_REUSEPORT, so the kernel spreads client connections over the workers; they share evidence
and send budget through `--state` (required). Worker i seeds its strategy with seed + i and
is labelled `LABEL-wI`. The parent only supervises: SIGTERM/SIGINT is passed on once to every
worker (each has its own process group, so a terminal's Ctrl-C reaches only the parent and
each worker gets one signal and its full grace); when a worker dies the others are stopped
and the parent exits with the dead worker's status (a supervisor such as systemd restarts).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import signal
import time
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from banditlb.cli.serve_cmd import ServePlan

log = logging.getLogger(__name__)


def _worker_main(plan: ServePlan) -> None:
    """One worker process: its own process group, logging, then the balancer."""
    os.setpgrp()
    from banditlb.cli.serve_cmd import run_plan
    from banditlb.logs import configure_logging

    configure_logging(plan.log_level)
    run_plan(plan)


def worker_plans(plan: ServePlan, workers: int) -> list[ServePlan]:
    """The plan of each worker: SO_REUSEPORT, its own seed and label."""
    plans = []
    for i in range(workers):
        settings = dataclasses.replace(plan.settings, seed=plan.settings.seed + i)
        plans.append(dataclasses.replace(plan, settings=settings, reuse_port=True, worker=i))
    return plans


def run_workers(plan: ServePlan, workers: int) -> int:
    """Start `workers` processes, supervise them until they end; the exit status."""
    context = multiprocessing.get_context("fork")  # nothing to pickle; no loop runs yet
    processes: list[BaseProcess] = [
        context.Process(target=_worker_main, args=(p,), name=f"banditlb-worker-{p.worker}")
        for p in worker_plans(plan, workers)
    ]
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for process in processes:
            process.start()
        log.info("workers started", extra={"workers": workers, "port": plan.settings.port})
        status = 0
        while any(p.is_alive() for p in processes):
            for process in processes:
                if not stopping and not process.is_alive() and process.exitcode is not None:
                    log.error(
                        "worker died; stopping the others",
                        extra={"worker": process.name, "exitcode": process.exitcode},
                    )
                    status = process.exitcode or 1
                    stop(signal.SIGTERM, None)
            time.sleep(0.2)
        for process in processes:
            process.join(timeout=5)
        return status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
