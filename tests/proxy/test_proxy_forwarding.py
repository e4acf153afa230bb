"""End to end through a real proxy with httpx: what goes up, what comes back, as it arrives."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from proxy_doubles import proxy_rig

pytestmark = pytest.mark.anyio


async def test_method_path_query_and_body_reach_the_upstream_under_its_prefix() -> None:
    """PUT /a/b/echo?x=1&y=%20 arrives as PUT /base/a/b/echo with the same query and body."""
    async with proxy_rig(1, prefix="/base") as rig:
        answer = await rig.client.put("/a/b/echo?x=1&y=%20", content=b"hello body")
        seen = answer.json()
    assert answer.status_code == 200
    assert seen["method"] == "PUT"
    assert seen["path"] == "/base/a/b/echo"
    assert seen["query"] == "x=1&y=%20"
    assert seen["body_length"] == 10
    assert seen["body_sha256"] == hashlib.sha256(b"hello body").hexdigest()
    assert answer.headers["x-banditlb-upstream"] == "u0"
    assert answer.headers["x-banditlb-attempts"] == "1"


async def test_hop_by_hop_request_headers_are_dropped_and_forwarding_headers_added() -> None:
    """Connection and what it names, Keep-Alive, TE, Proxy-* never reach the upstream; it
    gets X-Forwarded-For/-Proto/-Host, our Via after the client's, and its own Host."""
    async with proxy_rig(1) as rig:
        answer = await rig.client.get(
            "/echo",
            headers={
                "Connection": "keep-alive, X-Private",
                "X-Private": "drop me",
                "Keep-Alive": "timeout=5",
                "TE": "trailers",
                "Proxy-Authorization": "Basic abc",
                "X-Forwarded-For": "203.0.113.7",
                "Via": "1.1 edge",
                "X-Kept": "yes",
                "Host": "api.example.test",
            },
        )
        seen = rig.upstreams[0].requests[-1]
        mark = rig.app.mark
    assert answer.status_code == 200
    names = {name for name, _ in seen.headers}
    assert not names & {"connection", "x-private", "keep-alive", "te", "proxy-authorization"}
    assert seen.header("x-kept") == "yes"
    assert seen.header("x-forwarded-for") == "203.0.113.7, 127.0.0.1"
    assert seen.header("x-forwarded-proto") == "http"
    assert seen.header("x-forwarded-host") == "api.example.test"
    assert seen.header("via") == f"1.1 edge, 1.1 {mark}"
    assert (seen.header("host") or "").startswith("127.0.0.1:")


async def test_hop_by_hop_answer_headers_are_dropped_and_via_added() -> None:
    """The upstream's Connection-named, Keep-Alive and Proxy-* fields stop at the proxy; its
    end-to-end fields (Set-Cookie twice included) reach the client, with our Via."""
    async with proxy_rig(1) as rig:
        answer = await rig.client.get(
            "/status",
            params={
                "code": "201",
                "h-Connection": "X-Up-Private",
                "h-X-Up-Private": "secret-ish",
                "h-Keep-Alive": "timeout=9",
                "h-Proxy-Thing": "p",
                "h-X-End": "e2e",
            },
        )
        mark = rig.app.mark
    assert answer.status_code == 201
    assert "x-up-private" not in answer.headers
    assert "keep-alive" not in answer.headers
    assert "proxy-thing" not in answer.headers
    assert answer.headers["x-end"] == "e2e"
    assert answer.headers["via"] == f"1.1 {mark}"


async def test_server_sent_events_reach_the_client_before_the_upstream_finishes() -> None:
    """The first event is read through the proxy while the upstream still waits to send the
    second: the answer is streamed, not buffered."""
    async with proxy_rig(1) as rig:
        gate = rig.upstreams[0].gate = asyncio.Event()
        async with rig.client.stream("GET", "/events/sse", params={"n": "3"}) as answer:
            lines = answer.aiter_lines()
            first = await asyncio.wait_for(anext(lines), 5.0)
            assert not gate.is_set()
            gate.set()
            rest = [line async for line in lines]
    assert answer.headers["content-type"] == "text/event-stream"
    assert first == "data: 0"
    assert [line for line in rest if line] == ["data: 1", "data: 2"]


async def test_one_megabyte_each_way_arrives_intact() -> None:
    """A 1 MiB upload and a 1 MiB streamed download pass unchanged."""
    payload = bytes(range(256)) * 4096
    async with proxy_rig(1) as rig:
        up = await rig.client.post("/echo", content=payload)
        down = await rig.client.get("/bytes", params={"size": str(len(payload))})
    assert up.status_code == 200, up.text
    assert up.json()["body_sha256"] == hashlib.sha256(payload).hexdigest()
    assert down.status_code == 200
    assert len(down.content) == len(payload)


