"""Prometheus `/metrics`: a custom collector that reads `LiveStats` and the strategy at scrape time.

The request path pays nothing for metrics: every number is read from the live aggregates the
balancer keeps anyway (fixed-size counters and histograms), when Prometheus asks. Each app has
its own `CollectorRegistry` (never the global default), so apps in one process never clash.

Families (all prefixed `banditlb_`):
  requests_total{result}                  client requests by final result, plus "rejected"
  attempts_total{server,outcome}          downstream attempts by server and outcome
  penalised_attempts_total                attempts past the free ones
  holds_total, held_seconds_total         waits a pacing strategy asked for before attempts
  request_latency_seconds                 client request latency histogram
  attempt_latency_seconds{server}         downstream attempt latency histogram per server
  in_flight                               client requests being served now
  arm_estimate{server}                    strategy's P(an attempt sent now is accepted)
  arm_capacity{server}                    strategy's estimated capacity (when it keeps one)
  arm_blocked{server}                     1 while the server is cooling down (Retry-After or
                                          the strategy's own block), else 0
  arm_blocked_seconds{server}             seconds left of that cool-down
plus the standard `process_*` metrics (resident memory, CPU, open fds) of this process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from banditlb.balancer.stats import LatencyHistogram, LiveStats, Result
from banditlb.game.clock import Clock
from banditlb.game.router import Router
from banditlb.shared_state import SharedState
from banditlb.shared_state.metrics import shared_state_metrics
from banditlb.strategies.base import Strategy


class MetricsSource(Protocol):
    """What the collector reads: the balancer's `BalancerState`, or the proxy's `ProxyState`
    (server names come from `stats.servers`, Retry-After blocks from `router`)."""

    @property
    def stats(self) -> LiveStats: ...

    @property
    def in_flight(self) -> int: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def strategy(self) -> Strategy: ...

    @property
    def router(self) -> Router: ...

    @property
    def shared(self) -> SharedState | None: ...


StateGetter = Callable[[], "MetricsSource | None"]


def histogram_buckets(histogram: LatencyHistogram) -> list[tuple[str, float]]:
    """Cumulative Prometheus buckets `(le, count)` from a fixed-bucket histogram."""
    buckets: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip(histogram.bounds, histogram.counts, strict=True):
        running += count
        buckets.append(("+Inf" if math.isinf(bound) else repr(bound), float(running)))
    return buckets


class BalancerCollector(Collector):
    """Reads the running balancer's state on each scrape; yields nothing before the lifespan."""

    def __init__(self, state: StateGetter) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        state = self._state()
        if state is None:
            return
        stats = state.stats
        requests = CounterMetricFamily(
            "banditlb_requests", "Client requests by final result.", labels=["result"]
        )
        for result in Result:
            requests.add_metric([result.value], stats.results[result])
        requests.add_metric(["rejected"], stats.rejected)
        yield requests

        attempts = CounterMetricFamily(
            "banditlb_attempts",
            "Downstream attempts by server and outcome.",
            labels=["server", "outcome"],
        )
        for name, kinds in zip(stats.servers, stats.arm_kinds, strict=True):
            for kind, count in kinds.items():
                attempts.add_metric([name, kind.value], count)
        yield attempts
        yield CounterMetricFamily(
            "banditlb_penalised_attempts",
            "Attempts past the free ones (each costs the penalty).",
            value=stats.penalised_attempts,
        )

        yield CounterMetricFamily(
            "banditlb_holds",
            "Waits before an attempt, asked for by a pacing strategy (the planner) so as not to "
            "send into a server without room.",
            value=stats.holds,
        )
        yield CounterMetricFamily(
            "banditlb_held_seconds", "Seconds spent in those waits.", value=stats.held_s
        )
        latency = HistogramMetricFamily(
            "banditlb_request_latency_seconds", "Client request latency in seconds."
        )
        latency.add_metric([], histogram_buckets(stats.latency), stats.latency.total)
        yield latency
        attempt_latency = HistogramMetricFamily(
            "banditlb_attempt_latency_seconds",
            "Downstream attempt latency in seconds, per server.",
            labels=["server"],
        )
        for name, histogram in zip(stats.servers, stats.attempt_latency, strict=True):
            attempt_latency.add_metric([name], histogram_buckets(histogram), histogram.total)
        yield attempt_latency

        yield GaugeMetricFamily(
            "banditlb_in_flight", "Client requests being served now.", value=state.in_flight
        )
        yield from self._arms(state)
        if state.shared is not None:
            yield from shared_state_metrics(state.shared, state.clock.now())

    def _arms(self, state: MetricsSource) -> Iterator[Metric]:
        now = state.clock.now()
        names = state.stats.servers
        estimate = GaugeMetricFamily(
            "banditlb_arm_estimate",
            "Strategy's estimated probability that an attempt sent now is accepted.",
            labels=["server"],
        )
        capacity = GaugeMetricFamily(
            "banditlb_arm_capacity",
            "Strategy's estimated capacity in accepted requests per second (when it keeps one).",
            labels=["server"],
        )
        blocked = GaugeMetricFamily(
            "banditlb_arm_blocked", "1 while the server is cooling down, else 0.", labels=["server"]
        )
        blocked_for = GaugeMetricFamily(
            "banditlb_arm_blocked_seconds",
            "Seconds left before the server may be tried again.",
            labels=["server"],
        )
        for snap in state.strategy.snapshot(now):
            name = [names[snap.arm]]
            estimate.add_metric(name, snap.estimate)
            if snap.capacity is not None:
                capacity.add_metric(name, snap.capacity)
            until = max(state.router.blocked_until[snap.arm], snap.blocked_until or 0.0)
            left = max(0.0, until - now) if math.isfinite(until) else math.inf
            blocked.add_metric(name, 1.0 if left > 0 else 0.0)
            blocked_for.add_metric(name, left)
        yield estimate
        yield capacity
        yield blocked
        yield blocked_for


def metrics_registry(state: StateGetter) -> CollectorRegistry:
    """A fresh registry with the balancer's collector and this process's metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BalancerCollector(state))
    ProcessCollector(registry=registry)
    return registry


def metrics_route(registry: CollectorRegistry) -> Route:
    """`GET /metrics` in the Prometheus text format."""

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"])
