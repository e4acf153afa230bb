"""A sweep over many scenarios at once (e.g. generated seeds 0–99), on every core.

Each scenario is an ordinary `SweepSpec` (same strategies, seeds, requests and rules); a task
is (scenario index, strategy, tier, seed), so one pool and one progress bar serve them all, and
each (scenario, tier) gets its own oracle bound, computed in the pool alongside the runs.
Results do not depend on the number of workers: each run is fixed by its scenario and seed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from banditlb.errors import ConfigError
from banditlb.models.oracle import OracleResult
from banditlb.sim.dask_pool import dask_pool
from banditlb.sim.result import SimResult
from banditlb.sim.sweep import IN_FLIGHT_PER_WORKER, SweepSpec, _oracle, _run_one

Task = tuple[int, str, str, int]
"""(scenario index, strategy, tier, seed)."""


@dataclass(frozen=True, slots=True)
class FamilyResult:
    """Every run in task order and each (scenario name, tier)'s oracle bound."""

    specs: tuple[SweepSpec, ...]
    runs: tuple[SimResult, ...]
    oracles: dict[tuple[str, str], OracleResult]

    def bound(self, run: SimResult) -> OracleResult | None:
        return self.oracles.get((run.scenario, run.tier))


def family_tasks(specs: Sequence[SweepSpec]) -> list[Task]:
    """Every run of every scenario, scenario by scenario in the sweeps' own order."""
    return [(i, *task) for i, spec in enumerate(specs) for task in spec.tasks()]


def check_family(specs: Sequence[SweepSpec]) -> None:
    """Scenario names must be unique: runs and bounds are keyed by them."""
    if not specs:
        raise ConfigError("a family sweep needs at least one scenario")
    names = [spec.scenario.name for spec in specs]
    if len(set(names)) != len(names):
        raise ConfigError("every scenario of a family sweep needs a distinct name")


_worker_specs: tuple[SweepSpec, ...] = ()
"""The family a worker process serves: sent once at start-up, not with every task."""


def _init_worker(specs: tuple[SweepSpec, ...]) -> None:
    global _worker_specs  # noqa: PLW0603 - one family per worker process, set by the pool
    _worker_specs = specs


def _run_in_worker(index: int, strategy: str, tier: str, seed: int) -> SimResult:
    return _run_one(_worker_specs[index], strategy, tier, seed)


def _oracle_in_worker(index: int, tier: str) -> OracleResult:
    return _oracle(_worker_specs[index], tier)


def run_family(
    specs: Sequence[SweepSpec],
    *,
    jobs: int | None = None,
    on_result: Callable[[SimResult], None] | None = None,
    cluster: str | None = None,
) -> FamilyResult:
    """Run every task of every scenario on `jobs` processes (default all cores; 1 = here),
    or on the Dask `cluster` ('local' or tcp://HOST:PORT) when given."""
    check_family(specs)
    family = tuple(specs)
    workers = (os.cpu_count() or 1) if jobs is None else jobs
    if workers < 1:
        raise ConfigError(f"jobs must be >= 1, got {jobs!r}")
    tasks = family_tasks(family)
    bound_keys = [(i, tier) for i, spec in enumerate(family) for tier in spec.tiers]
    runs: list[SimResult] = []
    oracles: dict[tuple[str, str], OracleResult] = {}
    if cluster is not None:  # Dask distributed: the same tasks, the same functions
        with dask_pool(cluster, _init_worker, (family,)) as (pool, workers):
            bounds = {
                (family[i].scenario.name, tier): pool.submit(_oracle_in_worker, i, tier)
                for i, tier in bound_keys
            }
            runs = _run_bounded(pool, tasks, workers, on_result)
            oracles = {key: future.result() for key, future in bounds.items()}
    elif workers == 1:
        for index, strategy, tier, seed in tasks:
            runs.append(_run_one(family[index], strategy, tier, seed))
            if on_result is not None:
                on_result(runs[-1])
        for index, tier in bound_keys:
            oracles[(family[index].scenario.name, tier)] = _oracle(family[index], tier)
    else:
        with ProcessPoolExecutor(
            max_workers=workers, initializer=_init_worker, initargs=(family,)
        ) as pool:
            bounds = {
                (family[i].scenario.name, tier): pool.submit(_oracle_in_worker, i, tier)
                for i, tier in bound_keys
            }
            runs = _run_bounded(pool, tasks, workers, on_result)
            oracles = {key: future.result() for key, future in bounds.items()}
    order = {(family[i].scenario.name, s, t, seed): n for n, (i, s, t, seed) in enumerate(tasks)}
    runs.sort(key=lambda r: order[(r.scenario, r.strategy, r.tier, r.seed)])
    return FamilyResult(family, tuple(runs), oracles)


def _run_bounded(
    pool: Executor,
    tasks: Sequence[Task],
    workers: int,
    on_result: Callable[[SimResult], None] | None,
) -> list[SimResult]:
    """Keep a few tasks per worker in flight, in task order; thousands of short tasks even
    out on their own, so no cost-based ordering is needed here."""
    pending = list(reversed(tasks))
    in_flight: set[Future[SimResult]] = set()
    runs: list[SimResult] = []
    while pending or in_flight:
        while pending and len(in_flight) < IN_FLIGHT_PER_WORKER * workers:
            in_flight.add(pool.submit(_run_in_worker, *pending.pop()))
        done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            runs.append(future.result())
            if on_result is not None:
                on_result(runs[-1])
    return runs
