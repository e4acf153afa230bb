"""`banditlb sim --scenario random:A-B`: every generated scenario A..B in one sweep, summarised
per scenario and overall (the robustness summary), written to CSV/PNG and the run store."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from banditlb.errors import ConfigError
from banditlb.game.router import RetryRules
from banditlb.sim.result import SimResult


def sim_family(
    seeds_text: str,
    *,
    console: Console,
    strategies: tuple[str, ...],
    tiers: tuple[str, ...] | None,
    seeds: tuple[int, ...],
    requests: int,
    rules: RetryRules,
    rate: float | None,
    params: Mapping[str, Mapping[str, Any]],
    jobs: int | None,
    out: Path,
    cluster: str | None = None,
    db: Path | None,
    store: bool,
    reference: str | None,
) -> None:
    """Generate, sweep, summarise, write and store; see the module docstring."""
    from banditlb.cli.sim_cmd import check_out_dir, save_runs
    from banditlb.models.generate import TIERS, generate, parse_seeds
    from banditlb.sim import plots, report, robustness
    from banditlb.sim.family import family_tasks, run_family
    from banditlb.sim.sweep import SweepSpec

    if reference is not None and reference not in strategies:
        raise ConfigError(f"--reference {reference!r} is not among the swept strategies")
    generated = parse_seeds(seeds_text)
    chosen = TIERS if tiers is None else tiers
    specs = [
        SweepSpec(
            scenario=generate(seed, chosen),
            strategies=strategies,
            tiers=chosen,
            seeds=seeds,
            requests=requests,
            rules=rules,
            rate=rate,
            params=params,
        )
        for seed in generated
    ]
    check_out_dir(out)
    if store:
        from banditlb.store import connect, default_path

        connect(db or default_path()).close()
    started = time.perf_counter()
    wall_started = time.time()
    columns = (
        TextColumn("[bold]simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task("runs", total=len(family_tasks(specs)))

        def advance(_: SimResult) -> None:
            progress.advance(bar)

        result = run_family(specs, jobs=jobs, on_result=advance, cluster=cluster)
    elapsed = time.perf_counter() - started
    bounds = {key: oracle.score_per_request for key, oracle in result.oracles.items()}
    assessed = robustness.assess(result.runs, bounds, reference=reference)
    span = f"random:{generated.start}-{generated.stop - 1}"
    console.print(robustness.scenario_table(assessed))
    title = (
        f"{span} ({len(assessed.scores)} scenarios, {len(seeds)} seeds × {requests:,} requests):"
        " % of oracle"
    )
    console.print(robustness.spread_table(assessed, title))
    console.print(robustness.verdict(assessed), highlight=False)
    pcts = {
        name: [row[name].pct_oracle for row in assessed.scores.values()]
        for name in assessed.strategies
    }
    written = [
        *report.write_runs(result.runs, out),
        write_rows(robustness.rows(assessed), out / "robustness.csv"),
        plots.plot_ecdf(pcts, out / "ecdf.png", f"{span}: % of oracle per scenario"),
    ]
    label = ""
    if store:
        from banditlb.store.sweeps import new_sweep_label

        path, label = save_runs(
            result.runs,
            {},
            db,
            label=new_sweep_label(wall_started),
            oracle_for=result.bound,
        )
        written.append(path)
    total = len(result.runs) * requests
    console.print(
        f"{len(result.runs)} runs, {total:,} requests in {elapsed:.1f} s; wrote "
        + ", ".join(str(path) for path in written),
        highlight=False,
    )
    if label:
        console.print(f"stored as sweep {label}", highlight=False)


def write_rows(rows: Sequence[Mapping[str, object]], path: Path) -> Path:
    """Rows to a CSV file (the report module's writer)."""
    from banditlb.sim.report import _write_csv

    return _write_csv(rows, path)
