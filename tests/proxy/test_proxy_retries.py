"""Retries only when safe, and what each answer counts as (per route), end to end."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from email.utils import formatdate

import pytest
from proxy_doubles import proxy_rig

from banditlb.balancer.recording import MemoryRecorder
from banditlb.game.outcome import OutcomeKind
from banditlb.proxy.testing import ScriptedUpstream
from banditlb.testing import ScriptedStrategy

pytestmark = pytest.mark.anyio


def failing_then_good() -> list[ScriptedUpstream]:
    return [ScriptedUpstream("u0", status=500), ScriptedUpstream("u1")]


def kinds(recorder: MemoryRecorder) -> list[tuple[str, OutcomeKind, int | None]]:
    return [(r.server, r.kind, r.status) for r in recorder.records]


async def test_an_idempotent_request_is_retried_on_another_upstream() -> None:
    """GET to a failing upstream is sent again to the next: the client sees the 200."""
    recorder = MemoryRecorder()
    policy = ScriptedStrategy(2, picks=[0, 1])
    async with proxy_rig(upstreams=failing_then_good(), recorder=recorder, policy=policy) as rig:
        answer = await rig.client.get("/items/7")
    assert answer.status_code == 200
    assert answer.headers["x-banditlb-upstream"] == "u1"
    assert answer.headers["x-banditlb-attempts"] == "2"
    assert kinds(recorder) == [
        ("u0", OutcomeKind.FAILED, 500),
        ("u1", OutcomeKind.ACCEPTED, 200),
    ]


async def test_a_post_without_idempotency_key_is_never_retried() -> None:
    """POST to a failing upstream: its 500 is the client's answer; the other never sees it."""
    policy = ScriptedStrategy(2, picks=[0, 1])
    upstreams = failing_then_good()
    async with proxy_rig(upstreams=upstreams, policy=policy) as rig:
        answer = await rig.client.post("/orders", content=b'{"item": 1}')
    assert answer.status_code == 500
    assert answer.headers["x-banditlb-attempts"] == "1"
    assert len(upstreams[0].requests) == 1
    assert upstreams[1].requests == []


async def test_a_post_with_idempotency_key_is_retried_with_the_same_body() -> None:
    """POST carrying Idempotency-Key goes again, the same bytes and key to the second upstream."""
    policy = ScriptedStrategy(2, picks=[0, 1])
    upstreams = failing_then_good()
    async with proxy_rig(upstreams=upstreams, policy=policy) as rig:
        answer = await rig.client.post(
            "/orders", content=b'{"item": 1}', headers={"Idempotency-Key": "k-1"}
        )
    assert answer.status_code == 200
    assert upstreams[1].requests[0].body == b'{"item": 1}'
    assert upstreams[1].requests[0].header("idempotency-key") == "k-1"


async def test_a_post_to_a_retryable_route_is_retried_but_not_one_to_another_route() -> None:
    """A route marked retryable makes its POSTs retryable; other paths keep the default."""
    policy = ScriptedStrategy(2, picks=[0, 1, 0, 1])
    upstreams = failing_then_good()
    routes = [{"prefix": "/v1/embed", "methods": ["POST"], "retryable": True}]
    async with proxy_rig(upstreams=upstreams, policy=policy, routes=routes) as rig:
        retried = await rig.client.post("/v1/embed/batch", content=b"x")
        other = await rig.client.post("/v1/embedding", content=b"y")  # not the segment /v1/embed
    assert retried.status_code == 200
    assert other.status_code == 500


async def test_a_body_longer_than_the_buffer_limit_is_streamed_once_never_retried() -> None:
    """A retryable request whose body exceeds listen.buffer_limit is not sent twice."""
    policy = ScriptedStrategy(2, picks=[0, 1])
    upstreams = failing_then_good()
    async with proxy_rig(upstreams=upstreams, policy=policy, listen={"buffer_limit": 1000}) as rig:
        answer = await rig.client.put("/blob", content=b"z" * 5000)
    assert answer.status_code == 500
    assert len(upstreams[0].requests[0].body) == 5000
    assert upstreams[1].requests == []