async def test_a_chunked_upload_is_streamed_to_the_upstream() -> None:
    """A body sent chunked (no Content-Length) by a POST that may not be retried arrives whole."""

    async def parts() -> AsyncIterator[bytes]:
        for i in range(5):
            yield b"part-%d;" % i

    async with proxy_rig(1) as rig:
        answer = await rig.client.post("/echo", content=parts())
    expected = b"".join(b"part-%d;" % i for i in range(5))
    assert answer.json()["body_sha256"] == hashlib.sha256(expected).hexdigest()


async def test_head_answers_headers_without_a_body() -> None:
    """HEAD goes through with the upstream's headers and no body."""
    async with proxy_rig(1) as rig:
        answer = await rig.client.head("/anything")
        method = rig.upstreams[0].requests[-1].method
    assert answer.status_code == 200
    assert answer.content == b""
    assert method == "HEAD"


async def test_a_request_through_its_own_proxy_is_refused_as_a_loop() -> None:
    """A request carrying this proxy's Via mark is answered 508 JSON, no upstream attempt."""
    async with proxy_rig(1) as rig:
        answer = await rig.client.get("/echo", headers={"Via": f"1.1 {rig.app.mark}"})
        seen = len(rig.upstreams[0].requests)
    assert answer.status_code == 508
    assert "loop" in answer.json()["error"]
    assert seen == 0


async def test_admin_routes_live_on_the_admin_port_and_every_path_is_forwarded() -> None:
    """/healthz on the proxy port is the upstream's; on the admin port it is the proxy's."""
    async with proxy_rig(1) as rig:
        forwarded = await rig.client.get("/healthz")
        own = await rig.admin.get("/healthz")
        ready = await rig.admin.get("/readyz")
    assert forwarded.json() == {"upstream": "u0", "status": 200}
    assert own.json() == {"status": "ok"}
    assert ready.json()["upstreams"] == 1


async def test_a_client_leaving_an_event_stream_ends_the_upstream_stream() -> None:
    """The client hangs up after the first event: the proxy stops reading the upstream (its
    request slot is freed) instead of pulling an endless stream for nobody."""
    async with proxy_rig(1) as rig:
        gate = rig.upstreams[0].gate = asyncio.Event()
        async with rig.client.stream("GET", "/sse", params={"n": "1000"}) as answer:
            lines = answer.aiter_lines()
            assert await asyncio.wait_for(anext(lines), 5.0) == "data: 0"
        engine = rig.app.state.engine if rig.app.state else None
        assert engine is not None
        for _ in range(200):  # bounded: the proxy notices the hang-up within a few loop turns
            if engine.in_flight == 0:
                break
            await asyncio.sleep(0.01)
        in_flight = engine.in_flight
        gate.set()
    assert in_flight == 0


async def test_api_state_and_metrics_describe_upstreams_and_routes() -> None:
    """/api/state has the serve-shaped document with upstream URLs and routes; /metrics counts
    attempts per upstream."""
    async with proxy_rig(2, routes=[{"prefix": "/v1", "retryable": True}]) as rig:
        await rig.client.get("/v1/a")
        await rig.client.get("/v1/b")
        state = (await rig.admin.get("/api/state")).json()
        metrics = (await rig.admin.get("/metrics")).text
    settings = state["settings"]
    assert [u["name"] for u in settings["upstreams"]] == ["u0", "u1"]
    assert settings["routes"][0]["prefix"] == "/v1"
    assert settings["routes"][0]["retryable"] is True
    assert state["stats"]["requests"] == 2
    assert [arm["server"] for arm in state["strategy"]["arms"]] == ["u0", "u1"]
    assert 'banditlb_attempts_total{outcome="accepted",server="u0"} 1.0' in metrics
    assert 'banditlb_requests_total{result="delivered"} 2.0' in metrics


async def test_an_upstream_breaking_off_mid_body_breaks_the_clients_answer_too() -> None:
    """The upstream drops its connection 10 bytes into a 1000-byte answer: the client gets an
    error, not a shorter answer that looks whole, and the proxy keeps serving."""
    async with proxy_rig(1) as rig:
        with pytest.raises(httpx.TransportError):
            await rig.client.get("/broken")
        after = await rig.client.get("/echo")
    assert after.status_code == 200
