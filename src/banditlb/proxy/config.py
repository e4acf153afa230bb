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

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Set
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from banditlb.errors import BanditLBError, ConfigError
from banditlb.outcome import OutcomeKind
from banditlb.proxy.spec import (
    DEFAULT_BUFFER_LIMIT,
    DeclaredLimit,
    ProxyConfig,
    RouteSpec,
    Secret,
    StatusRules,
    UpstreamSpec,
)
from banditlb.router import RetryRules
from banditlb.strategies.registry import make_config

_T = TypeVar("_T")
_TOP = frozenset({"label", "listen", "strategy", "upstreams", "routes"})
_LISTEN = frozenset({"host", "port", "admin_host", "admin_port", "max_in_flight", "buffer_limit"})
_STRATEGY = frozenset({"name", "seed", "params"})
_UPSTREAM = frozenset(
    {"name", "url", "headers", "connect_timeout", "timeout", "read_timeout", "limit"}
)
_ROUTE = frozenset(
    {
        "prefix",
        "methods",
        "retryable",
        "attempts",
        "max_attempts",
        "penalty",
        "deadline",
        "max_hold",
        "prefer_faster",
        "latency_tolerance",
        "hedge_after",
        "success",
        "rate_limited",
        "failure",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 §5.6.2: field names, methods
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "via", "upgrade", "te"}
)
_STATUS_LISTS = (
    ("rate_limited", OutcomeKind.RATE_LIMITED),
    ("failure", OutcomeKind.FAILED),
    ("success", OutcomeKind.ACCEPTED),
)
_DEFAULT_LISTS: Mapping[str, tuple[Any, ...]] = MappingProxyType(
    {"success": ("2xx", "3xx"), "rate_limited": (429,), "failure": ("5xx",)}
)