async def test_a_client_error_is_answered_at_once_and_not_held_against_the_upstream() -> None:
    """A 404 is the client's answer after one attempt; the strategy sees a working upstream."""
    policy = ScriptedStrategy(2, picks=[0, 1])
    recorder = MemoryRecorder()
    async with proxy_rig(2, policy=policy, recorder=recorder) as rig:
        answer = await rig.client.get("/status", params={"code": "404"})
    assert answer.status_code == 404
    assert answer.headers["x-banditlb-attempts"] == "1"
    assert [(arm, o.kind, o.status) for arm, o, _, _ in policy.observed] == [
        (0, OutcomeKind.ACCEPTED, 404)
    ]


async def test_route_status_rules_decide_what_counts_as_success() -> None:
    """A route listing 404 as a failure retries it; 200 stays success there."""
    policy = ScriptedStrategy(2, picks=[0, 1])
    routes = [{"prefix": "/", "failure": ["5xx", 404]}]
    upstreams = [ScriptedUpstream("u0", status=404), ScriptedUpstream("u1")]
    async with proxy_rig(upstreams=upstreams, policy=policy, routes=routes) as rig:
        answer = await rig.client.get("/thing")
    assert answer.status_code == 200
    assert [o.kind for _, o, _, _ in policy.observed] == [OutcomeKind.FAILED, OutcomeKind.ACCEPTED]


async def test_when_every_attempt_fails_the_last_upstream_answer_is_returned() -> None:
    """Out of attempts (route attempts = 2): the client gets the last upstream's own 500."""
    policy = ScriptedStrategy(2, picks=[0, 1])
    upstreams = [ScriptedUpstream("u0", status=500), ScriptedUpstream("u1", status=503)]
    async with proxy_rig(upstreams=upstreams, policy=policy, routes=[{"attempts": 2}]) as rig:
        answer = await rig.client.get("/x")
    assert answer.status_code == 503
    assert answer.json() == {"upstream": "u1", "status": 503}
    assert answer.headers["x-banditlb-attempts"] == "2"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_refused_connection_is_retried_even_for_a_post() -> None:
    """A POST whose first upstream refuses the connection never reached it: it goes to the next."""
    policy = ScriptedStrategy(2, picks=[0, 1])
    recorder = MemoryRecorder()
    dead = f"http://127.0.0.1:{closed_port()}"
    async with proxy_rig(
        upstreams=[ScriptedUpstream("u1")], policy=policy, recorder=recorder, extra_urls=[dead]
    ) as rig:
        answer = await rig.client.post("/orders", content=b"once")
    assert answer.status_code == 200
    assert [r.kind for r in recorder.records][-2:] == [
        OutcomeKind.CONNECTION_ERROR,
        OutcomeKind.ACCEPTED,
    ]


async def test_no_upstream_answering_is_a_502_json() -> None:
    """Every attempt refused: 502 JSON naming the last failure and the attempts made."""
    dead = f"http://127.0.0.1:{closed_port()}"
    async with proxy_rig(upstreams=[], extra_urls=[dead], routes=[{"attempts": 2}]) as rig:
        answer = await rig.client.get("/x")
    assert answer.status_code == 502
    assert answer.json()["attempts"] == 2
    assert "connection_error" in answer.json()["error"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"retry-after", b"7")], 7.0),
        ([(b"retry-after", formatdate(2_000_000_000, usegmt=True).encode())], None),
    ],
)
async def test_a_429_with_retry_after_is_rate_limited_and_blocks_that_upstream(
    headers: list[tuple[bytes, bytes]], expected: float | None
) -> None:
    """429 + Retry-After (seconds or an HTTP-date) reaches the strategy as RATE_LIMITED with the
    wait in seconds, and the upstream leaves the candidates until then."""
    upstreams = [ScriptedUpstream("u0", status=429, headers=headers), ScriptedUpstream("u1")]
    policy = ScriptedStrategy(2, picks=[0, 1])
    async with proxy_rig(upstreams=upstreams, policy=policy) as rig:
        answer = await rig.client.get("/x")
        second = await rig.client.get("/y")
        offered = policy.offered[-1]
    first = policy.observed[0][1]
    assert answer.status_code == 200
    assert first.kind is OutcomeKind.RATE_LIMITED
    assert first.retry_after is not None
    if expected is not None:
        assert first.retry_after == expected
    else:
        assert first.retry_after > 1_000_000  # a date far ahead: seconds from now
    assert second.status_code == 200
    assert offered == [1]


