"""`banditlb sim`: sweep strategies × tiers × seeds in the simulator; print tables, write files."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from banditlb.cli import output
from banditlb.errors import ConfigError
from banditlb.game.router import DEFAULT_MAX_HOLD, RetryRules

if TYPE_CHECKING:  # the simulator, scipy and matplotlib load only when `sim` runs
    from banditlb.models.oracle import OracleResult
    from banditlb.sim.result import SimResult
    from banditlb.sim.sweep import SweepSpec


def parse_params(items: list[str]) -> dict[str, dict[str, Any]]:
    """`strategy.key=value` items into {strategy: {key: value}} (values coerced by the registry)."""
    params: dict[str, dict[str, Any]] = {}
    for item in items:
        name, dot, rest = item.partition(".")
        key, equals, value = rest.partition("=")
        if not (dot and equals and name and key):
            raise ConfigError(f"--param must look like strategy.key=value, got {item!r}")
        params.setdefault(name, {})[key] = value
    return params


RANDOM_PREFIX = "random:"


def sim(
    *,
    strategies: Annotated[
        str,
        typer.Option(
            "--strategies",
            "--strategy",
            help="'all' or a comma-separated list of strategy names (see `banditlb strategies`).",
        ),
    ] = "all",
    scenario: Annotated[
        str,
        typer.Option(
            help="A scenario file or built-in name, or generated ones: random:N or random:A-B."
        ),
    ] = "default",
    tiers: Annotated[
        str | None,
        typer.Option(
            "--tiers",
            "--tier",
            help="Comma-separated tiers to run (default: every tier of the scenario).",
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[
        int, typer.Option(help="Number of seeds (--seed-offset, ..., --seed-offset + N - 1).")
    ] = 30,
    seed_offset: Annotated[
        int, typer.Option(min=0, help="First seed (run more seeds later without repeats).")
    ] = 0,
    requests: Annotated[int, typer.Option(help="Client requests per run.")] = 10_000,
    penalty: Annotated[float, typer.Option(help="Points per attempt past the free ones.")] = 1.0,
    free_attempts: Annotated[int, typer.Option(help="Attempts per id that cost nothing.")] = 3,
    max_attempts: Annotated[int, typer.Option(help="Hard cap on attempts per id.")] = 10,
    max_hold: Annotated[
        float,
        typer.Option(help="Seconds a pacing strategy may hold a request's attempts (0: never)."),
    ] = DEFAULT_MAX_HOLD,
    rate: Annotated[
        float | None, typer.Option(help="Arrivals per second (default: the scenario's).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="A strategy parameter, strategy.key=value; repeatable."),
    ] = None,
    jobs: Annotated[int | None, typer.Option(help="Worker processes (default: all cores).")] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Run on Dask distributed instead of local processes: 'local' (a two-worker "
            "LocalCluster) or a scheduler address, tcp://HOST:8786."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Directory for CSV, Parquet and PNG files (made if missing).")
    ] = Path("results/sim"),
    db: Annotated[
        Path | None, typer.Option(help="Run store for the runs (default: the user data dir).")
    ] = None,
    store: Annotated[bool, typer.Option(help="Save every simulated run in the run store.")] = True,
    store_attempts: Annotated[
        bool,
        typer.Option(
            help="Also store every run's attempts, for replay (runs each simulation again,"
            " traced; a full sweep would be tens of millions of rows)."
        ),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON instead of tables.")
    ] = False,
    reference: Annotated[
        str | None,
        typer.Option(
            help="With random:A-B, the strategy whose losses are counted (default: planner"
            " when swept, else the first)."
        ),
    ] = None,
) -> None:
    """Simulate every strategy on every tier for many seeds and compare them with the oracle.

    With `--scenario random:A-B` every generated scenario A..B is swept in one go (one progress
    bar); the summary is then per scenario and overall (see `banditlb.sim.robustness`).
    """
    from banditlb.sim import plots, report
    from banditlb.sim.sweep import SweepSpec, parse_strategies, run_sweep, seeds_from_count
    from banditlb.sim.world import resolve_scenario

    console = output.console()
    if jobs is not None and jobs < 1:  # checked here too, so no progress bar is left behind
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    if cluster is not None:
        from banditlb.sim.dask_pool import check_cluster_address

        check_cluster_address(cluster)
        if jobs is not None:
            raise ConfigError("--jobs is for local processes; with --cluster the workers decide")
    if store_attempts and not store:
        raise ConfigError("--store-attempts stores into the run store; drop --no-store")
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise ConfigError(f"--rate must be a finite number > 0 requests/s, got {rate!r}")
    if scenario.startswith(RANDOM_PREFIX):
        from banditlb.cli.sim_family import sim_family

        if store_attempts:
            raise ConfigError("--store-attempts is not available with random: scenarios")
        if json_output:
            raise ConfigError("--json is not available with random: scenarios (see robustness.csv)")
        sim_family(
            scenario.removeprefix(RANDOM_PREFIX),
            console=console,
            strategies=parse_strategies(strategies),
            tiers=None if tiers is None else parse_tiers(tiers, ("T2", "T3")),
            seeds=seeds_from_count(seeds, seed_offset),
            requests=requests,
            rules=RetryRules(free_attempts, penalty, max_attempts, max_hold),
            rate=rate,
            params=parse_params(param or []),
            jobs=jobs,
            cluster=cluster,
            out=out,
            db=db if store else None,
            store=store,
            reference=reference,
        )
        return
    if reference is not None:
        raise ConfigError("--reference goes with --scenario random:A-B")
    world = resolve_scenario(scenario)
    spec = SweepSpec(
        scenario=world,
        strategies=parse_strategies(strategies),
        tiers=parse_tiers(tiers, world.tiers()),
        seeds=seeds_from_count(seeds, seed_offset),
        requests=requests,
        rules=RetryRules(free_attempts, penalty, max_attempts, max_hold),
        rate=rate,
        params=parse_params(param or []),
    )
    check_out_dir(out)
    if store:  # a bad --db fails now, not after the whole sweep
        from banditlb.store import connect, default_path

        connect(db or default_path()).close()
    started = time.perf_counter()
    wall_started = time.time()  # the sweep label's time stamp
    columns = (
        TextColumn("[bold]simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=output.console(stderr=True), transient=True, disable=json_output
    ) as progress:
        bar = progress.add_task("runs", total=len(spec.tasks()))

        def advance(_: SimResult) -> None:
            progress.advance(bar)

        result = run_sweep(spec, jobs=jobs, on_result=advance, cluster=cluster)
    elapsed = time.perf_counter() - started
    summaries = report.summarize(result.runs, result.oracles)
    if not json_output:
        for tier, rows in summaries.items():
            console.print(report.tier_table(tier, rows, result.oracles.get(tier)))
    written = [
        *report.write_runs(result.runs, out),
        report.write_summary(summaries, out),
        plots.plot_regret(result.runs, result.oracles, out / "regret.png"),
        plots.plot_scores(summaries, result.oracles, out / "scores.png"),
    ]
    label = ""
    if store:
        from banditlb.store.sweeps import new_sweep_label

        path, label = save_runs(
            result.runs,
            result.oracles,
            db,
            label=new_sweep_label(wall_started),
            trace_spec=spec if store_attempts else None,
        )
        written.append(path)
    total = len(result.runs) * spec.requests
    if json_output:
        output.print_json(
            {
                "scenario": world.name,
                "tiers": list(spec.tiers),
                "seeds": list(spec.seeds),
                "requests": spec.requests,
                "oracle": {t: o.score_per_request for t, o in result.oracles.items()},
                "summary": [row.as_row() for rows in summaries.values() for row in rows],
                "written": [str(path) for path in written],
                "sweep": label or None,
            }
        )
        return
    console.print(
        f"{output.plural(len(result.runs), 'run')}, {output.plural(total, 'request')} in"
        f" {elapsed:.1f} s; wrote " + ", ".join(str(path) for path in written),
        highlight=False,
    )
    if label:
        console.print(f"stored as sweep {label}", highlight=False)


def parse_tiers(text: str | None, known: Sequence[str]) -> tuple[str, ...]:
    """`--tiers`: the scenario's tiers when not given; a tier named twice is run once."""
    if text is None:
        return tuple(known)
    tiers = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not tiers:
        raise ConfigError(f"--tiers {text!r} names no tier; the scenario has {', '.join(known)}")
    return tiers


