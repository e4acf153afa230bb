"""A live run: the fleet in-process, one balancer subprocess per tier, open-loop load on all
tiers at once, each tier scored by the referee. Nothing is left running afterwards, even when
the run is cancelled (Ctrl-C, SIGTERM): balancers are stopped group by group in `finally`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from banditlb.errors import ConfigError
from banditlb.fleet import DEFAULT_CONTROL_PORT, Fleet
from banditlb.harness.load import BodyFormat, LoadPlan, LoadProgress, LoadReport, run_load
from banditlb.harness.processes import (
    ManagedProcess,
    banditlb_command,
    start_process,
    wait_healthy,
)
from banditlb.scenarios import files as scenario_files
from banditlb.strategies.registry import DEFAULT_STRATEGY, make_config


@dataclass(frozen=True, slots=True)
class RunPlan:
    """A live run's parameters; validated on construction."""

    duration: float = 60.0
    strategy: str = DEFAULT_STRATEGY
    params: Mapping[str, str] = field(default_factory=dict)
    rps: float = 10.0
    scenario: str = scenario_files.DEFAULT_SCENARIO
    base_port: int = 8001
    control_port: int = DEFAULT_CONTROL_PORT
    host: str = "127.0.0.1"
    seed: int = 0
    penalty: float = 1.0
    tiers: tuple[str, ...] = ()  # empty: every tier of the scenario
    body: BodyFormat = "raw"
    grace: float = 3.0  # seconds between SIGTERM and SIGKILL when stopping a balancer
    db: Path | None = None  # run store the balancers record into (None: the user data dir)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration) and self.duration > 0):
            raise ConfigError(
                f"--duration must be a finite number of seconds > 0, got {self.duration!r}"
            )
        if not (math.isfinite(self.rps) and self.rps > 0):
            raise ConfigError(f"--rps must be a finite number > 0, got {self.rps!r}")
        if not 1 <= self.base_port <= 65535:
            raise ConfigError(f"--base-port must be between 1 and 65535, got {self.base_port}")
        if not 1 <= self.control_port <= 65535:
            raise ConfigError(
                f"--control-port must be between 1 and 65535, got {self.control_port}"
            )
        if not (math.isfinite(self.penalty) and self.penalty >= 0):
            raise ConfigError(f"--penalty must be a finite number >= 0, got {self.penalty!r}")
        make_config(
            self.strategy, self.params
        )  # unknown strategy or parameter: fail before starting
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def requests(self) -> int:
        return max(1, round(self.duration * self.rps))


@dataclass(frozen=True, slots=True)
class TierResult:
    """One tier's load report, with what played it."""

    tier: str
    strategy: str
    url: str
    report: LoadReport


TierProgress = Callable[[str, LoadProgress], None]
Status = Callable[[str], None]


def serve_command(plan: RunPlan, tier: str, port: int, seed: int) -> list[str]:
    """argv for one tier's balancer (`banditlb serve --tier ...`)."""
    args = [
        "serve",
        "--tier", tier,
        "--scenario", str(plan.scenario),
        "--host", plan.host,
        "--upstream-host", plan.host,
        "--port", str(port),
        "--strategy", plan.strategy,
        "--seed", str(seed),
        "--penalty", repr(plan.penalty),
        "--label", tier,
    ]  # fmt: skip
    for key, value in plan.params.items():
        args += ["--param", f"{key}={value}"]
    if plan.db is not None:
        args += ["--db", str(plan.db)]
    return banditlb_command(*args)


async def _start_balancers(
    plan: RunPlan, tiers: tuple[str, ...], processes: list[ManagedProcess]
) -> list[str]:
    urls = []
    for i, tier in enumerate(tiers):
        port = plan.base_port + i
        command = serve_command(plan, tier, port, plan.seed + i)
        processes.append(await start_process(f"balancer-{tier}", command))
        urls.append(f"http://{plan.host}:{port}")
    await asyncio.gather(
        *(wait_healthy(p, f"{url}/healthz") for p, url in zip(processes, urls, strict=True))
    )
    return urls


async def _stop_all(processes: list[ManagedProcess], grace: float) -> None:
    try:
        await asyncio.gather(*(p.stop(grace) for p in processes), return_exceptions=True)
    finally:
        for process in processes:
            process.kill_now()  # cancelled while stopping: make sure nothing survives


async def run_live(
    plan: RunPlan,
    *,
    on_progress: TierProgress | None = None,
    on_status: Status | None = None,
) -> list[TierResult]:
    """Start the fleet and one balancer per tier, load every tier for the duration, score."""
    say = on_status or (lambda _text: None)
    scenario = scenario_files.load(plan.scenario)
    tiers = plan.tiers or tuple(scenario.tiers())
    for tier in tiers:
        if not scenario.tier(tier):
            raise ConfigError(f"tier {tier!r} is not in scenario {scenario.name!r}")
    last_port = plan.base_port + len(tiers) - 1
    if last_port > 65535:
        raise ConfigError(
            f"--base-port {plan.base_port} leaves no room for {_plural(len(tiers), 'balancer')} "
            f"(one port per tier, up to {last_port}); the last port must be <= 65535"
        )
    processes: list[ManagedProcess] = []
    say(
        f"starting the fleet ({_plural(len(scenario.servers), 'server')},"
        f" control port {plan.control_port})"
    )
    async with Fleet(scenario, host=plan.host, control_port=plan.control_port) as fleet:
        try:
            say(f"starting {_plural(len(tiers), 'balancer')} from port {plan.base_port}")
            urls = await _start_balancers(plan, tiers, processes)
            for tier, url in zip(tiers, urls, strict=True):
                say(f"{tier} dashboard: {url}/dashboard")
            say(f"running {_plural(plan.requests, 'request')} per tier at {plan.rps:g} req/s")
            loads = [
                LoadPlan(
                    url=f"{url}/",
                    rps=plan.rps,
                    requests=plan.requests,
                    body=plan.body,
                    seed=plan.seed + i,
                    referee=fleet.control_url,
                    tier=tier,
                    penalty=plan.penalty,
                )
                for i, (tier, url) in enumerate(zip(tiers, urls, strict=True))
            ]
            reports = await asyncio.gather(
                *(
                    run_load(load, on_progress=_tagged(on_progress, load.tier or ""))
                    for load in loads
                )
            )
        finally:
            say("stopping balancers and fleet")
            await _stop_all(processes, plan.grace)
    return [
        TierResult(tier, plan.strategy, url, report)
        for tier, url, report in zip(tiers, urls, reports, strict=True)
    ]


def _tagged(on_progress: TierProgress | None, tier: str) -> Callable[[LoadProgress], None] | None:
    if on_progress is None:
        return None

    def report(progress: LoadProgress) -> None:
        on_progress(tier, progress)

    return report


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun if count == 1 else noun + 's'}"
