"""Loop detection (issue 9 item 5): forwarded attempts carry `Via` naming this balancer, a
request already carrying our mark is 508 JSON, and an upstream list naming the balancer's own
address is refused at start-up."""

from __future__ import annotations

import socket

import httpx
import pytest
from live_doubles import GOOD_ID

from banditlb.balancer.app import create_app
from banditlb.balancer.loops import carries_mark, check_not_own_upstream, new_mark, via_value
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.errors import ConfigError

pytestmark = pytest.mark.anyio


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


async def test_two_balancers_in_a_loop_stop_at_the_first_return() -> None:
    """A's upstream is B and B's is A: one client request costs A 3 attempts, each of which
    costs B 3 attempts refused by A with 508, instead of multiplying without end."""
    port_a, port_b = free_ports(2)
    a = create_app(
        BalancerSettings(
            upstreams=(Upstream("b", "127.0.0.1", port_b),), port=port_a, strategy="round_robin"
        )
    )
    b = create_app(
        BalancerSettings(
            upstreams=(Upstream("a", "127.0.0.1", port_a),), port=port_b, strategy="round_robin"
        )
    )
    async with (
        serve_in_background(a, port=port_a) as url_a,
        serve_in_background(b, port=port_b),
        httpx.AsyncClient(timeout=10.0) as client,
    ):
        answer = await client.post(f"{url_a}/", content=GOOD_ID)
        looped = await client.post(
            f"{url_a}/", content=GOOD_ID, headers={"Via": f"1.1 {a.state.balancer.mark}"}
        )
        stats_a = a.state.balancer.stats.to_dict(0.0)
        stats_b = b.state.balancer.stats.to_dict(0.0)
    assert answer.status_code == 502
    assert answer.json()["attempts"] == 3
    assert looped.status_code == 508
    assert looped.headers["content-type"] == "application/json"
    assert "loop detected" in looped.json()["error"]
    assert (stats_a["requests"], stats_a["attempts"], stats_a["rejected"]) == (1, 3, 9 + 1)
    assert (stats_b["requests"], stats_b["attempts"], stats_b["rejected"]) == (3, 9, 0)


def test_the_mark_is_found_among_other_hops_and_only_whole() -> None:
    """`carries_mark` finds our mark anywhere in a comma-separated Via, never a prefix of it."""
    mark = new_mark()
    assert mark.startswith("banditlb-")
    assert mark != new_mark()
    assert carries_mark(f"1.1 proxy-a, 1.0 proxy-b, {via_value(mark)}", mark)
    assert carries_mark(f"{via_value(mark)} (comment)", mark)
    assert not carries_mark("1.1 proxy-a, 1.0 proxy-b", mark)
    assert not carries_mark(f"1.1 {mark}x", mark)
    assert not carries_mark("", mark)


@pytest.mark.parametrize(
    ("upstream", "bind"),
    [
        (("127.0.0.1", 8000), ("127.0.0.1", 8000)),
        (("localhost", 8000), ("127.0.0.1", 8000)),
        (("127.0.0.1", 8000), ("0.0.0.0", 8000)),
        (("::1", 8000), ("::", 8000)),
    ],
)
def test_an_upstream_at_the_balancers_own_address_is_refused(
    upstream: tuple[str, int], bind: tuple[str, int]
) -> None:
    """Settings naming the balancer's own listening address as an upstream: ConfigError."""
    with pytest.raises(ConfigError, match="own address"):
        BalancerSettings(upstreams=(Upstream("me", *upstream),), host=bind[0], port=bind[1])


def test_other_ports_and_hosts_are_not_loops() -> None:
    """Another port, another host, or a port-0 bind are accepted."""
    check_not_own_upstream([("127.0.0.1", 8001), ("10.0.0.2", 8000)], "127.0.0.1", 8000)
    check_not_own_upstream([("127.0.0.1", 8000)], "10.0.0.3", 8000)
    check_not_own_upstream([("127.0.0.1", 8000)], "127.0.0.1", 0)
