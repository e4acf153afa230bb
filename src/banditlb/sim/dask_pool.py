"""Sweeps on Dask distributed: `banditlb sim --cluster local|tcp://HOST:8786`.

The sweep's scheduling (`sweep._run_costliest_first`, `family._run_bounded`) only needs a
`concurrent.futures.Executor`; Dask's `Client.get_executor()` is one. Each worker receives the
sweep once, through a worker plugin that calls the same initializer the local process pool
uses (workers that join later get it too), so a task stays (strategy, tier, seed) and runs the
very same function: the same seed gives the same run on a laptop's pool or on a cluster.
`local` starts a `LocalCluster` of two single-threaded worker processes (no dashboard); an
address connects to a running scheduler, whose workers must have this banditlb installed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

from banditlb.errors import ConfigError

LOCAL_WORKERS = 2
_ADDRESS = re.compile(r"(tcp|tls)://[A-Za-z0-9.\-\[\]:]+:\d{1,5}")


def check_cluster_address(address: str) -> str:
    """`address` if it is `local` or a scheduler address such as tcp://HOST:8786."""
    if address != "local" and not _ADDRESS.fullmatch(address):
        raise ConfigError(
            f"--cluster must be 'local' or a Dask scheduler address such as "
            f"tcp://HOST:8786, got {address!r}"
        )
    return address


class _Initializer:
    """A Dask worker plugin: run the sweep's pool initializer on every worker."""

    name = "banditlb-sweep"

    def __init__(self, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
        self.initializer = initializer
        self.initargs = initargs

    def setup(self, worker: Any) -> None:
        self.initializer(*self.initargs)


@contextmanager
def dask_pool(
    address: str, initializer: Callable[..., None], initargs: tuple[Any, ...]
) -> Iterator[tuple[Executor, int]]:
    """An executor on the Dask cluster at `address` ('local': a fresh two-worker
    LocalCluster) whose workers were initialised like the local pool's; and its thread count."""
    check_cluster_address(address)
    from distributed import Client, LocalCluster, WorkerPlugin

    plugin = type("BanditLBInitializer", (_Initializer, WorkerPlugin), {})(initializer, initargs)
    cluster = None
    try:
        if address == "local":
            cluster = LocalCluster(
                n_workers=LOCAL_WORKERS,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            client = Client(address, timeout=10)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ConfigError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        client.register_plugin(plugin, name=_Initializer.name)
        threads = sum(client.nthreads().values()) or 1
        with client.get_executor() as executor:
            yield executor, threads
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
