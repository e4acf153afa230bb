"""Sweeps on Dask distributed (`sim --cluster`) give the local pool's runs, run for run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from banditlb.cli.main import main
from banditlb.errors import ConfigError
from banditlb.game.router import RetryRules
from banditlb.models.generate import generate
from banditlb.sim.dask_pool import check_cluster_address
from banditlb.sim.family import run_family
from banditlb.sim.sweep import SweepSpec, run_sweep
from banditlb.sim.world import resolve_scenario


@pytest.fixture(scope="module")
def local_scheduler() -> Iterator[str]:
    """One two-worker LocalCluster for the module, reached by its tcp:// address."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield str(cluster.scheduler_address)


def test_a_sweep_on_a_local_cluster_matches_the_process_pool() -> None:
    """`cluster='local'` (a fresh two-worker LocalCluster) gives exactly the local pool's
    runs and oracle bounds, in the same order."""
    spec = SweepSpec(
        resolve_scenario("default"), ("planner", "thompson"), ("T2",), (0, 1, 2), 300,
        RetryRules(),
    )  # fmt: skip
    pool = run_sweep(spec, jobs=2)
    dask = run_sweep(spec, cluster="local")
    assert dask.runs == pool.runs
    assert dask.oracles == pool.oracles
    assert len(dask.runs) == 6


def test_a_generated_family_on_a_scheduler_address_matches(local_scheduler: str) -> None:
    """A generated family sent to a scheduler by address gives the pool's runs and bounds."""
    specs = [
        SweepSpec(generate(seed, ("T3",)), ("blocking",), ("T3",), (0, 1), 150, RetryRules())
        for seed in (4, 5)
    ]
    assert run_family(specs, cluster=local_scheduler).runs == run_family(specs, jobs=2).runs


def test_sim_cli_on_a_cluster_reports_like_the_pool(
    local_scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`banditlb sim --cluster ADDRESS` prints the same table the pool run prints."""
    base = ["sim", "--strategies", "round_robin", "--tiers", "T1", "--seeds", "2",
            "--requests", "100", "--no-store"]  # fmt: skip
    outputs = []
    for extra in (["--cluster", local_scheduler], ["--jobs", "2"]):
        with pytest.raises(SystemExit) as exited:
            main([*base, *extra, "--out", str(tmp_path / extra[0].strip("-"))])
        assert exited.value.code in (0, None)
        outputs.append(capsys.readouterr().out.split("runs, ")[0])
    assert outputs[0] == outputs[1]
    assert "round_robin" in outputs[0]


@pytest.mark.parametrize("address", ["remote", "http://h:8786", "tcp://h", "tcp://h:port"])
def test_bad_cluster_addresses_are_refused(address: str) -> None:
    """--cluster takes 'local' or tcp://HOST:PORT; anything else is one clear error."""
    with pytest.raises(ConfigError, match="--cluster must be 'local' or a Dask scheduler"):
        check_cluster_address(address)


def test_cluster_and_jobs_do_not_mix(capsys: pytest.CaptureFixture[str]) -> None:
    """--jobs with --cluster is refused with one line and exit 2."""
    with pytest.raises(SystemExit) as exited:
        main(["sim", "--cluster", "local", "--jobs", "2", "--no-store"])
    assert exited.value.code == 2
    assert "--jobs is for local processes" in capsys.readouterr().err