async def test_ratelimit_fields_become_the_outcome_quota() -> None:
    """IETF RateLimit / RateLimit-Policy and X-RateLimit-* are parsed into Outcome.quota."""
    ietf = [(b"ratelimit", b'"default";r=0;t=30'), (b"ratelimit-policy", b'"default";q=100;w=60')]
    x = [
        (b"x-ratelimit-limit", b"10"),
        (b"x-ratelimit-remaining", b"4"),
        (b"x-ratelimit-reset", b"2"),
    ]
    upstreams = [
        ScriptedUpstream("u0", status=429, headers=ietf),
        ScriptedUpstream("u1", headers=x),
    ]
    policy = ScriptedStrategy(2, picks=[0, 1])
    async with proxy_rig(upstreams=upstreams, policy=policy) as rig:
        await rig.client.get("/x")
    limited, accepted = (o for _, o, _, _ in policy.observed)
    assert limited.quota is not None
    assert (limited.quota.remaining, limited.quota.reset) == (0, 30.0)
    assert (limited.quota.limit, limited.quota.window) == (100, 60.0)
    assert accepted.quota is not None
    assert (accepted.quota.remaining, accepted.quota.limit) == (4, 10)


async def test_a_client_leaving_mid_body_is_not_held_against_the_upstream() -> None:
    """A POST whose client hangs up halfway through its body ends without an answer; the
    attempt is recorded as 499 and the strategy sees a working upstream, not a failure."""
    policy = ScriptedStrategy(1, picks=[0])
    recorder = MemoryRecorder()
    async with proxy_rig(1, policy=policy, recorder=recorder) as rig:
        host, port = rig.proxy_url.removeprefix("http://").split(":")
        _reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"a" * 999
        )
        await writer.drain()
        for _ in range(200):  # bounded: until the attempt has started reading the body
            if policy.offered:
                break
            await asyncio.sleep(0.01)
        writer.close()
        for _ in range(200):  # bounded: until the proxy noticed
            if recorder.records:
                break
            await asyncio.sleep(0.01)
        after = await rig.client.get("/echo")
    assert next((r.kind, r.status) for r in recorder.records) == (OutcomeKind.ACCEPTED, 499)
    assert next(o.kind for _, o, _, _ in policy.observed) is OutcomeKind.ACCEPTED
    assert rig.upstreams[0].requests[-1].method == "GET"  # the cut POST never completed there
    assert after.status_code == 200


class BrokenStrategy(ScriptedStrategy):
    """A strategy with a bug: choosing raises."""

    def choose(self, now: float, candidates: Sequence[int], attempt: int) -> int:
        raise ZeroDivisionError("bug")


async def test_a_bug_on_the_request_path_is_a_500_json_and_the_proxy_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception inside the proxy answers 500 JSON (logged with its traceback), and the
    next request is served as usual."""
    async with proxy_rig(1, policy=BrokenStrategy(1)) as rig:
        answer = await rig.client.get("/x")
        again = await rig.client.get("/x")
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error"}
    assert again.status_code == 500
    assert any(r.getMessage() == "proxy error" and r.exc_info for r in caplog.records)