class _Checker:
    """Carries the file name so every rule reads as one line: `FILE: FIELD: RULE`."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env

    def fail(self, field: str, rule: str) -> ConfigError:
        return ConfigError(f"{self.source}: {field}: {rule}")

    def table(self, value: Any, field: str, allowed: Set[str] | None) -> dict[str, Any]:
        """`value` as a table whose keys are all in `allowed` (None: any key)."""
        if not isinstance(value, dict):
            raise self.fail(field, "must be a table")
        if allowed is None:
            return value
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise self.fail(
                f"{field}.{unknown[0]}", f"unknown field; allowed: {', '.join(sorted(allowed))}"
            )
        return value

    def number(
        self, table: dict[str, Any], key: str, field: str, default: float, *, low: float = 0.0,
        high: float = 1e6, low_open: bool = True,
    ) -> float:  # fmt: skip
        value = table.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(f"{field}.{key}", f"must be a finite number, got {value!r}")
        if value > high or value < low or (low_open and value == low):
            bound = f"{'>' if low_open else '>='} {low:g}" if value <= low else f"<= {high:g}"
            raise self.fail(f"{field}.{key}", f"must be {bound}, got {value!r}")
        return float(value)

    def integer(
        self, table: dict[str, Any], key: str, field: str, default: int, *, low: int, high: int
    ) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{field}.{key}", f"must be an integer, got {value!r}")
        if not low <= value <= high:
            raise self.fail(f"{field}.{key}", f"must be between {low} and {high}, got {value!r}")
        return value

    def text(self, table: dict[str, Any], key: str, field: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(f"{field}.{key}", "is required and must be a non-empty string")
        return value

    def boolean(self, table: dict[str, Any], key: str, field: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(f"{field}.{key}", f"must be true or false, got {value!r}")
        return value

    # ---- sections --------------------------------------------------------------------------

    def header_value(self, raw: Any, field: str) -> str | Secret:
        if isinstance(raw, str):
            if "\r" in raw or "\n" in raw:
                raise self.fail(field, "must not contain line breaks")
            return raw
        spec = self.table(raw, field, {"env", "prefix"})
        name = self.text(spec, "env", field)
        prefix = spec.get("prefix", "")
        if not isinstance(prefix, str):
            raise self.fail(f"{field}.prefix", f"must be a string, got {prefix!r}")
        value = self.env.get(name)
        if value is None or value == "":
            raise self.fail(f"{field}.env", f"environment variable {name} is not set")
        if any(c in value or c in prefix for c in "\r\n\0"):
            raise self.fail(
                f"{field}.env", f"environment variable {name} holds a line break or NUL"
            )
        return Secret(prefix + value)

    def upstream(self, raw: Any, field: str) -> UpstreamSpec:
        table = self.table(raw, field, _UPSTREAM)
        name = self.text(table, "name", field)
        url = self.text(table, "url", field)
        scheme, host, port, prefix = self.url(url, f"{field}.url")
        headers_raw = self.table(table.get("headers", {}), f"{field}.headers", None)
        headers: list[tuple[str, str | Secret]] = []
        for key, value in headers_raw.items():
            where = f"{field}.headers.{key}"
            if not _TOKEN.fullmatch(key):
                raise self.fail(where, "is not a valid header name")
            if key.lower() in _RESERVED_HEADERS or key.lower().startswith("proxy-"):
                raise self.fail(where, "is set by the proxy itself and cannot be injected")
            headers.append((key, self.header_value(value, where)))
        limit = None
        if "limit" in table:
            where = f"{field}.limit"
            spec = self.table(table["limit"], where, {"requests", "window"})
            limit = DeclaredLimit(
                requests=self.integer(spec, "requests", where, 0, low=1, high=10**9),
                window=self.number(spec, "window", where, 1.0, high=86_400.0),
            )
        return UpstreamSpec(
            name=name,
            scheme=scheme,
            host=host,
            port=port,
            prefix=prefix,
            headers=tuple(headers),
            connect_timeout=self.number(table, "connect_timeout", field, 2.0, high=3600.0),
            timeout=self.number(table, "timeout", field, 30.0, high=3600.0),
            read_timeout=self.number(table, "read_timeout", field, 300.0, high=86_400.0),
            limit=limit,
        )

    def url(self, url: str, field: str) -> tuple[str, str, int, str]:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise self.fail(field, f"is not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise self.fail(field, f"must start with http:// or https://, got {url!r}")
        if parts.username is not None or parts.password is not None:
            raise self.fail(
                field, "must not carry credentials; inject them with headers = {...} and env"
            )
        if not parts.hostname:
            raise self.fail(field, f"has no host: {url!r}")
        if parts.query or parts.fragment:
            raise self.fail(field, "must not have a query or fragment")
        host = parts.hostname
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not (host.isascii() and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", host)):
                raise self.fail(
                    field, f"host {host!r} must be an IP address or a host name"
                ) from None
        default_port = 443 if parts.scheme == "https" else 80
        return parts.scheme, host, port or default_port, parts.path.rstrip("/")

    def statuses(self, table: dict[str, Any], field: str) -> StatusRules:
        """Classes first ("5xx"), then single codes (which override classes): a code or a
        class named in two lists is a mistake."""
        by_class: dict[int, OutcomeKind] = {}
        by_code: dict[int, OutcomeKind] = {}
        for key, kind in _STATUS_LISTS:
            values = table.get(key, list(_DEFAULT_LISTS[key]))
            if not isinstance(values, list):
                raise self.fail(f"{field}.{key}", "must be an array of statuses or classes")
            for value in values:
                where = f"{field}.{key}"
                if isinstance(value, str) and re.fullmatch(r"[1-5]xx", value):
                    target, code = by_class, int(value[0])
                elif (
                    isinstance(value, int) and not isinstance(value, bool) and (100 <= value <= 599)
                ):
                    target, code = by_code, value
                else:
                    raise self.fail(
                        where, f'must list statuses 100..599 or classes like "5xx", got {value!r}'
                    )
                if code in target and target[code] is not kind:
                    raise self.fail(where, f"{value!r} is also listed as {target[code].value}")
                target[code] = kind
        kinds = tuple(
            by_code.get(status, by_class.get(status // 100)) for status in range(100, 600)
        )
        return StatusRules(kinds)

    def route(self, raw: Any, field: str) -> RouteSpec:
        table = self.table(raw, field, _ROUTE)
        prefix = self.text(table, "prefix", field, "/")
        if not prefix.startswith("/"):
            raise self.fail(f"{field}.prefix", f"must start with '/', got {prefix!r}")
        methods_raw = table.get("methods", [])
        if not isinstance(methods_raw, list) or not all(
            isinstance(m, str) and _TOKEN.fullmatch(m) for m in methods_raw
        ):
            raise self.fail(
                f"{field}.methods", f"must be an array of method names, got {methods_raw!r}"
            )
        free = self.integer(table, "attempts", field, 3, low=1, high=100)
        max_attempts = self.integer(table, "max_attempts", field, free, low=1, high=1000)
        penalty = self.number(table, "penalty", field, 1.0, low=0.0, low_open=False)
        max_hold = self.number(table, "max_hold", field, 1.0, low=0.0, high=60.0, low_open=False)
        try:
            RetryRules(free, penalty, max_attempts, max_hold)
        except ConfigError as exc:  # the shared rules' own messages name CLI options
            message = str(exc).replace("--free-attempts", "attempts").replace("--", "")
            raise self.fail(field, message) from None
        return RouteSpec(
            prefix=prefix,
            methods=frozenset(m.upper() for m in methods_raw),
            retryable=self.boolean(table, "retryable", field),
            free_attempts=free,
            max_attempts=max_attempts,
            penalty=penalty,
            deadline=self.number(table, "deadline", field, 30.0, high=86_400.0),
            max_hold=max_hold,
            prefer_faster=self.boolean(table, "prefer_faster", field),
            latency_tolerance=self.number(
                table, "latency_tolerance", field, 0.02, low=0.0, high=1.0, low_open=False
            ),
            hedge_after=self.number(
                table, "hedge_after", field, 0.0, low=0.0, high=3600.0, low_open=False
            ),
            status=self.statuses(table, field),
        )


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
    check = _Checker(source, os.environ if env is None else env)
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


def _strategy(check: _Checker, strategy: dict[str, Any]) -> tuple[str, dict[str, Any], int]:
    name = check.text(strategy, "name", "strategy", "planner")
    params = check.table(strategy.get("params", {}), "strategy.params", None)
    try:
        make_config(name, params)
    except BanditLBError as exc:
        raise check.fail("strategy", str(exc)) from None
    return name, dict(params), check.integer(strategy, "seed", "strategy", 0, low=0, high=2**63 - 1)


def _listen(check: _Checker, listen: dict[str, Any]) -> dict[str, Any]:
    port = check.integer(listen, "port", "listen", 8080, low=0, high=65535)
    admin_port = check.integer(listen, "admin_port", "listen", 8081, low=0, high=65535)
    if port != 0 and port == admin_port:
        raise check.fail("listen.admin_port", f"must differ from listen.port ({port})")
    return {
        "host": check.text(listen, "host", "listen", "127.0.0.1"),
        "port": port,
        "admin_host": check.text(listen, "admin_host", "listen", "127.0.0.1"),
        "admin_port": admin_port,
        "buffer_limit": check.integer(
            listen, "buffer_limit", "listen", DEFAULT_BUFFER_LIMIT, low=0, high=1 << 30
        ),
        "max_in_flight": check.integer(listen, "max_in_flight", "listen", 1024, low=1, high=10**6),
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
