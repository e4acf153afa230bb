"""Load and validate a proxy config TOML file; each mistake is one line naming file, field, rule.

Format (README "banditlb in front of your API"; a complete example is `examples/proxy.toml`):

    label = "my-api"                      # optional: the run's name in the store and dashboard

    [listen]
    host = "127.0.0.1"                    # the proxy's own address (default 127.0.0.1:8080)
    port = 8080
    admin_host = "127.0.0.1"              # /healthz /readyz /metrics /api/state /dashboard
    admin_port = 8081                     # (default 8081; never on the proxy's port)
    max_in_flight = 1024                  # client requests at once; beyond: 503 + Retry-After
    buffer_limit = 1048576                # bytes of a retryable body kept for retries

    [strategy]
    name = "planner"                      # any `banditlb strategies` name
    seed = 0
    params = { max_backoff = 8.0 }

    [[upstreams]]
    name = "key-a"                        # unique
    url = "https://api.example.com/v1"    # scheme, host, optional port and path prefix
    headers = { Authorization = { env = "KEY_A", prefix = "Bearer " }, X-Team = "search" }
    connect_timeout = 2.0                 # seconds
    timeout = 30.0                        # seconds to the answer's headers
    read_timeout = 300.0                  # seconds of silence while its body streams
    limit = { requests = 60, window = 60.0 }   # declared limit: a prior for the planner

    [[routes]]                            # first match wins; unmatched requests use defaults
    prefix = "/v1/chat"                   # whole path segments
    methods = ["POST"]                    # default: every method
    retryable = true                      # POSTs here may be retried (default false)
    attempts = 3                          # attempts that cost nothing (default 3)
    max_attempts = 3                      # hard cap (default: attempts)
    penalty = 1.0                         # cost of each attempt past `attempts`
    deadline = 30.0                       # no new attempt after this many seconds
    max_hold = 1.0                        # seconds the planner may hold an attempt
    prefer_faster = false                 # among equally reliable upstreams, the faster
    latency_tolerance = 0.02              # success estimates this close count as equal
    hedge_after = 0.0                     # s before a 2nd attempt races a slow 1st (0: off)
    success = ["2xx", "3xx"]              # statuses (200) or classes ("2xx") per outcome
    rate_limited = [429]
    failure = ["5xx"]                     # anything in no list: the client's own error

An environment variable named by `env` must be set when the file is loaded; its value becomes a
`Secret` (never shown). Each section (listen, strategy, every upstream, every route) reports
its first mistake, one line each (`ConfigErrors` when there are several).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from banditlb.errors import BanditLBError, ConfigError
from banditlb.proxy.checks import Checker
from banditlb.proxy.spec import (
    DEFAULT_BUFFER_LIMIT,
    ProxyConfig,
    RouteSpec,
    UpstreamSpec,
)
from banditlb.strategies.registry import make_config

_T = TypeVar("_T")
_TOP = frozenset({"label", "listen", "strategy", "upstreams", "routes"})
_LISTEN = frozenset({"host", "port", "admin_host", "admin_port", "max_in_flight", "buffer_limit"})
_STRATEGY = frozenset({"name", "seed", "params"})


class ConfigErrors(ConfigError):
    """Several independent mistakes in one config file, one line each (`problems`)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Collector:
    """Runs each section's checks; a mistake is kept and the next section checked, so one
    run reports every section's first mistake (one line each)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def run(self, check: Callable[[], _T]) -> _T | None:
        """`check()`, or None (the mistake kept) when it raises `ConfigError`."""
        try:
            return check()
        except ConfigError as exc:
            self.problems.append(str(exc))
            return None


def parse(data: dict[str, Any], source: str, env: Mapping[str, str] | None = None) -> ProxyConfig:
    """Validate a decoded TOML document into a `ProxyConfig`; `env` defaults to os.environ.

    Raises `ConfigError` for one mistake, `ConfigErrors` (one line per mistake) for several:
    every top-level section, upstream and route is checked even after another failed."""
    check = Checker(source, os.environ if env is None else env)
    collect = _Collector()
    collect.run(partial(check.table, data, "config", _TOP))
    listen = collect.run(partial(check.table, data.get("listen", {}), "listen", _LISTEN)) or {}
    strategy = (
        collect.run(partial(check.table, data.get("strategy", {}), "strategy", _STRATEGY)) or {}
    )
    raw_upstreams = data.get("upstreams")
    upstreams: list[UpstreamSpec | None] = []
    if not isinstance(raw_upstreams, list) or not raw_upstreams:
        collect.problems.append(
            str(check.fail("upstreams", "must be a non-empty array of [[upstreams]] tables"))
        )
    else:
        for i, raw in enumerate(raw_upstreams):
            upstreams.append(collect.run(partial(check.upstream, raw, f"upstreams[{i}]")))
    seen: set[str] = set()
    for i, upstream in enumerate(upstreams):
        if upstream is not None and upstream.name in seen:
            collect.problems.append(
                str(check.fail(f"upstreams[{i}].name", f"{upstream.name!r} is used twice"))
            )
        if upstream is not None:
            seen.add(upstream.name)
    raw_routes = data.get("routes", [])
    routes: list[RouteSpec | None] = []
    if not isinstance(raw_routes, list):
        collect.problems.append(str(check.fail("routes", "must be an array of [[routes]] tables")))
    else:
        for i, raw in enumerate(raw_routes):
            routes.append(collect.run(partial(check.route, raw, f"routes[{i}]")))
    routes.append(RouteSpec())  # the default: "/", every method, default rules
    fallback: tuple[str, dict[str, Any], int] = ("planner", {}, 0)
    name, params, seed = collect.run(partial(_strategy, check, strategy)) or fallback
    ports = collect.run(partial(_listen, check, listen))
    label = data.get("label", "proxy")
    if not isinstance(label, str):
        collect.problems.append(str(check.fail("label", f"must be a string, got {label!r}")))
    if collect.problems:
        if len(collect.problems) == 1:
            raise ConfigError(collect.problems[0])
        raise ConfigErrors(collect.problems)
    assert ports is not None  # for mypy: no problem means every section parsed
    return ProxyConfig(
        upstreams=tuple(u for u in upstreams if u is not None),
        routes=tuple(r for r in routes if r is not None),
        strategy=name,
        params=params,
        seed=seed,
        label=label,
        source=source,
        **ports,
    )


def _strategy(check: Checker, strategy: dict[str, Any]) -> tuple[str, dict[str, Any], int]:
    name = check.text(strategy, "name", "strategy", "planner")
    params = check.table(strategy.get("params", {}), "strategy.params", None)
    try:
        make_config(name, params)
    except BanditLBError as exc:
        raise check.fail("strategy", str(exc)) from None
    return (
        name,
        dict(params),
        check.integer(strategy, "seed", "strategy", default=0, low=0, high=2**63 - 1),
    )


def _listen(check: Checker, listen: dict[str, Any]) -> dict[str, Any]:
    port = check.integer(listen, "port", "listen", default=8080, low=0, high=65535)
    admin_port = check.integer(listen, "admin_port", "listen", default=8081, low=0, high=65535)
    if port != 0 and port == admin_port:
        raise check.fail("listen.admin_port", f"must differ from listen.port ({port})")
    return {
        "host": check.text(listen, "host", "listen", "127.0.0.1"),
        "port": port,
        "admin_host": check.text(listen, "admin_host", "listen", "127.0.0.1"),
        "admin_port": admin_port,
        "buffer_limit": check.integer(
            listen, "buffer_limit", "listen", default=DEFAULT_BUFFER_LIMIT, low=0, high=1 << 30
        ),
        "max_in_flight": check.integer(
            listen, "max_in_flight", "listen", default=1024, low=1, high=10**6
        ),
    }


def load(path: str | Path, env: Mapping[str, str] | None = None) -> ProxyConfig:
    """Read and validate a config file; every problem is a `ConfigError` naming the file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return parse(data, source, env)
