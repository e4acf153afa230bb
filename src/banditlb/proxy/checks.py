"""The rules for each part of a proxy config file, one `ConfigError` line per broken rule.

`Checker` carries the file's name and the environment; every check names the field and the
rule (`FILE: FIELD: RULE`). `proxy.config.parse` runs them section by section.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from banditlb.errors import ConfigError
from banditlb.game.outcome import OutcomeKind
from banditlb.game.router import RetryRules
from banditlb.proxy.spec import DeclaredLimit, RouteSpec, Secret, StatusRules, UpstreamSpec
from banditlb.toml_fields import FieldChecks

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


class Checker(FieldChecks):
    """Carries the file name so every rule reads as one line: `FILE: FIELD: RULE`."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        super().__init__(source)
        self.env = env

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
                requests=self.integer(spec, "requests", where, default=0, low=1, high=10**9),
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
        free = self.integer(table, "attempts", field, default=3, low=1, high=100)
        max_attempts = self.integer(table, "max_attempts", field, default=free, low=1, high=1000)
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
