"""`GET /api/events`: the live page's Server-Sent Events, one bounded event per interval.

Each event holds fixed-size aggregates only: totals, the increments since the previous event on
the same connection, one row per server (with its Beta posterior's alpha/beta), the latency
quantiles and histogram when the balancer's state gives one, and, on the first event only, the
last minute's per-second deliveries to seed the chart. Never the run's history.

Streams end after `stream_seconds` (5 s); browsers' EventSource reconnects by itself after the
`retry:` hint (0.25 s). Uvicorn's graceful shutdown waits for open responses and tells the app
nothing, so short streams are what keep an open dashboard tab from holding a shutdown for long.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from banditlb.json_errors import error_response

StateProvider = Callable[[Request], Mapping[str, Any]]
"""Returns the balancer's `/api/state` document (settings, stats, strategy) for this request."""

_KINDS = ("accepted", "failed", "rate_limited", "timeout", "connection_error")
_DELTA_KEYS = ("requests", "delivered", "attempts", "penalised", "score")
MAX_COUNT = 10_000
STREAM_SECONDS = 5.0
RETRY_MS = 250


def live_event(
    state: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    *,
    oracle_per_request: float | None = None,
) -> dict[str, Any]:
    """One event from the balancer's state; `previous` is the last event sent (or None)."""
    settings = state.get("settings") or {}
    stats = state.get("stats") or {}
    now = _num(state.get("now")) or 0.0
    penalty = _num(settings.get("penalty"))
    penalty = 1.0 if penalty is None else penalty
    latency = stats.get("latency") or {}
    requests = int(stats.get("requests", 0))
    delivered = int(stats.get("delivered", 0))
    penalised = int(stats.get("penalised_attempts", 0))
    score = delivered - penalty * penalised
    referee = state.get("referee") or {}
    oracle = _num(state.get("oracle_per_request"))
    oracle = oracle if oracle is not None else oracle_per_request
    totals = {
        "requests": requests,
        "delivered": delivered,
        "attempts": int(stats.get("attempts", 0)),
        "penalised": penalised,
        "score": score,
        "referee_score": _num(referee.get("score")),
        "oracle_per_request": oracle,
        "pct_oracle": (100.0 * score / (oracle * requests)) if oracle and requests else None,
        "p50_ms": _ms(latency.get("p50_s")),
        "p99_ms": _ms(latency.get("p99_s")),
        "in_flight": state.get("in_flight"),
    }
    event: dict[str, Any] = {
        "now": now,
        "uptime_s": _num(state.get("uptime_s")),
        "settings": {
            key: settings.get(key) for key in ("label", "scenario", "tier", "strategy", "penalty")
        },
        "totals": totals,
        "delta": _delta(totals, previous, now),
        "arms": _arms(state, now),
        "latency_histogram": _histogram(latency),
    }
    cluster = state.get("cluster")
    if isinstance(cluster, Mapping):  # replicas sharing state (--state): a few rows per replica
        event["cluster"] = _cluster(cluster)
    if previous is None:
        event["per_second"] = stats.get("per_second")
    return event


def _cluster(cluster: Mapping[str, Any]) -> dict[str, Any]:
    """The cluster card: this replica's link to Redis, the replicas and their traffic shares,
    and the cluster's sends per server in the last second (the shared budget being spent)."""
    return {
        "cluster": cluster.get("cluster"),
        "mode": cluster.get("mode"),
        "connected": bool(cluster.get("connected")),
        "down_s": _num(cluster.get("down_s")),
        "last_error": cluster.get("last_error"),
        "received": int(cluster.get("received") or 0),
        "queued": int(cluster.get("queued") or 0),
        "replicas": [
            {
                "replica": r.get("replica"),
                "label": r.get("label"),
                "self": bool(r.get("self")),
                "alive": bool(r.get("alive")),
                "requests": int(r.get("requests") or 0),
                "share": _num(r.get("share")) or 0.0,
            }
            for r in (cluster.get("replicas") or [])[:64]
        ],
        "sends_1s": dict(cluster.get("cluster_sends_1s") or {}),
    }


