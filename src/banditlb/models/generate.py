"""Random scenarios from one seed: a broad family of fleets no strategy was tuned on.

`generate_toml(seed, tiers)` draws each tier from its own `random.Random` (seeded by the seed
and the tier's name, so T2 of seed 7 is the same whether or not T3 is drawn with it) and
writes TOML that `scenario.loads` validates; same seed, byte-identical text. No I/O here.

What a tier draws (10 servers, 10 requests/s):
- total capacity: λ × a factor log-uniform in [1, 8]; about half the tiers fall below the 3λ
  that three attempts per id would need ("tight"), the rest up to ample; split across servers
  by Dirichlet(1) weights, so a few servers hold most of it;
- error rates as in real fleets: a few good servers (0.02–0.2), some middling (0.2–0.6),
  many bad (0.6–0.95); at least one good one; in half the tiers the better a server, the
  less capacity it gets (good servers scarce, as in the default T2);
- latency: mean 1–50 ms, jitter up to half the mean;
- a limiter per server. T2 (fixed limits): fixed windows 0.5–10 s with offsets, token buckets
  with burst 1 up to many, stacked short + long windows, sliding-window logs and counters, GCRA
  (burst 1–6), leaky buckets, concurrency caps (slots held 0.2–1.5 s). T3 (limits that change
  over time, over half of its servers): sinusoidal windows and token buckets, token buckets
  with a piecewise refill rate (repeating or not), one to three step changes up or down,
  periodic outages (with or without a Retry-After hint) over a base limit; the rest T2 shapes;
- error rates that drift on 15% of T2 and 40% of T3 servers: ± 0.05–0.3 around the base rate,
  periods 60–600 s (`error_drift`);
- Retry-After: whole seconds 35%, an HTTP-date 15%, fractional seconds 10%, none 40%;
  rate-limit headers: IETF RateLimit fields 20%, X-RateLimit-* 15%, none 65%.
Times (steps, refill-rate changes, outage offsets) fall in the first 120 s, so that the
robustness bench's short runs (1,500 requests = 150 s) see them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from banditlb.errors import ConfigError
from banditlb.models.scenario import loads
from banditlb.models.spec import LIMIT_KINDS, Scenario

RATE = 10.0
SERVERS_PER_TIER = 10
TIER_PORTS: Mapping[str, int] = MappingProxyType({"T2": 5000, "T3": 6000})
TIERS = tuple(TIER_PORTS)
PREFIX = "random:"
MAX_SCENARIOS = 10_000
FREE_ATTEMPTS = 3
CAPACITY_FACTOR = (1.0, 8.0)
"""Total capacity over λ, drawn log-uniformly: below FREE_ATTEMPTS is tight."""
EVENTS_BEFORE = 120.0
WINDOWS = (0.5, 1.0, 1.0, 1.0, 2.0, 3.0, 5.0, 10.0)
"""Fixed-window lengths in seconds; 1 s, the most common in practice, is drawn more often."""

Limit = dict[str, Any]


def _r(value: float, digits: int = 3) -> float:
    """Rounded, so the TOML is short and the parsed value is exactly what was written."""
    return round(value, digits)


def _fixed_window(rng: random.Random, rate: float) -> Limit:
    window = rng.choice(WINDOWS)
    limit = max(1, round(rate * window))
    return {
        "kind": "fixed_window",
        "limit": limit,
        "window": window,
        "offset": _r(rng.uniform(0.0, window), 2),
    }


def _token_bucket(rng: random.Random, rate: float) -> Limit:
    style = rng.random()
    if style < 0.3:
        burst = 1.0  # strict pacing: one request, then wait 1/rate
    elif style < 0.7:
        burst = float(max(1, round(rng.uniform(1.0, 3.0 * rate))))
    else:
        burst = float(max(1, round(rng.uniform(5.0, 10.0) * rate)))
    return {"kind": "token_bucket", "rate": _r(max(rate, 0.1), 2), "burst": burst}


def _stacked(rng: random.Random, rate: float) -> list[Limit]:
    """A per-second window plus a longer one that binds when traffic is sustained."""
    short = {"kind": "fixed_window", "limit": max(1, round(rate * rng.uniform(1.5, 3.0)))}
    window = rng.choice((10.0, 30.0, 60.0))
    long = {"kind": "fixed_window", "limit": max(1, round(rate * window)), "window": window}
    return [short, long]


def _base(rng: random.Random, rate: float) -> Limit:
    """A stationary limit at `rate` for the time-varying shapes to wrap or stack on."""
    return _fixed_window(rng, rate) if rng.random() < 0.6 else _token_bucket(rng, rate)


def _sinusoid(rng: random.Random, rate: float) -> list[Limit]:
    base = max(1.0, rate)
    return [
        {
            "kind": "sinusoid",
            "base": _r(base, 2),
            "amplitude": _r(base * rng.uniform(0.3, 0.95), 2),
            "period": _r(rng.uniform(20.0, 120.0), 1),
            "phase": _r(rng.uniform(0.0, 2 * math.pi), 3),
        }
    ]


def _steps(rng: random.Random, rate: float) -> list[Limit]:
    """One to three changes, each scaling capacity by 0.25–4 (up or down)."""
    count = rng.randint(1, 3)
    times = sorted(_r(rng.uniform(20.0, EVENTS_BEFORE), 1) for _ in range(count))
    rates = [rate]
    for _ in times:
        rates.append(min(max(rates[-1] * math.exp(rng.uniform(-1.4, 1.4)), 0.2), 40.0))
    limit = _base(rng, rates[-1])
    for at, before in zip(reversed(times), reversed(rates[:-1]), strict=True):
        limit = {"kind": "step", "at": at, "before": _base(rng, before), "after": limit}
    return [limit]


def _outage(rng: random.Random, rate: float) -> list[Limit]:
    period = rng.uniform(30.0, 120.0)
    outage = {
        "kind": "outage",
        "period": _r(period, 1),
        "duration": _r(rng.uniform(3.0, min(15.0, period / 3)), 1),
        "offset": _r(rng.uniform(0.0, min(period, EVENTS_BEFORE)), 1),
    }
    return [_base(rng, rate), outage]


def _sliding(kind: str) -> Callable[[random.Random, float], Limit]:
    """A sliding-window log or counter: at most `limit` in any `window` seconds."""

    def shape(rng: random.Random, rate: float) -> Limit:
        window = rng.choice(WINDOWS)
        return {"kind": kind, "limit": max(1, round(rate * window)), "window": window}

    return shape


def _gcra(rng: random.Random, rate: float) -> Limit:
    """Paced at `rate`, with room for a burst of 1 to 6 back to back."""
    interval = 1.0 / max(rate, 0.1)
    return {
        "kind": "gcra",
        "interval": _r(interval, 4),
        "tolerance": _r(interval * rng.choice((0.0, 1.0, 2.0, 5.0)), 4),
    }


def _leaky_bucket(rng: random.Random, rate: float) -> Limit:
    return {
        "kind": "leaky_bucket",
        "rate": _r(max(rate, 0.1), 2),
        "burst": float(rng.randint(1, 3)),
    }


def _concurrency(rng: random.Random, rate: float) -> Limit:
    """Requests in flight: each holds its slot 0.2–1.5 s (far beyond its latency)."""
    hold = rng.uniform(0.2, 1.5)
    limit = max(1, round(rate * hold))
    return {"kind": "concurrency", "limit": limit, "hold": _r(limit / max(rate, 0.1), 3)}


def _sinusoid_bucket(rng: random.Random, rate: float) -> list[Limit]:
    """A token bucket whose refill rate follows a sinusoid."""
    base = max(0.5, rate)
    return [
        {
            "kind": "sinusoid_bucket",
            "base": _r(base, 2),
            "amplitude": _r(base * rng.uniform(0.3, 0.95), 2),
            "period": _r(rng.uniform(10.0, 120.0), 1),
            "phase": _r(rng.uniform(0.0, 2 * math.pi), 3),
            "burst": float(max(1, round(base * rng.uniform(1.0, 3.0)))),
        }
    ]


def _piecewise_bucket(rng: random.Random, rate: float) -> list[Limit]:
    """A token bucket whose refill rate changes in 2–4 steps, repeating or not."""
    count = rng.randint(2, 4)
    starts = [0.0, *sorted(_r(rng.uniform(10.0, EVENTS_BEFORE), 1) for _ in range(count - 1))]
    rates = [_r(min(max(rate * math.exp(rng.uniform(-1.4, 1.4)), 0.0), 40.0), 2) for _ in starts]
    limit: Limit = {
        "kind": "piecewise_bucket",
        "segments": [[start, r] for start, r in zip(starts, rates, strict=True)],
        "burst": float(max(1, round(max(rates)))),
    }
    if rng.random() < 0.5:
        limit["period"] = _r(starts[-1] + rng.uniform(10.0, 60.0), 1)
    return [limit]


def _one(
    shape: Callable[[random.Random, float], Limit],
) -> Callable[[random.Random, float], list[Limit]]:
    return lambda rng, rate: [shape(rng, rate)]


Shape = Callable[[random.Random, float], list[Limit]]
STATIONARY: tuple[tuple[str, Shape], ...] = (
    ("fixed_window", _one(_fixed_window)),
    ("token_bucket", _one(_token_bucket)),
    ("stacked", _stacked),
    ("sliding_log", _one(_sliding("sliding_log"))),
    ("sliding_counter", _one(_sliding("sliding_counter"))),
    ("gcra", _one(_gcra)),
    ("leaky_bucket", _one(_leaky_bucket)),
    ("concurrency", _one(_concurrency)),
)
CHANGING: tuple[tuple[str, Shape], ...] = (
    ("sinusoid", _sinusoid),
    ("sinusoid_bucket", _sinusoid_bucket),
    ("piecewise_bucket", _piecewise_bucket),
    ("steps", _steps),
    ("outage", _outage),
)
RETRY_AFTER = (("seconds", 0.35), ("date", 0.15), ("fractional", 0.1), ("none", 0.4))
"""Retry-After modes and their shares: most real servers send whole seconds or nothing."""
DRIFT_SHARE: Mapping[str, float] = MappingProxyType({"T2": 0.15, "T3": 0.4})
"""Share of servers whose error rate drifts, per tier."""
HEADERS = (("ietf", 0.2), ("x", 0.15), ("none", 0.65))
"""Rate-limit header styles and their shares."""


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([name for name, _ in weighted], [w for _, w in weighted])[0]


GENERATED_KINDS = LIMIT_KINDS
"""The family draws every limit kind there is (a test checks each appears)."""


def _error_rate(rng: random.Random) -> float:
    kind = rng.random()
    if kind < 0.25:
        return _r(rng.uniform(0.02, 0.2))
    if kind < 0.5:
        return _r(rng.uniform(0.2, 0.6))
    return _r(rng.uniform(0.6, 0.95))


def _capacities(rng: random.Random, total: float) -> list[float]:
    weights = [rng.gammavariate(1.0, 1.0) for _ in range(SERVERS_PER_TIER)]
    scale = total / sum(weights)
    return [max(0.2, w * scale) for w in weights]


def tier_servers(seed: int, tier: str) -> tuple[list[dict[str, Any]], str]:
    """The server tables of one tier and a one-phrase summary of its draws."""
    if tier not in TIER_PORTS:
        raise ConfigError(f"generated tiers are {', '.join(TIERS)}; got {tier!r}")
    rng = random.Random(f"banditlb.generate/{seed}/{tier}")
    low, high = CAPACITY_FACTOR
    factor = math.exp(rng.uniform(math.log(low), math.log(high)))
    total = RATE * factor
    caps = _capacities(rng, total)
    errors = [_error_rate(rng) for _ in range(SERVERS_PER_TIER)]
    if min(errors) > 0.2:
        errors[rng.randrange(SERVERS_PER_TIER)] = _r(rng.uniform(0.02, 0.2))
    scarce_good = rng.random() < 0.5
    if scarce_good:  # as in the default T2: the reliable servers are the rate-limited ones
        order = sorted(range(SERVERS_PER_TIER), key=errors.__getitem__)
        caps = [c for _, c in sorted(zip(order, sorted(caps), strict=True))]
    shapes = STATIONARY if tier == "T2" else CHANGING + CHANGING + STATIONARY
    servers: list[dict[str, Any]] = []
    for i, (cap, error) in enumerate(zip(caps, errors, strict=True)):
        _, shape = rng.choice(shapes)
        mean = rng.uniform(0.001, 0.05)
        servers.append(
            {
                "name": f"{tier.lower()}-{i}",
                "tier": tier,
                "port": TIER_PORTS[tier] + i,
                "error_rate": error,
                "retry_after": _pick(rng, RETRY_AFTER),
                "rate_limit_headers": _pick(rng, HEADERS),
                "latency": {"mean": _r(mean, 4), "jitter": _r(rng.uniform(0.0, mean / 2), 4)},
                "limits": shape(rng, cap),
            }
        )
    drifting = _add_drift(seed, tier, servers)
    regime = "tight" if factor < FREE_ATTEMPTS else "ample"
    scarcity = ", good servers scarce" if scarce_good else ""
    drift = f", {drifting} error rates drifting" if drifting else ""
    return servers, f"{tier} {regime} (capacity ≈ {total:.1f} req/s{scarcity}{drift})"


def _add_drift(seed: int, tier: str, servers: list[dict[str, Any]]) -> int:
    """Error rates that drift (a sinusoid around the base rate) on some servers; returns how many.

    Drawn from a stream of its own, so the drift leaves every other draw of the tier as it was.
    """
    rng = random.Random(f"banditlb.generate/{seed}/{tier}/drift")
    share = DRIFT_SHARE[tier]
    count = 0
    for server in servers:
        if rng.random() < share:
            server["error_drift"] = {
                "amplitude": _r(rng.uniform(0.05, 0.3), 3),
                "period": _r(rng.uniform(60.0, 600.0), 1),
                "phase": _r(rng.uniform(0.0, 2 * math.pi), 3),
            }
            count += 1
    return count


def document(seed: int, tiers: Sequence[str] = TIERS) -> dict[str, Any]:
    """The scenario as a TOML-shaped dict."""
    if not tiers:
        raise ConfigError("a generated scenario needs at least one tier")
    servers: list[dict[str, Any]] = []
    phrases: list[str] = []
    for tier in dict.fromkeys(tiers):
        tables, phrase = tier_servers(seed, tier)
        servers.extend(tables)
        phrases.append(phrase)
    suffix = "" if tuple(tiers) == TIERS else "-" + "-".join(dict.fromkeys(tiers))
    return {
        "name": f"random-{seed}{suffix}",
        "description": f"generated from seed {seed}: " + "; ".join(phrases),
        "seed": seed,
        "rate": RATE,
        "servers": servers,
    }


def generate_toml(seed: int, tiers: Sequence[str] = TIERS) -> str:
    """The TOML text of generated scenario `seed` (same seed and tiers, same bytes)."""
    doc = document(seed, tiers)
    lines = [f"{key} = {_value(doc[key])}" for key in ("name", "description", "seed", "rate")]
    for server in doc["servers"]:
        lines.append("")
        lines.append("[[servers]]")
        lines.extend(f"{key} = {_value(value)}" for key, value in server.items())
    return "\n".join(lines) + "\n"


def generate(seed: int, tiers: Sequence[str] = TIERS) -> Scenario:
    """Generated scenario `seed`, parsed and validated like any scenario file."""
    return loads(generate_toml(seed, tiers), f"{PREFIX}{seed}")


def parse_seeds(text: str) -> range:
    """'7' or '0-99' (inclusive) into a range of seeds; anything else is a ConfigError."""
    first, dash, last = text.partition("-")
    try:
        low = int(first)
        high = int(last) if dash else low
    except ValueError:
        raise ConfigError(
            f"generated scenarios are named {PREFIX}N or {PREFIX}A-B (seeds >= 0), got {text!r}"
        ) from None
    if low < 0 or high < low:
        raise ConfigError(f"seed range {text!r} must have 0 <= first <= last")
    if high - low + 1 > MAX_SCENARIOS:
        raise ConfigError(f"seed range {text!r} has more than {MAX_SCENARIOS} scenarios")
    return range(low, high + 1)


def _value(value: Any) -> str:
    """A TOML value: strings, booleans, integers, floats, arrays and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")  # pragma: no cover - only our own values
