"""The shared state's wire format and key layout, pure (no Redis here).

Replicas exchange *events*: one per answered attempt, naming the server by its upstream name
(replicas agree on names, not on list order), the outcome as strategies see it, the attempt
number and the wall-clock time the attempt left. A batch of events is one compact JSON array,
one stream entry. Decoding is tolerant: another version's or a corrupted entry is skipped and
counted, never raised into the serving loop.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome, OutcomeKind, Quota

_CLUSTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_KINDS = MappingProxyType({kind.value: kind for kind in OutcomeKind})


def check_cluster_name(name: str) -> str:
    """`name` if it is a valid cluster name (it becomes part of every Redis key)."""
    if not _CLUSTER_NAME.fullmatch(name):
        raise ConfigError(
            f"--cluster must be 1-64 ASCII letters, digits, '_', '.' or '-' "
            f"(starting with a letter or digit), got {name!r}"
        )
    return name


@dataclass(frozen=True, slots=True)
class ClusterKeys:
    """Every key one cluster uses; all carry the cluster's name and expire (`ttl`)."""

    cluster: str

    @property
    def prefix(self) -> str:
        return f"banditlb:{self.cluster}:"

    @property
    def events(self) -> str:
        """A stream: one entry per batch of answered attempts (fields r = replica, e = batch)."""
        return f"{self.prefix}events"

    @property
    def replicas(self) -> str:
        """A hash: replica id -> its last heartbeat (JSON)."""
        return f"{self.prefix}replicas"

    @property
    def batches(self) -> str:
        """A hash: replica id -> the last batch number written (a retried write is not doubled)."""
        return f"{self.prefix}batches"

    def all(self) -> tuple[str, str, str]:
        return (self.events, self.replicas, self.batches)


@dataclass(frozen=True, slots=True)
class PeerEvent:
    """One answered attempt as replicas exchange it."""

    server: str
    attempt: int
    outcome: Outcome
    sent_wall: float  # Unix time the attempt left its replica


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _row(event: PeerEvent) -> list[Any]:
    o = event.outcome
    quota = None
    if o.quota is not None:
        q = o.quota
        quota = [q.remaining, round(q.reset, 3), q.limit, q.window]
    retry = None if o.retry_after is None else round(o.retry_after, 3)
    return [
        event.server,
        o.kind.value,
        o.status,
        retry,
        round(o.latency, 6),
        event.attempt,
        round(event.sent_wall, 6),
        quota,
    ]


def encode_batch(events: Iterable[PeerEvent]) -> str:
    """Events as one compact JSON array (the `e` field of a stream entry)."""
    return json.dumps([_row(e) for e in events], separators=(",", ":"))


def _quota(raw: Any) -> Quota | None:
    if raw is None:
        return None
    remaining, reset, limit, window = raw
    if not (isinstance(remaining, int) and _finite(reset)):
        raise ValueError("bad quota")
    if limit is not None and not isinstance(limit, int):
        raise ValueError("bad quota limit")
    if window is not None and not _finite(window):
        raise ValueError("bad quota window")
    return Quota(remaining, float(reset), limit, None if window is None else float(window))


def _event(row: Any) -> PeerEvent:
    server, kind, status, retry, latency, attempt, sent_wall, quota = row
    if not (isinstance(server, str) and kind in _KINDS and isinstance(attempt, int)):
        raise ValueError("bad event")
    if status is not None and not isinstance(status, int):
        raise ValueError("bad status")
    if retry is not None and not _finite(retry):
        raise ValueError("bad retry_after")
    if not (_finite(latency) and latency >= 0 and _finite(sent_wall) and attempt >= 1):
        raise ValueError("bad times")
    outcome = Outcome(
        _KINDS[kind],
        status,
        None if retry is None else float(retry),
        float(latency),
        _quota(quota),
    )
    return PeerEvent(server, attempt, outcome, float(sent_wall))


def decode_batch(text: str | bytes) -> tuple[list[PeerEvent], int]:
    """The events of one batch and how many rows were malformed (skipped)."""
    try:
        rows = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return [], 1
    if not isinstance(rows, list):
        return [], 1
    events: list[PeerEvent] = []
    bad = 0
    for row in rows:
        try:
            events.append(_event(row))
        except (ValueError, TypeError):
            bad += 1
    return events, bad


def on_our_clock(sent_wall: float, latency: float, now: float, wall_now: float) -> float:
    """When a peer's answer arrived, on our clock (`now` at Unix time `wall_now`); never in
    the future (clocks of replicas on other hosts may differ by a little)."""
    return min(now, now - (wall_now - (sent_wall + latency)))


def shares(requests: Sequence[int]) -> list[float]:
    """Each replica's share of the cluster's client requests (0 each when none yet)."""
    total = sum(requests)
    return [n / total if total else 0.0 for n in requests]
