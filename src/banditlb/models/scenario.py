"""Validate scenario TOML text into a `Scenario`; errors name the file, the field and the rule.

Pure: reading files (a path or a built-in name) is `banditlb.scenarios.files`' job.

Format (see README "Scenarios"):

    name = "default"          # required
    seed = 42                 # default 0; seeds every server's RNG
    rate = 10.0               # client requests per second (harness and simulator)
    description = "..."

    [[servers]]
    name = "t1-0"             # unique
    tier = "T1"
    port = 4000               # unique, 1..65535
    error_rate = 0.3          # probability of a 5xx for an admitted request
    error_drift = { amplitude = 0.2, period = 120.0, phase = 0.0 }   # optional, sinusoidal
    retry_after = "seconds"   # Retry-After on 429s: seconds|date|fractional|none (true = seconds)
    rate_limit_headers = "ietf"   # rate-limit fields on every answer: ietf|x|none (default none)
    error_status = 500        # 5xx status for failures (default 500)
    latency = { mean = 0.005, jitter = 0.002 }   # seconds (default 0)
    limits = [ { kind = "fixed_window", limit = 3, window = 1.0 } ]
    faults = [ { kind = "hang", start = 10.0, end = 20.0, probability = 0.5 } ]

Limit kinds: fixed_window(limit, window=1, offset=0), token_bucket(rate, burst=rate),
sinusoid(base, amplitude, period, phase=0, window=1), outage(period, duration, offset=0),
step(at, before={limit}, after={limit}) (nest steps in `after` for several),
sliding_log(limit, window=1), sliding_counter(limit, window=1), gcra(interval, tolerance=0),
leaky_bucket(rate, burst=1), concurrency(limit, hold=latency mean),
sinusoid_bucket(base, amplitude, period, phase=0, burst=max(1, base)),
piecewise_bucket(segments=[[start, rate], ...], burst=max(1, max rate), period);
several limits on one server all apply.
Fault kinds: hang, slow(delay), reset, refused, malformed, flap(period, down).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from banditlb.errors import ScenarioError
from banditlb.models.spec import (
    FAULT_KINDS,
    LIMIT_KINDS,
    RATE_LIMIT_HEADERS,
    RETRY_AFTER_MODES,
    DriftSpec,
    FaultSpec,
    LatencySpec,
    LimitSpec,
    Scenario,
    ServerSpec,
)
from banditlb.toml_fields import FieldChecks

_LIMIT_PARAMS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType(
    {
        # kind: (required, optional)
        "fixed_window": (("limit",), ("window", "offset")),
        "token_bucket": (("rate",), ("burst",)),
        "sinusoid": (("base", "amplitude", "period"), ("phase", "window")),
        "outage": (("period", "duration"), ("offset",)),
        "step": (("at",), ("before", "after")),
        "sliding_log": (("limit",), ("window",)),
        "sliding_counter": (("limit",), ("window",)),
        "gcra": (("interval",), ("tolerance",)),
        "leaky_bucket": (("rate",), ("burst",)),
        "concurrency": (("limit",), ("hold",)),
        "sinusoid_bucket": (("base", "amplitude", "period"), ("phase", "burst")),
        "piecewise_bucket": (("segments",), ("burst", "period")),
    }
)
_WHOLE_LIMIT_KINDS = frozenset({"sliding_log", "sliding_counter", "concurrency"})
"""Kinds whose `limit` must be a whole number >= 1."""
_BUCKET_KINDS = frozenset({"leaky_bucket", "sinusoid_bucket", "piecewise_bucket"})
"""Kinds whose `burst` must be >= 1 (a smaller bucket never holds a whole token)."""
_SERVER_KEYS = frozenset(
    {
        "name",
        "tier",
        "port",
        "error_rate",
        "retry_after",
        "rate_limit_headers",
        "error_drift",
        "error_status",
        "latency",
        "limits",
        "faults",
    }
)
_TOP_KEYS = frozenset({"name", "seed", "rate", "description", "servers"})
_FAULT_KEYS = frozenset({"kind", "start", "end", "probability", "delay", "period", "down"})


class _Checker(FieldChecks):
    """The scenario format's checks: the shared field rules plus its own kinds."""

    def fail(self, field: str, rule: str) -> ScenarioError:
        return ScenarioError(self.source, field, rule)

    def number(
        self,
        table: dict[str, Any],
        key: str,
        field: str,
        *,
        default: float | None = None,
        low: float = -math.inf,
        high: float = math.inf,
        low_open: bool = False,
    ) -> float:
        if key not in table:
            if default is None:
                raise self.fail(f"{field}.{key}", "is required")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.fail(f"{field}.{key}", f"must be a number, got {value!r}")
        if value < low or value > high or (low_open and value == low):
            bound = f"{'>' if low_open else '>='} {low}" if value <= low else f"<= {high}"
            raise self.fail(f"{field}.{key}", f"must be {bound}, got {value!r}")
        return float(value)

    def segments(self, raw: Any, field: str) -> tuple[tuple[float, float], ...]:
        """A piecewise schedule: [[start, rate], ...], starts rising from 0, rates >= 0."""
        rule = "must be a non-empty array of [start, rate] pairs, the first starting at 0"
        if not isinstance(raw, list) or not raw:
            raise self.fail(field, rule)
        pairs: list[tuple[float, float]] = []
        for i, pair in enumerate(raw):
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.fail(f"{field}[{i}]", f"{rule}; got {pair!r}")
            start = self.number({"start": pair[0]}, "start", f"{field}[{i}]", low=0)
            rate = self.number({"rate": pair[1]}, "rate", f"{field}[{i}]", low=0)
            if math.isinf(start) or math.isinf(rate):
                raise self.fail(f"{field}[{i}]", f"must be finite, got {pair!r}")
            if (i == 0 and start != 0) or (pairs and start <= pairs[-1][0]):
                raise self.fail(
                    f"{field}[{i}]", f"starts must begin at 0 and rise strictly; got {start!r}"
                )
            pairs.append((start, rate))
        return tuple(pairs)

    def limit(self, raw: Any, field: str, mean_latency: float = 0.0) -> LimitSpec:
        table = self.table(raw, field)
        kind = table.get("kind")
        if kind not in LIMIT_KINDS:
            raise self.fail(
                f"{field}.kind", f"must be one of {', '.join(LIMIT_KINDS)}, got {kind!r}"
            )
        required, optional = _LIMIT_PARAMS[kind]
        self.keys(table, {"kind", *required, *optional}, field)
        params: list[tuple[str, Any]] = []
        for key in (*required, *optional):
            if key not in table:
                if key in required:
                    raise self.fail(f"{field}.{key}", f"is required for kind {kind!r}")
                continue
            if kind == "step" and key in ("before", "after"):
                params.append((key, self.limit(table[key], f"{field}.{key}", mean_latency)))
            elif key == "segments":
                params.append((key, self.segments(table[key], f"{field}.{key}")))
            elif key == "limit" and kind in _WHOLE_LIMIT_KINDS:
                params.append((key, self.integer(table, key, field, low=1)))
            elif key == "burst" and kind in _BUCKET_KINDS:
                params.append((key, self.number(table, key, field, low=1)))
            elif key in ("phase", "offset", "at"):
                params.append((key, self.number(table, key, field)))
            elif key in ("limit", "amplitude", "base", "tolerance"):
                params.append((key, self.number(table, key, field, low=0)))
            else:  # rates, windows, periods, durations, burst, interval, hold: strictly positive
                params.append((key, self.number(table, key, field, low=0, low_open=True)))
        spec = LimitSpec(kind, tuple(params))
        if kind == "outage" and spec.param("duration") >= spec.param("period"):
            raise self.fail(f"{field}.duration", "must be shorter than period")
        if kind == "concurrency" and spec.param("hold") is None and mean_latency <= 0:
            raise self.fail(
                f"{field}.hold",
                "is required when the server's latency mean is 0 (a slot is held > 0 s)",
            )
        if kind == "piecewise_bucket":
            period = spec.param("period")
            if period is not None and period <= spec.param("segments")[-1][0]:
                raise self.fail(f"{field}.period", "must be longer than the last segment's start")
        return spec

    def retry_after(self, table: dict[str, Any], field: str) -> str:
        value = table.get("retry_after", False)
        if isinstance(value, bool):
            return "seconds" if value else "none"
        if value not in RETRY_AFTER_MODES:
            raise self.fail(
                f"{field}.retry_after",
                f"must be true, false or one of {', '.join(RETRY_AFTER_MODES)}, got {value!r}",
            )
        return str(value)

    def drift(self, table: dict[str, Any], field: str) -> DriftSpec | None:
        if "error_drift" not in table:
            return None
        drift = self.table(table["error_drift"], f"{field}.error_drift")
        where = f"{field}.error_drift"
        self.keys(drift, {"amplitude", "period", "phase"}, where)
        return DriftSpec(
            amplitude=self.number(drift, "amplitude", where, low=0, high=1),
            period=self.number(drift, "period", where, low=0, low_open=True, high=1e9),
            phase=self.number(drift, "phase", where, default=0.0, low=-1e9, high=1e9),
        )

    def rate_limit_headers(self, table: dict[str, Any], field: str) -> str:
        value = table.get("rate_limit_headers", "none")
        if value not in RATE_LIMIT_HEADERS:
            raise self.fail(
                f"{field}.rate_limit_headers",
                f"must be one of {', '.join(RATE_LIMIT_HEADERS)}, got {value!r}",
            )
        return str(value)

    def fault(self, raw: Any, field: str) -> FaultSpec:
        table = self.table(raw, field)
        self.keys(table, _FAULT_KEYS, field)
        kind = table.get("kind")
        if kind not in FAULT_KINDS:
            raise self.fail(
                f"{field}.kind", f"must be one of {', '.join(FAULT_KINDS)}, got {kind!r}"
            )
        start = self.number(table, "start", field, default=0.0, low=0)
        end = self.number(table, "end", field, default=math.inf, low=start, low_open=True)
        spec = FaultSpec(
            kind=kind,
            start=start,
            end=end,
            probability=self.number(table, "probability", field, default=1.0, low=0, high=1),
            delay=self.number(table, "delay", field, default=0.0, low=0),
            period=self.number(table, "period", field, default=0.0, low=0),
            down=self.number(table, "down", field, default=0.0, low=0),
        )
        if kind == "slow" and spec.delay <= 0:
            raise self.fail(f"{field}.delay", "is required and must be > 0 for kind 'slow'")
        if kind == "flap" and not 0 < spec.down < spec.period:
            raise self.fail(f"{field}.down", "flap needs 0 < down < period")
        return spec

    def server(self, raw: Any, field: str) -> ServerSpec:
        table = self.table(raw, field)
        self.keys(table, _SERVER_KEYS, field)
        latency = self.table(table.get("latency", {}), f"{field}.latency")
        self.keys(latency, {"mean", "jitter"}, f"{field}.latency")
        limits = table.get("limits", [])
        faults = table.get("faults", [])
        if not isinstance(limits, list):
            raise self.fail(f"{field}.limits", "must be an array of tables")
        if not isinstance(faults, list):
            raise self.fail(f"{field}.faults", "must be an array of tables")
        mean = self.number(latency, "mean", f"{field}.latency", default=0.0, low=0)
        return ServerSpec(
            name=self.text(table, "name", field),
            tier=self.text(table, "tier", field, default="default"),
            port=self.integer(table, "port", field, low=1, high=65535),
            error_rate=self.number(table, "error_rate", field, low=0, high=1),
            limits=tuple(self.limit(x, f"{field}.limits[{i}]", mean) for i, x in enumerate(limits)),
            retry_after=self.retry_after(table, field),
            error_status=self.integer(table, "error_status", field, default=500, low=500, high=599),
            latency=LatencySpec(
                mean, self.number(latency, "jitter", f"{field}.latency", default=0.0, low=0)
            ),
            faults=tuple(self.fault(x, f"{field}.faults[{i}]") for i, x in enumerate(faults)),
            rate_limit_headers=self.rate_limit_headers(table, field),
            error_drift=self.drift(table, field),
        )


def parse(data: dict[str, Any], source: str) -> Scenario:
    """Validate a decoded TOML document and build the Scenario."""
    check = _Checker(source)
    check.keys(data, _TOP_KEYS, "scenario")
    servers_raw = data.get("servers")
    if not isinstance(servers_raw, list) or not servers_raw:
        raise check.fail("servers", "must be a non-empty array of [[servers]] tables")
    servers = tuple(check.server(raw, f"servers[{i}]") for i, raw in enumerate(servers_raw))
    for attr in ("name", "port"):
        seen: set[object] = set()
        for i, server in enumerate(servers):
            value = getattr(server, attr)
            if value in seen:
                raise check.fail(f"servers[{i}].{attr}", f"must be unique; {value!r} is used twice")
            seen.add(value)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise check.fail("description", "must be a string")
    return Scenario(
        name=check.text(data, "name", "scenario"),
        seed=check.integer(data, "seed", "scenario", default=0),
        rate=check.number(data, "rate", "scenario", default=10.0, low=0, low_open=True),
        servers=servers,
        description=description,
        source=source,
    )


def loads(text: str, source: str = "<string>") -> Scenario:
    """Parse scenario TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, "toml", f"not valid TOML: {exc}") from None
    return parse(data, source)
