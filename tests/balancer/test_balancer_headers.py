"""Reading rate-limit signals as real servers send them: Retry-After, RateLimit, X-RateLimit."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from banditlb.balancer.headers import parse_quota, parse_retry_after
from banditlb.game.outcome import Quota

NOW = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("  7\t", 7.0),
        ("0", 0.0),
        ("0.35", 0.35),  # banditlb's opt-in fractional mode
        ("+3", 3.0),
        ("-5", 0.0),  # negative: retry now
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # IMF-fixdate, now
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 08:28:00 GMT", 3600.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
        ("Wednesday, 21-Oct-15 07:28:10 GMT", 10.0),  # obsolete RFC 850
        ("Wed Oct 21 07:28:20 2015", 20.0),  # obsolete asctime
        ("Wed, 21 Oct 2015 09:28:05 +0200", 5.0),  # RFC 5322 numeric zone, lenient
        ("", None),
        ("soon", None),
        ("1e3", None),
        ("nan", None),
        ("inf", None),
        ("12 seconds", None),
        ("Wed, 32 Oct 2015 07:28:00 GMT", None),
        ("Mon, 99 Foo 2015 07:28:00 GMT", None),
        (None, None),
    ],
)
def test_retry_after_seconds_dates_and_garbage(value: str | None, expected: float | None) -> None:
    """Delta-seconds and all three HTTP-date forms give seconds from now; garbage gives None."""
    assert parse_retry_after(value, now=NOW) == expected


def quota(now: float = NOW, **fields: str) -> Quota | None:
    return parse_quota(CIMultiDict({k.replace("_", "-"): v for k, v in fields.items()}), now)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # the current draft: structured fields, one policy
        (
            {"RateLimit_Policy": '"default";q=100;w=60', "RateLimit": '"default";r=50;t=30'},
            Quota(50, 30.0, 100, 60.0),
        ),
        # no policy: remaining and reset only
        ({"RateLimit": '"default";r=0;t=2'}, Quota(0, 2.0)),
        # lower-case names, token policy names, extra parameters
        (
            {"ratelimit-policy": "burst;q=10;w=1;pk=:abc=:", "ratelimit": "burst;r=3;t=1"},
            Quota(3, 1.0, 10, 1.0),
        ),
        # two policies: the most restrictive wins, with its own policy
        (
            {
                "RateLimit_Policy": '"burst";q=100;w=60, "daily";q=1000;w=86400',
                "RateLimit": '"burst";r=40;t=20, "daily";r=7;t=3600',
            },
            Quota(7, 3600.0, 1000, 86400.0),
        ),
        # the same remaining: the longer reset wins
        ({"RateLimit": '"a";r=0;t=1, "b";r=0;t=9'}, Quota(0, 9.0)),
        # an older draft's dictionary form
        ({"RateLimit": "limit=100, remaining=50, reset=30"}, Quota(50, 30.0, 100)),
        # the older separate fields, with a policy in the limit
        (
            {
                "RateLimit_Limit": "10, 10;w=1, 1000;w=3600",
                "RateLimit_Remaining": "4",
                "RateLimit_Reset": "1",
            },
            Quota(4, 1.0, 10, 1.0),
        ),
        (
            {"RateLimit_Limit": "60", "RateLimit_Remaining": "59", "RateLimit_Reset": "60"},
            Quota(59, 60.0, 60),
        ),
        # X-RateLimit with a delta reset (Twitter-like APIs send epoch, others deltas)
        (
            {"X_RateLimit_Limit": "60", "X_RateLimit_Remaining": "0", "X_RateLimit_Reset": "12"},
            Quota(0, 12.0, 60),
        ),
        # GitHub: Reset is an epoch timestamp
        (
            {
                "X_RateLimit_Limit": "5000",
                "X_RateLimit_Remaining": "4999",
                "X_RateLimit_Reset": str(int(NOW) + 3000),
                "X_RateLimit_Used": "1",
            },
            Quota(4999, 3000.0, 5000),
        ),
        # an epoch in milliseconds, and one already past
        (
            {"X_RateLimit_Remaining": "3", "X_RateLimit_Reset": str(int(NOW * 1000) + 1500)},
            Quota(3, 1.5),
        ),
        ({"X_RateLimit_Remaining": "3", "X_RateLimit_Reset": str(int(NOW) - 10)}, Quota(3, 0.0)),
        # fractional reset (Discord-like), no limit
        ({"X_RateLimit_Remaining": "1", "X_RateLimit_Reset": "0.250"}, Quota(1, 0.25)),
        # missing or garbage reset: 0; negative remaining: 0; fractional remaining: floor
        ({"X_RateLimit_Remaining": "2"}, Quota(2, 0.0)),
        ({"X_RateLimit_Remaining": "2", "X_RateLimit_Reset": "later"}, Quota(2, 0.0)),
        ({"X_RateLimit_Remaining": "-1", "X_RateLimit_Reset": "5"}, Quota(0, 5.0)),
        ({"X_RateLimit_Remaining": "2.9", "X_RateLimit_Limit": "x"}, Quota(2, 0.0)),
        # IETF takes precedence over X-RateLimit when both are sent
        (
            {"RateLimit": '"p";r=1;t=4', "X_RateLimit_Remaining": "9", "X_RateLimit_Reset": "1"},
            Quota(1, 4.0),
        ),
        # garbage everywhere: nothing advertised
        ({"RateLimit": "garbage"}, None),
        ({"RateLimit": '"p";r=many;t=4'}, None),
        ({"X_RateLimit_Remaining": "lots"}, None),
        ({"X_RateLimit_Limit": "60"}, None),
        ({}, None),
    ],
)
def test_rate_limit_fields_in_many_shapes(fields: dict[str, str], expected: Quota | None) -> None:
    """Every dialect gives the same Quota: remaining, reset seconds, limit and window if sent."""
    assert quota(**fields) == expected


def test_broken_ratelimit_falls_back_to_x_ratelimit() -> None:
    """A RateLimit field without any remaining value leaves the X-RateLimit fields to speak."""
    assert quota(RateLimit='"p";t=4', X_RateLimit_Remaining="9", X_RateLimit_Reset="1") == Quota(
        9, 1.0
    )
