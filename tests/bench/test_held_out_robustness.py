"""Robustness: the planner against five rivals on generated scenarios it was never tuned on.

Held out: generated seeds 1000–1199 (both tiers: 400 scenarios); tuning uses seeds 0–99
(`banditlb sim --scenario random:0-99 --strategies planner,round_robin,...`). Sized to finish in
about 10 minutes on 2 idle cores (measured: seeds 1000-1039, 6 seeds x 2,000 requests, used
308 CPU seconds; 400 scenarios x 6 x 1,500 ≈ 1,200 CPU s); every count can be changed by
environment variables:

    BANDITLB_ROBUST_SEEDS=1000-1199     generated scenarios (inclusive range)
    BANDITLB_ROBUST_TIERS=T2,T3
    BANDITLB_ROBUST_SIM_SEEDS=6         simulator seeds per scenario (for each CI and Welch test)
    BANDITLB_ROBUST_REQUESTS=1500       requests per run (150 s at 10 requests/s)
    BANDITLB_ROBUST_OUT=results/sim     where robustness-ecdf.png and robustness.csv go
"""

from __future__ import annotations

import csv
import os
import resource
import time
from pathlib import Path

import pytest
from rich.console import Console

from banditlb.game.router import RetryRules
from banditlb.models.generate import generate, parse_seeds
from banditlb.sim import plots, robustness
from banditlb.sim.family import run_family
from banditlb.sim.sweep import SweepSpec, seeds_from_count

STRATEGIES = (
    "planner",
    "round_robin",
    "thompson",
    "masked_thompson",
    "blocking",
    "primal_dual_bwk",
)
HELD_OUT = "1000-1199"


@pytest.mark.bench
def test_robustness_on_held_out_generated_scenarios() -> None:
    """Prints % of oracle (min, p10, median) per strategy, the planner's worst 429 share and its
    significant losses to the best other strategy; writes the ECDF plot and a CSV."""
    span = os.environ.get("BANDITLB_ROBUST_SEEDS", HELD_OUT)
    tiers = tuple(os.environ.get("BANDITLB_ROBUST_TIERS", "T2,T3").split(","))
    sim_seeds = int(os.environ.get("BANDITLB_ROBUST_SIM_SEEDS", "6"))
    requests = int(os.environ.get("BANDITLB_ROBUST_REQUESTS", "1500"))
    out = Path(os.environ.get("BANDITLB_ROBUST_OUT", "results/sim"))
    specs = [
        SweepSpec(
            generate(seed, tiers),
            STRATEGIES,
            tiers,
            seeds_from_count(sim_seeds),
            requests,
            RetryRules(),
        )
        for seed in parse_seeds(span)
    ]
    started, cpu_before = time.perf_counter(), _children_cpu()
    result = run_family(specs)
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    bounds = {key: oracle.score_per_request for key, oracle in result.oracles.items()}
    assessed = robustness.assess(result.runs, bounds, reference="planner")
    assert len(assessed.scores) == len(specs) * len(tiers)
    held_out = "held out: never used for tuning" if span == HELD_OUT else "NOT the held-out range"
    console = Console(width=120)
    print()
    console.print(
        robustness.spread_table(
            assessed,
            f"generated seeds {span} ({held_out}): {len(assessed.scores)} scenarios, "
            f"{sim_seeds} seeds × {requests:,} requests; % of oracle",
        )
    )
    print(robustness.verdict(assessed))
    pcts = {
        name: [row[name].pct_oracle for row in assessed.scores.values()]
        for name in assessed.strategies
    }
    png = plots.plot_ecdf(pcts, out / "robustness-ecdf.png", f"generated seeds {span}")
    table = out / "robustness.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        rows = robustness.rows(assessed)
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    cores = os.cpu_count() or 1
    print(
        f"{len(result.runs):,} runs in {elapsed:.0f} s on {cores} cores "
        f"(load average {os.getloadavg()[0]:.2f}); the workers used {cpu:.0f} CPU seconds, "
        f"≈ {cpu / cores:.0f} s on {cores} idle cores; wrote {png} and {table}"
    )


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: the pool's workers.
    On a shared machine this, not the wall time, says how long the bench takes when idle."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
