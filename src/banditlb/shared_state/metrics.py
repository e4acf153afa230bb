"""Prometheus families for a replica's shared state (`--state`), read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from banditlb.shared_state.redis_state import SharedState


def shared_state_metrics(shared: SharedState, now: float) -> Iterator[Metric]:
    """Whether Redis answers, what went through it, the cluster's replicas and sends."""
    cluster = shared.config.cluster
    status = shared.status(now)
    gauges = (
        ("banditlb_shared_state_up",
         "1 while the cluster's Redis answers (shared state), 0 while this replica serves on "
         "local state.", 1.0 if shared.up else 0.0),
        ("banditlb_shared_state_queued", "Own answers waiting for Redis.", status["queued"]),
        ("banditlb_cluster_replicas", "Replicas with a live heartbeat.",
         sum(1 for r in status["replicas"] if r["alive"])),
    )  # fmt: skip
    for name, text, value in gauges:
        gauge = GaugeMetricFamily(name, text, labels=["cluster"])
        gauge.add_metric([cluster], value)
        yield gauge
    counters = (
        ("banditlb_shared_state_errors", "Redis calls that failed or missed their deadline.",
         shared.errors),
        ("banditlb_shared_state_outages", "Times this replica went over to local state.",
         shared.outages),
        ("banditlb_shared_state_sent", "Own answers written to the cluster.", shared.sent),
        ("banditlb_shared_state_received", "Peers' answers learned from.", shared.received),
        ("banditlb_shared_state_dropped",
         "Own answers dropped while Redis was away (queue full).", shared.dropped),
    )  # fmt: skip
    for name, text, value in counters:
        family = CounterMetricFamily(name, text, labels=["cluster"])
        family.add_metric([cluster], value)
        yield family
    sends = GaugeMetricFamily(
        "banditlb_cluster_sends_last_second",
        "Sends of the whole cluster per server in the last second (the shared budget spent).",
        labels=["cluster", "server"],
    )
    for server, count in status.get("cluster_sends_1s", {}).items():
        sends.add_metric([cluster, server], count)
    yield sends