def _arms(state: Mapping[str, Any], now: float) -> list[dict[str, Any]]:
    stats = state.get("stats") or {}
    counts = {int(row["arm"]): row for row in stats.get("arms", [])}
    total = sum(sum(int(row.get(k, 0)) for k in _KINDS) for row in counts.values())
    strategy_arms = (state.get("strategy") or {}).get("arms") or []
    snaps = {int(snap["arm"]): snap for snap in strategy_arms}
    rows = []
    for arm in sorted(counts.keys() | snaps.keys()):
        row, snap = counts.get(arm, {}), snaps.get(arm, {})
        attempts = sum(int(row.get(k, 0)) for k in _KINDS)
        answered = attempts - int(row.get("rate_limited", 0))
        blocked_until = _num(snap.get("blocked_until"))
        rows.append(
            {
                "arm": arm,
                "server": row.get("server") or snap.get("server") or f"arm {arm}",
                "attempts": attempts,
                **{kind: int(row.get(kind, 0)) for kind in _KINDS},
                "share": attempts / total if total else 0.0,
                "success_rate": int(row.get("accepted", 0)) / answered if answered else None,
                "blocked": blocked_until is not None and blocked_until > now,
                "blocked_for_s": max(0.0, blocked_until - now) if blocked_until else 0.0,
                "capacity": _num(snap.get("capacity")),
                "estimate": _num(snap.get("estimate")),
                "alpha": _num(snap.get("alpha")),
                "beta": _num(snap.get("beta")),
            }
        )
    return rows


def _histogram(latency: Mapping[str, Any]) -> dict[str, list[float]] | None:
    """Bucket upper bounds (ms) and counts from `latency.histogram`.

    The balancer's shape is `{bounds_s, counts, overflow}`: finite bounds, their counts and the
    count above the last bound (kept apart so the document stays JSON without infinities);
    `counts` one longer than `bounds_s` means the same. The open bucket's bound is shown as -1.
    Empty buckets at both ends are cut.
    """
    hist = latency.get("histogram")
    if not isinstance(hist, Mapping):
        return None
    bounds = [float(b) for b in hist.get("bounds_s", [])]
    counts = [int(c) for c in hist.get("counts", [])]
    overflow = hist.get("overflow")
    if isinstance(overflow, int) and len(counts) == len(bounds):
        counts.append(overflow)
    if len(counts) == len(bounds) + 1:
        bounds.append(math.inf)
    if not counts or len(bounds) != len(counts):
        return None
    used = [i for i, c in enumerate(counts) if c]
    if not used:
        return {"upper_ms": [], "counts": []}
    lo, hi = used[0], used[-1]
    return {
        "upper_ms": [b * 1000.0 if math.isfinite(b) else -1.0 for b in bounds[lo : hi + 1]],
        "counts": [float(c) for c in counts[lo : hi + 1]],
    }


def _delta(
    totals: Mapping[str, Any], previous: Mapping[str, Any] | None, now: float
) -> dict[str, float] | None:
    if previous is None:
        return None
    before = previous["totals"]
    delta = {key: float(totals[key] - before[key]) for key in _DELTA_KEYS}
    delta["dt"] = max(0.0, now - float(previous["now"]))
    return delta


def _num(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _ms(seconds: object) -> float | None:
    value = _num(seconds)
    return None if value is None else value * 1000.0


class EventStream:
    """The SSE endpoint: polls `provider` every `interval` seconds for `stream_seconds`."""

    def __init__(
        self,
        provider: StateProvider,
        *,
        interval: float = 1.0,
        stream_seconds: float = STREAM_SECONDS,
        oracle_per_request: float | None = None,
    ) -> None:
        self.provider = provider
        self.interval = interval
        self.stream_seconds = stream_seconds
        self.oracle_per_request = oracle_per_request

    async def endpoint(self, request: Request) -> Response:
        raw = request.query_params.get("count")
        count = int(raw) if raw and raw.isdigit() else None
        if raw is not None and (count is None or not 0 < count <= MAX_COUNT):
            return error_response(
                400, f"count must be an integer between 1 and {MAX_COUNT}; got {raw[:20]!r}"
            )
        return StreamingResponse(
            self._events(request, count),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _events(self, request: Request, count: int | None) -> AsyncIterator[str]:
        limit = count if count is not None else max(1, int(self.stream_seconds / self.interval))
        previous: dict[str, Any] | None = None
        yield f"retry: {RETRY_MS}\n\n"
        for sent in range(limit):
            if sent:
                await asyncio.sleep(self.interval)
            event = live_event(
                self.provider(request), previous, oracle_per_request=self.oracle_per_request
            )
            previous = event
            yield f"event: state\ndata: {json.dumps(event, allow_nan=False)}\n\n"