def check_out_dir(out: Path) -> None:
    """`--out` must be a folder that exists or can be made."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a file; give a folder for the results")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {str(out)!r}: cannot make the folder: {exc.strerror}") from None


def save_runs(
    runs: Sequence[SimResult],
    oracles: Mapping[str, OracleResult],
    db: Path | None,
    *,
    label: str | None = None,
    trace_spec: SweepSpec | None = None,
    oracle_for: Callable[[SimResult], OracleResult | None] | None = None,
) -> tuple[Path, str]:
    """Store every run (totals and regret curve) with one sweep label, one transaction per run.

    Returns the database path and the label (`sweep-<UTC start>-xxxx` unless given). With
    `trace_spec` (the sweep's spec) each run is simulated again with tracing, deterministically,
    and stored from that traced run together with its attempts, for replay. `oracle_for` finds
    a run's bound when runs come from many scenarios (default: `oracles` by tier).
    """
    from banditlb.sim.sweep import run_traced
    from banditlb.store import connect, default_path, store_sim_result
    from banditlb.store.sim_results import sim_attempts, sim_result_fields
    from banditlb.store.sweeps import check_sweep_label, new_sweep_label

    sweep = check_sweep_label(label) if label is not None else new_sweep_label(time.time())
    path = db or default_path()
    conn = connect(path)
    try:
        for run in runs:
            oracle = oracles.get(run.tier) if oracle_for is None else oracle_for(run)
            bound = None if oracle is None else oracle.score_per_request
            started = time.time()
            if trace_spec is None:
                stored, attempts = run, None
            else:
                stored, trace = run_traced(trace_spec, run.strategy, run.tier, run.seed)
                attempts = sim_attempts(trace, arm_names=stored.arm_names, started_at=started)
            store_sim_result(
                conn,
                **sim_result_fields(stored, oracle_per_request=bound),
                started_at=started,
                label=sweep,
                attempts=attempts or (),
            )
    finally:
        conn.close()
    return path, sweep


def register(app: typer.Typer) -> None:
    app.command("sim")(sim)
