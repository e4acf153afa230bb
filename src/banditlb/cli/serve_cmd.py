"""`banditlb serve`: run one balancer in front of a list of upstreams or a scenario tier."""

from __future__ import annotations

import gc
import ipaddress
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from banditlb.balancer.app import begin_shutdown, create_app, state_document
from banditlb.balancer.recording import Recorder
from banditlb.balancer.serving import bind, uvicorn_server
from banditlb.balancer.settings import BalancerSettings
from banditlb.cli.options import parse_params, parse_upstreams, tier_upstreams
from banditlb.cli.service_options import ControlToken, Grace, LogLevel, StoreBacklog
from banditlb.dashboard import dashboard_routes
from banditlb.errors import ConfigError
from banditlb.game.router import DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_MAX_HOLD, DEFAULT_REQUEST_DEADLINE
from banditlb.logs import configure_logging
from banditlb.models.spec import Scenario
from banditlb.scenarios import files as scenario_files
from banditlb.shared_state import (
    SharedState,
    SharedStateConfig,
    check_cluster_name,
    parse_state_url,
)
from banditlb.shared_state.redis_state import new_replica_id
from banditlb.store import SqliteRecorder, connect, default_path, live_run
from banditlb.store.recorder import MAX_BACKLOG
from banditlb.strategies.registry import DEFAULT_STRATEGY

log = logging.getLogger(__name__)


def serve(
    *,
    upstreams: Annotated[
        str | None,
        typer.Option(help="Servers as host:port[-port],... e.g. 127.0.0.1:4000-4009."),
    ] = None,
    tier: Annotated[
        str | None, typer.Option(help="Use this tier's servers from the scenario (T1, T2, T3).")
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Scenario file or built-in name for --tier.")
    ] = None,
    upstream_host: Annotated[str, typer.Option(help="Host of the --tier servers.")] = "127.0.0.1",
    port_offset: Annotated[int, typer.Option(help="Added to the --tier servers' ports.")] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="BANDITLB_PORT")] = 8000,
    strategy: Annotated[str, typer.Option(help="Strategy name.")] = DEFAULT_STRATEGY,
    param: Annotated[
        list[str] | None, typer.Option(help="Strategy parameter name=value (repeatable).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the strategy's RNG.")] = 0,
    penalty: Annotated[float, typer.Option(help="Score cost of each attempt past the 3rd.")] = 1.0,
    max_hold: Annotated[
        float,
        typer.Option(
            help="Seconds after arrival a pacing strategy (the planner) may hold a request's "
            "attempts for a server to admit them; 0 never holds."
        ),
    ] = DEFAULT_MAX_HOLD,
    attempt_timeout: Annotated[
        float, typer.Option(help="Seconds per downstream attempt.")
    ] = DEFAULT_ATTEMPT_TIMEOUT,
    deadline: Annotated[
        float, typer.Option(help="Seconds per client request overall.")
    ] = DEFAULT_REQUEST_DEADLINE,
    label: Annotated[str, typer.Option(help="A name for this balancer in stats.")] = "",
    max_in_flight: Annotated[
        int, typer.Option(help="Client requests served at once; beyond it 503 + Retry-After.")
    ] = 1024,
    grace: Grace = 10.0,
    db: Annotated[
        Path | None,
        typer.Option(help="Run store (SQLite) to record into and to show on the dashboard."),
    ] = None,
    record: Annotated[
        bool, typer.Option(help="Record every attempt in the run store (off the request path).")
    ] = True,
    store_backlog: StoreBacklog = MAX_BACKLOG,
    control_token: ControlToken = None,
    log_level: LogLevel = "warning",
    state: Annotated[
        str | None,
        typer.Option(
            help="Share what replicas learn through Redis: redis://HOST:PORT/DB. "
            "Without it the balancer learns alone.",
            envvar="BANDITLB_STATE",
        ),
    ] = None,
    cluster: Annotated[
        str, typer.Option(help="Name of the replicas' cluster in --state (its keys' prefix).")
    ] = "default",
    state_timeout: Annotated[
        float, typer.Option(help="Seconds each Redis call may take before local state is used.")
    ] = 0.01,
    workers: Annotated[
        int,
        typer.Option(help="Processes serving one port (SO_REUSEPORT); more than 1 needs --state."),
    ] = 1,
    reuse_port: Annotated[
        bool, typer.Option(hidden=True, help="Bind with SO_REUSEPORT (set by --workers).")
    ] = False,
) -> None:
    """Run the balancer (POST / with an id; GET /healthz, /readyz, /metrics, /api/state)."""
    if (upstreams is None) == (tier is None):
        raise ConfigError("give exactly one of --upstreams or --tier")
    world = scenario_files.load(scenario) if tier is not None else None
    if tier is not None and world is not None:
        servers = tier_upstreams(tier, world, host=upstream_host, port_offset=port_offset)
    else:
        servers = parse_upstreams(upstreams or "")
    settings = BalancerSettings(
        upstreams=servers,
        strategy=strategy,
        params=parse_params(param or []),
        seed=seed,
        penalty=penalty,
        max_hold=max_hold,
        attempt_timeout=attempt_timeout,
        request_deadline=deadline,
        host=host,
        port=port,
        label=label or (tier or "balancer"),
        tier=tier or "",
        # stored by its name, as `sim` stores it, whether given as a file or a built-in name
        scenario=world.name if world is not None else "",
        max_in_flight=max_in_flight,
        control_token=control_token or None,
    )
    shared = (
        SharedStateConfig(
            parse_state_url(state), cluster=check_cluster_name(cluster), timeout=state_timeout
        )
        if state
        else None
    )
    if not 1 <= workers <= 64:
        raise ConfigError(f"--workers must be in 1..64, got {workers}")
    if workers > 1 and shared is None:
        raise ConfigError(
            "--workers above 1 needs --state redis://HOST:PORT/DB: workers that do not "
            "share what they learn overrun every server's rate limit together"
        )
    if store_backlog < 1:
        raise ConfigError(f"--store-backlog must be >= 1, got {store_backlog}")
    if not (math.isfinite(grace) and grace > 0):
        raise ConfigError(f"--grace must be a finite number of seconds > 0, got {grace!r}")
    configure_logging(log_level)  # last check; it is also the first side effect
    store_path = db or default_path()
    if record:
        connect(store_path).close()  # a bad --db fails now with one line, not in the lifespan
    plan = ServePlan(
        settings=settings,
        world=world,
        tier=tier,
        grace=grace,
        log_level=log_level,
        store_path=store_path,
        record=record,
        store_backlog=store_backlog,
        shared=shared,
        reuse_port=reuse_port,
    )
    if workers > 1:
        from banditlb.cli.serve_workers import run_workers

        raise typer.Exit(run_workers(plan, workers))
    run_plan(plan)


