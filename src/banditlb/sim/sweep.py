"""Strategies × tiers × seeds, in parallel across cores; each run depends only on its seed."""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from banditlb.errors import ConfigError
from banditlb.game.router import RetryRules
from banditlb.models.oracle import OracleResult, oracle_bound
from banditlb.models.spec import Scenario
from banditlb.sim.dask_pool import dask_pool
from banditlb.sim.engine import AttemptRecord, simulate, simulate_traced
from banditlb.sim.result import SimResult
from banditlb.sim.world import tier_specs
from banditlb.strategies.registry import make_config, strategy_names

ALL = "all"


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """What to run: every strategy on every tier for every seed, `requests` requests each.

    `params` maps a strategy name to its parameters (strategies not named use defaults).
    """

    scenario: Scenario
    strategies: tuple[str, ...]
    tiers: tuple[str, ...]
    seeds: tuple[int, ...]
    requests: int
    rules: RetryRules = field(default_factory=RetryRules)
    rate: float | None = None
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.strategies or not self.tiers or not self.seeds:
            raise ConfigError("a sweep needs at least one strategy, one tier and one seed")
        if self.requests < 1:
            raise ConfigError(f"--requests must be >= 1, got {self.requests!r}")
        for name in self.strategies:
            make_config(name, self.params.get(name))
        for name in self.params:
            if name not in self.strategies:
                raise ConfigError(f"parameters given for strategy {name!r}, which is not swept")
        for tier in self.tiers:
            tier_specs(self.scenario, tier)

    @property
    def arrival_rate(self) -> float:
        return self.scenario.rate if self.rate is None else self.rate

    @property
    def horizon(self) -> float:
        """Virtual seconds of arrivals in one run: the oracle averages over this."""
        return self.requests / self.arrival_rate

    def tasks(self) -> list[tuple[str, str, int]]:
        """(strategy, tier, seed) for every run, in report order."""
        return [(s, t, seed) for t in self.tiers for s in self.strategies for seed in self.seeds]


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Every run (sorted by tier, strategy, seed) and the oracle bound of each tier."""

    spec: SweepSpec
    runs: tuple[SimResult, ...]
    oracles: Mapping[str, OracleResult]


def parse_strategies(text: str) -> tuple[str, ...]:
    """'all' or a comma-separated list of registry names; unknown names are a ConfigError."""
    if text.strip() == ALL:
        return tuple(strategy_names())
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    known = strategy_names()
    for name in names:
        if name not in known:
            raise ConfigError(
                f"unknown strategy {name!r}; choose 'all' or any of: {', '.join(known)}"
            )
    if not names:
        raise ConfigError("no strategies given; use 'all' or a comma-separated list")
    return names


def _run_one(spec: SweepSpec, strategy: str, tier: str, seed: int) -> SimResult:
    return simulate(
        spec.scenario,
        tier,
        strategy,
        seed=seed,
        requests=spec.requests,
        params=spec.params.get(strategy),
        rules=spec.rules,
        rate=spec.rate,
    )


def run_traced(
    spec: SweepSpec, strategy: str, tier: str, seed: int
) -> tuple[SimResult, list[AttemptRecord]]:
    """One task of the sweep, with every attempt's record (for replay): `simulate_traced` gets
    the arguments `_run_one` gives `simulate`, so the result is the sweep's own run's."""
    return simulate_traced(
        spec.scenario,
        tier,
        strategy,
        seed=seed,
        requests=spec.requests,
        params=spec.params.get(strategy),
        rules=spec.rules,
        rate=spec.rate,
    )


_worker_spec: SweepSpec | None = None
"""The sweep a worker process serves: sent once at start-up, not pickled with every task."""


def _init_worker(spec: SweepSpec) -> None:
    global _worker_spec  # noqa: PLW0603 - one spec per worker process, set by the pool
    _worker_spec = spec


def _run_in_worker(strategy: str, tier: str, seed: int) -> tuple[SimResult, float]:
    """One run and the seconds it took (the scheduler's cost estimate for its group)."""
    assert _worker_spec is not None, "worker started without _init_worker"
    started = time.perf_counter()
    result = _run_one(_worker_spec, strategy, tier, seed)
    return result, time.perf_counter() - started


def _oracle_in_worker(tier: str) -> OracleResult:
    assert _worker_spec is not None, "worker started without _init_worker"
    return _oracle(_worker_spec, tier)


IN_FLIGHT_PER_WORKER = 2
"""Tasks queued per worker: enough that none waits for the next, few enough to keep choosing."""


def _run_costliest_first(
    pool: Executor,
    tasks: Sequence[tuple[str, str, int]],
    workers: int,
    on_result: Callable[[SimResult], None] | None,
) -> list[SimResult]:
    """Run `tasks` on `pool`, always sending next a seed of the (strategy, tier) whose runs
    have taken longest so far (groups not yet timed first, in task order).

    Runs of one strategy on one tier cost about the same whatever the seed, and costs differ
    ~15x between groups; ending on the cheapest runs lets every worker finish together.
    """
    seeds: dict[tuple[str, str], deque[int]] = {}
    for strategy, tier, seed in tasks:
        seeds.setdefault((strategy, tier), deque()).append(seed)
    spent: dict[tuple[str, str], list[float]] = {group: [0.0, 0.0] for group in seeds}

    def cost(group: tuple[str, str]) -> float:
        seconds, runs = spent[group]
        return seconds / runs if runs else math.inf

    runs: list[SimResult] = []
    in_flight: dict[Future[tuple[SimResult, float]], tuple[str, str]] = {}
    while seeds or in_flight:
        while seeds and len(in_flight) < IN_FLIGHT_PER_WORKER * workers:
            group = max(seeds, key=cost)
            waiting = seeds[group]
            future = pool.submit(_run_in_worker, *group, waiting.popleft())
            in_flight[future] = group
            if not waiting:
                del seeds[group]
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            group = in_flight.pop(future)
            result, seconds = future.result()
            spent[group][0] += seconds
            spent[group][1] += 1
            runs.append(result)
            if on_result is not None:
                on_result(result)
    return runs


def run_sweep(
    spec: SweepSpec,
    *,
    jobs: int | None = None,
    on_result: Callable[[SimResult], None] | None = None,
    cluster: str | None = None,
) -> SweepResult:
    """Run every task on `jobs` processes (default: all cores; 1 runs in this process).

    Results do not depend on `jobs` or on completion order: each run is fixed by its seed.
    `cluster` ('local' or tcp://HOST:PORT) runs the same tasks on Dask instead (`dask_pool`).
    Each worker gets the spec once (pool initializer); a task is just (strategy, tier, seed),
    0.02-0.3 s of work, sent costliest first (see `_run_costliest_first`) so every core stays
    busy to the end. The tiers' oracle bounds are computed in the pool too, alongside the runs.
    """
    workers = (os.cpu_count() or 1) if jobs is None else jobs
    if workers < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs!r}")
    tasks = spec.tasks()
    runs: list[SimResult] = []
    if cluster is not None:  # Dask distributed: the same tasks, the same functions
        with dask_pool(cluster, _init_worker, (spec,)) as (pool, workers):
            bounds = {tier: pool.submit(_oracle_in_worker, tier) for tier in spec.tiers}
            runs = _run_costliest_first(pool, tasks, workers, on_result)
            oracles = {tier: bound.result() for tier, bound in bounds.items()}
    elif workers == 1 or len(tasks) == 1:
        for task in tasks:
            runs.append(_run_one(spec, *task))
            if on_result is not None:
                on_result(runs[-1])
        oracles = compute_oracles(spec)
    else:
        workers = min(workers, len(tasks))
        with ProcessPoolExecutor(
            max_workers=workers, initializer=_init_worker, initargs=(spec,)
        ) as pool:
            bounds = {tier: pool.submit(_oracle_in_worker, tier) for tier in spec.tiers}
            runs = _run_costliest_first(pool, tasks, workers, on_result)
            oracles = {tier: bound.result() for tier, bound in bounds.items()}
    order = {task: i for i, task in enumerate(tasks)}
    runs.sort(key=lambda r: order[(r.strategy, r.tier, r.seed)])
    return SweepResult(spec, tuple(runs), oracles)


def compute_oracles(spec: SweepSpec) -> dict[str, OracleResult]:
    """Each tier's LP bound over the runs' horizon, with the sweep's penalty and rate."""
    return {tier: _oracle(spec, tier) for tier in spec.tiers}


def _oracle(spec: SweepSpec, tier: str) -> OracleResult:
    return oracle_bound(
        spec.scenario,
        tier,
        penalty=spec.rules.penalty,
        free_attempts=spec.rules.free_attempts,
        max_attempts=spec.rules.max_attempts,
        horizon=spec.horizon,
        rate=spec.rate,
    )


def seeds_from_count(count: int, first: int = 0) -> tuple[int, ...]:
    """Seeds first, first+1, ..., first+count-1."""
    if count < 1:
        raise ConfigError(f"--seeds must be >= 1, got {count!r}")
    return tuple(range(first, first + count))


def group(runs: Sequence[SimResult]) -> dict[tuple[str, str], list[SimResult]]:
    """Runs keyed by (tier, strategy), in first-seen order."""
    grouped: dict[tuple[str, str], list[SimResult]] = {}
    for run in runs:
        grouped.setdefault((run.tier, run.strategy), []).append(run)
    return grouped
