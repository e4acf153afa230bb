"""The shared state's wire format and key layout (pure)."""

from __future__ import annotations

import json

import pytest

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome, OutcomeKind, Quota
from banditlb.shared_state.events import (
    ClusterKeys,
    PeerEvent,
    check_cluster_name,
    decode_batch,
    encode_batch,
    on_our_clock,
)
from banditlb.shared_state.redis_state import SharedStateConfig, parse_state_url

EVENTS = [
    PeerEvent("t2-0", 1, Outcome(OutcomeKind.ACCEPTED, 200, None, 0.004), 1_700_000_000.25),
    PeerEvent("t2-1", 2, Outcome(OutcomeKind.RATE_LIMITED, 429, 1.0, 0.002), 1_700_000_000.5),
    PeerEvent(
        "t3-9", 3, Outcome(OutcomeKind.FAILED, 500, None, 0.01, Quota(0, 1.0, 5, 1.0)), 1.7e9
    ),
    PeerEvent("t1-4", 1, Outcome(OutcomeKind.TIMEOUT, None, None, 2.0), 1.7e9),
]


def test_batch_round_trip() -> None:
    """A batch decodes to exactly the events encoded, quotas and Retry-After included."""
    events, bad = decode_batch(encode_batch(EVENTS))
    assert bad == 0
    assert events == EVENTS


def test_malformed_rows_are_skipped_and_counted() -> None:
    """Rows another version or a corruption wrote are skipped and counted, never raised."""
    good = json.loads(encode_batch(EVENTS[:1]))
    rows = [*good, ["t2-0", "exploded", 200, None, 0.1, 1, 1.0, None], [1, 2], "x",
            ["t2-0", "accepted", 200, None, -1.0, 1, 1.0, None],
            ["t2-0", "accepted", 200, None, 0.1, 0, 1.0, None]]  # fmt: skip
    events, bad = decode_batch(json.dumps(rows))
    assert events == EVENTS[:1]
    assert bad == 5
    assert decode_batch(b"not json") == ([], 1)
    assert decode_batch("{}") == ([], 1)


def test_keys_carry_the_cluster_name() -> None:
    """Every key of a cluster starts with banditlb:<cluster>: so clusters never mix."""
    keys = ClusterKeys("blue").all()
    assert keys == ("banditlb:blue:events", "banditlb:blue:replicas", "banditlb:blue:batches")
    assert not set(keys) & set(ClusterKeys("green").all())


@pytest.mark.parametrize("name", ["", "-x", "a b", "a:b", "x" * 65, "é"])
def test_bad_cluster_names_are_refused(name: str) -> None:
    """A cluster name that would break the key layout is refused with the rule."""
    with pytest.raises(ConfigError, match="--cluster must be"):
        check_cluster_name(name)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:6379", "must be a Redis URL"),
        ("127.0.0.1:6379", "must be a Redis URL"),
        ("redis://:6379/0", "needs a host"),
        ("redis://127.0.0.1:99999/0", "bad port"),
        ("redis://127.0.0.1:6379/x", "must be a number"),
    ],
)
def test_bad_state_urls_are_refused(url: str, message: str) -> None:
    """--state takes redis://HOST:PORT/DB (or rediss://, unix://); anything else is refused."""
    with pytest.raises(ConfigError, match=message):
        parse_state_url(url)


def test_state_settings_are_checked() -> None:
    """A deadline outside 1 ms..10 s is refused, naming the option."""
    with pytest.raises(ConfigError, match="--state-timeout"):
        SharedStateConfig("redis://127.0.0.1:6379/0", timeout=0.0)
    assert SharedStateConfig("redis://h:1/2", cluster="c").keys.cluster == "c"


def test_peer_times_land_on_our_clock_never_in_the_future() -> None:
    """A peer's answer time maps through the wall clocks onto ours, capped at our now."""
    assert on_our_clock(1000.0, 0.5, now=20.0, wall_now=1002.0) == pytest.approx(18.5)
    assert on_our_clock(1003.0, 0.5, now=20.0, wall_now=1002.0) == 20.0  # skewed clocks