@dataclass(frozen=True, slots=True)
class ServePlan:
    """Everything one serving process needs, checked; picklable (sent to --workers)."""

    settings: BalancerSettings
    world: Scenario | None
    tier: str | None
    grace: float
    log_level: str
    store_path: Path
    record: bool
    store_backlog: int
    shared: SharedStateConfig | None
    reuse_port: bool = False
    worker: int | None = None  # this process's number among --workers


def run_plan(plan: ServePlan) -> None:
    """Build the app for `plan` and serve it until SIGTERM/SIGINT."""
    settings = plan.settings
    bound = tier_bound(plan.world, plan.tier, settings.penalty)
    recorder: Recorder | None = None
    if plan.record:
        sqlite = SqliteRecorder(
            plan.store_path,
            run=live_run(settings.summary()),
            penalty=settings.penalty,
            max_backlog=plan.store_backlog,
        )
        if bound is not None:
            sqlite.add_totals({"oracle_per_request": bound})  # `runs` shows "% of oracle"
        recorder = sqlite
    shared = None
    if plan.shared is not None:
        label = settings.label + ("" if plan.worker is None else f"-w{plan.worker}")
        shared = SharedState(
            plan.shared,
            replica=new_replica_id(label),
            info={"port": settings.port, "label": label},
        )
    dashboard = dashboard_routes(plan.store_path, state_document, oracle_per_request=bound)
    app = create_app(settings, recorder=recorder, extra_routes=dashboard, shared=shared)
    grace = plan.grace
    server = uvicorn_server(
        app,
        settings.host,
        settings.port,
        grace=grace,
        log_level=plan.log_level.lower(),
        json_logs=True,
        on_exit=lambda: begin_shutdown(app, grace),
    )
    where = {"host": settings.host, "port": settings.port, "upstreams": len(settings.upstreams)}
    if plan.shared is not None:
        where["cluster"] = plan.shared.cluster
    log.info("serving", extra=where)
    if not is_loopback(settings.host):
        # Every route but POST / is read-only, so no admin token exists to require; but
        # /api/state and /metrics show upstream addresses to whoever can reach this port.
        log.warning("listening beyond loopback", extra={"host": settings.host})
    # Everything built so far lives for the whole run: keep it out of the cyclic GC's scans.
    gc.freeze()
    if plan.reuse_port:  # one of several processes on this port: the kernel spreads connections
        sock = bind(settings.host, settings.port, reuse_port=True)
        server.run(sockets=[sock])
    else:
        server.run()  # uvicorn's own loop factory: uvloop when installed


def tier_bound(world: Scenario | None, tier: str | None, penalty: float) -> float | None:
    """The oracle's score per request for a scenario tier (the dashboard's regret baseline)."""
    if tier is None or world is None:
        return None
    from banditlb.models.oracle import oracle_bound  # scipy: loaded only when there is a tier

    return oracle_bound(world, tier, penalty=penalty).score_per_request


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or "localhost") only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
