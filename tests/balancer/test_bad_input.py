"""Every malformed client request, in one table: the right 4xx with a JSON error, no downstream
attempt, and the balancer still healthy afterwards. Plus a slow-body client and a fuzzer."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from balancer_doubles import OK, FakeDownstream, running
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from live_doubles import Raw, exchange

from banditlb.balancer.app import create_app
from banditlb.balancer.serving import serve_in_background
from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.game.ids import is_valid_id
from banditlb.testing import ScriptedStrategy

GOOD_ID = "abcdefghijklmnopqrstuvwx"
TEN_MB = 10 * 1024 * 1024


def balancer_settings(**overrides: Any) -> BalancerSettings:
    upstream = Upstream("s0", "127.0.0.1", 4000)
    return BalancerSettings(upstreams=(upstream,), **overrides)


@asynccontextmanager
async def live(**overrides: Any) -> AsyncIterator[tuple[str, FakeDownstream]]:
    downstream = FakeDownstream({0: [OK]})
    app = create_app(
        balancer_settings(**overrides), downstream=downstream, strategy=ScriptedStrategy(1)
    )
    async with serve_in_background(app) as url:
        yield url, downstream


PUNCTUATION = "abcdefghijklmnopqrstuv!?"
NON_ASCII_24_CHARS = "abcdefghijklmnopqrstuvwé"  # 24 characters, 25 bytes
NON_ASCII_24_BYTES = "abcdefghijklmnopqrstuvé"  # 23 characters, 24 bytes
JSON = (("Content-Type", "application/json"),)

BAD_INPUT: list[tuple[str, Raw, int]] = [
    ("empty body", Raw(body=b""), 400),
    ("23 characters", Raw(body=GOOD_ID[:23].encode()), 400),
    ("25 characters", Raw(body=(GOOD_ID + "y").encode()), 400),
    ("non-ascii 24 characters", Raw(body=NON_ASCII_24_CHARS.encode()), 400),
    ("non-ascii 24 bytes", Raw(body=NON_ASCII_24_BYTES.encode()), 400),
    ("latin-1 bytes", Raw(body=b"\xe9" * 24), 400),
    ("punctuation", Raw(body=PUNCTUATION.encode()), 400),
    ("leading space", Raw(body=(" " + GOOD_ID[1:]).encode()), 400),
    ("trailing newline", Raw(body=(GOOD_ID[:23] + "\n").encode()), 400),
    ("padded with whitespace", Raw(body=(" " + GOOD_ID + " ").encode()), 400),
    ("NUL bytes", Raw(body=b"\x00" * 24), 400),
    ("JSON wrong field", Raw(body=json.dumps({"ident": GOOD_ID}).encode(), headers=JSON), 422),
    ("JSON wrong type", Raw(body=json.dumps({"id": 24}).encode(), headers=JSON), 422),
    ("JSON null id", Raw(body=b'{"id": null}', headers=JSON), 422),
    ("JSON extra field", Raw(body=json.dumps({"id": GOOD_ID, "x": 1}).encode(), headers=JSON), 422),
    ("JSON not an object", Raw(body=json.dumps([GOOD_ID]).encode(), headers=JSON), 422),
    ("JSON bad id", Raw(body=json.dumps({"id": PUNCTUATION}).encode(), headers=JSON), 400),
    ("JSON syntax error", Raw(body=b'{"id": ', headers=JSON), 400),
    ("JSON nested too deep", Raw(body=b"[" * 1000, headers=JSON), 400),
    ("10 MB body", Raw(body=b"a" * TEN_MB), 413),
    ("10 MB chunked body", Raw(body=b"a" * TEN_MB, chunked=True), 413),
    ("wrong method GET", Raw(method="GET", body=b""), 405),
    ("wrong method PUT", Raw(method="PUT"), 405),
    ("wrong method DELETE", Raw(method="DELETE", body=b""), 405),
    ("wrong path", Raw(path="/submit"), 404),
    ("path traversal", Raw(method="GET", path="/../../etc/passwd", body=b""), 404),
    ("wrong content type", Raw(headers=(("Content-Type", "application/xml"),)), 415),
    ("HTML content type", Raw(headers=(("Content-Type", "text/html"),)), 415),
    ("multipart content type", Raw(headers=(("Content-Type", "multipart/form-data; b=x"),)), 415),
]


@pytest.mark.anyio
async def test_every_malformed_request_is_a_4xx_json_error_without_an_attempt() -> None:
    """Each bad request gets its 4xx with {"error": "..."}; nothing is sent downstream; the
    balancer stays healthy and still delivers a good request afterwards."""
    seen: list[tuple[str, int]] = []
    async with live() as (url, downstream):
        for name, raw, _ in BAD_INPUT:
            status, headers, body = await exchange(url, raw.encode())
            error = json.loads(body)["error"]
            assert headers["content-type"] == "application/json", name
            assert isinstance(error, str), name
            assert error, name
            seen.append((name, status))
        assert downstream.calls == []
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.post("/", content=GOOD_ID)).status_code == 200
        assert downstream.calls == [(0, GOOD_ID)]
    assert seen == [(name, status) for name, _, status in BAD_INPUT]


@pytest.mark.anyio
async def test_slow_body_is_timed_out_with_408_and_the_balancer_stays_healthy() -> None:
    """A client that sends 5 of 24 body bytes and stalls gets 408 JSON after body_timeout."""
    async with live(body_timeout=0.3) as (url, downstream):
        stalled = Raw(body=GOOD_ID[:5].encode(), length=24).encode()
        status, _, body = await exchange(url, stalled, timeout=5.0)
        assert status == 408
        assert json.loads(body) == {"error": "request body must arrive within 0.3 s; got 5 bytes"}
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/healthz")).status_code == 200
            state = (await client.get("/api/state")).json()
    assert downstream.calls == []
    assert (state["in_flight"], state["stats"]["rejected"]) == (0, 1)


ID_CHARS = st.sampled_from("abcXYZ019 -_!é\n\t\x00")
BODIES = st.one_of(
    st.binary(max_size=1100),
    st.text(ID_CHARS, min_size=20, max_size=28).map(str.encode),
    st.from_regex(r"[A-Za-z0-9]{24}", fullmatch=True).map(str.encode),
    st.builds(lambda v: json.dumps({"id": v}).encode(), st.text(max_size=30)),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=30),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=8,
    ).map(lambda v: json.dumps(v).encode()),
)
CONTENT_TYPES = st.sampled_from(
    [None, "text/plain", "application/json", "application/json; charset=utf-8", "image/png"]
)


def test_fuzzed_bodies_give_a_valid_id_or_a_4xx_json_never_5xx() -> None:
    """Hypothesis: any bytes under any content type → 200 echoing a valid id, or a 4xx JSON."""
    loop = asyncio.new_event_loop()
    downstream = FakeDownstream({0: [OK]})
    app = create_app(balancer_settings(), downstream=downstream, strategy=ScriptedStrategy(1))
    context = running(app)
    client = loop.run_until_complete(context.__aenter__())

    @hypothesis_settings(
        max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def check(body: bytes, content_type: str | None) -> None:
        headers = {} if content_type is None else {"content-type": content_type}
        before = len(downstream.calls)
        response = loop.run_until_complete(client.post("/", content=body, headers=headers))
        if response.status_code == 200:
            sent = downstream.calls[-1][1]
            assert is_valid_id(sent.encode())
            assert response.json()["id"] == sent
        else:
            assert 400 <= response.status_code < 500, (response.status_code, body)
            assert isinstance(response.json()["error"], str)
            assert len(downstream.calls) == before

    try:
        check()
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain; charset=utf-8",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
    ],
)
async def test_raw_id_media_types_are_accepted(content_type: str | None) -> None:
    """The raw id is accepted with no content type, as text, as bytes, and as `curl -d` sends it."""
    downstream = FakeDownstream({0: [OK]})
    app = create_app(balancer_settings(), downstream=downstream, strategy=ScriptedStrategy(1))
    headers = {} if content_type is None else {"content-type": content_type}
    async with running(app) as client:
        response = await client.post("/", content=GOOD_ID, headers=headers)
    assert response.status_code == 200
    assert downstream.calls == [(0, GOOD_ID)]


@pytest.mark.anyio
async def test_client_disconnect_mid_body_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    """A client hanging up mid-body is no ERROR and no traceback; the balancer keeps serving."""
    caplog.set_level("DEBUG")
    async with live() as (url, downstream):
        port = int(url.rsplit(":", 1)[1])
        for _ in range(3):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 24\r\n\r\nabcde"
            )
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        async with httpx.AsyncClient() as client:
            for _ in range(200):  # until the three hang-ups have been handled (bounded)
                state = (await client.get(f"{url}/api/state")).json()
                if state["stats"]["rejected"] >= 3 and state["in_flight"] == 0:
                    break
                await asyncio.sleep(0.01)
            assert state["stats"]["rejected"] == 3
            ok = await client.post(f"{url}/", content=GOOD_ID)
            assert ok.status_code == 200
    assert downstream.calls == [(0, GOOD_ID)]
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == [], [r.getMessage() for r in loud]
    assert any(r.getMessage() == "client disconnected mid-body" for r in caplog.records)
