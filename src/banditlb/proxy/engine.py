"""The proxy's request path: pick an upstream with the router, forward, retry only when safe.

One `ProxyEngine` per app, shared by all requests; it is the ASGI app of the proxy's port.
For each request:
1. refuse overload (503 + Retry-After) and loops (508, our `Via` mark), as `serve` does;
2. find the route (first match), decide whether the request may be retried (`may_retry`) and,
   if so, keep its body for retries (`body.RequestBody`, within `buffer_limit`);
3. walk the route's retry rules (`router.Route`: the very rules `serve` and the simulator
   play by, with the route's budget and penalty) over the shared strategy; each attempt is sent
   with `Upstream`-specific headers and timeouts; its answer's status is classified by the
   route's `StatusRules` and its Retry-After / RateLimit fields parsed (`balancer/headers.py`)
   into the `Outcome` the strategy learns from;
4. the first answer that is final (success, or the client's own error), or the last one when
   no further attempt is allowed, is streamed to the client as it arrives. Once its first byte
   went out nothing is retried. An attempt whose answer is not used is released unread.

A client that hangs up while its body streams ends the request without an answer; its
attempt is recorded with status 499 and counts as a working answer (not the upstream's fault).

Retries happen only for safe requests, and also for any request whose attempt failed before the
upstream read any of its body (a refused connection, a failed TLS handshake): that request
never reached the upstream. Client errors (a status in none of the route's lists) are answered
at once and reported to the strategy as a working answer: they say nothing against the upstream.

Each attempt is reported, once its answer's headers arrived (or it failed), to the route, the
live stats and the recorder, exactly like `serve`'s; the recorded latency is the time to the
answer's headers. A request's id in the store is this instance's mark and a counter (24 hex
digits): nothing from the client is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from functools import partial

import aiohttp
from starlette.types import Receive, Scope, Send
from yarl import URL

from banditlb.balancer.downstream import CAUGHT, outcome_for_exception
from banditlb.balancer.headers import parse_quota, parse_retry_after
from banditlb.balancer.intake import ClientGoneError
from banditlb.balancer.loops import carries_mark
from banditlb.balancer.recording import AttemptRecord, Recorder
from banditlb.balancer.stats import LiveStats, Result
from banditlb.game.clock import Clock
from banditlb.game.outcome import Outcome, OutcomeKind
from banditlb.game.router import Route, Router, StopReason
from banditlb.proxy.body import RequestBody
from banditlb.proxy.hedge import hedged
from banditlb.proxy.hop import request_headers, response_headers
from banditlb.proxy.latency import LatencyTable
from banditlb.proxy.relay import answer_json, relay
from banditlb.proxy.spec import IDEMPOTENT_METHODS, ProxyConfig, RouteSpec, UpstreamSpec

log = logging.getLogger(__name__)

_ATTEMPT_ERRORS: tuple[type[BaseException], ...] = (*CAUGHT, ClientGoneError)
CLIENT_GONE = 499
"""The status recorded for an attempt whose client hung up while sending its body (nginx's)."""


def may_retry(method: str, headers: Sequence[tuple[bytes, bytes]], route: RouteSpec) -> bool:
    """Whether a request may be sent more than once: an idempotent method (RFC 9110 §9.2.2),
    or a POST that carries `Idempotency-Key` or goes to a route marked retryable."""
    if method in IDEMPOTENT_METHODS:
        return True
    if method != "POST":
        return False
    return route.retryable or any(name.lower() == b"idempotency-key" for name, _ in headers)


def _declared_length(headers: Sequence[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class ProxyEngine:
    """Forwards every request to the upstreams under per-route retry rules."""

    def __init__(
        self,
        config: ProxyConfig,
        routers: Sequence[Router],
        session: aiohttp.ClientSession,
        *,
        clock: Clock,
        recorder: Recorder,
        stats: LiveStats,
        mark: str,
        latencies: LatencyTable | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.routers = list(routers)
        self._session = session
        self._clock = clock
        self._recorder = recorder
        self.stats = stats
        self.mark = mark
        self._via = f"1.1 {mark}"
        self._id_prefix = mark.removeprefix("banditlb-")[:12].rjust(12, "0")
        self._wall = wall
        self._latencies = latencies or LatencyTable(len(config.upstreams))
        self._names = [u.name for u in config.upstreams]
        self._bases = [u.origin + u.prefix for u in config.upstreams]
        self._timeouts = [
            aiohttp.ClientTimeout(
                total=None, connect=u.connect_timeout, sock_connect=u.connect_timeout,
                sock_read=u.read_timeout,
            )
            for u in config.upstreams
        ]  # fmt: skip
        self.request_no = 0
        self.in_flight = 0

    # ---- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is the app's (`proxy.app`); websockets are not proxied
        config = self.config
        if self.in_flight >= config.max_in_flight:
            self.stats.reject()
            await answer_json(
                send,
                503,
                {"error": f"proxy overloaded: {self.in_flight} requests in flight, "
                 f"max_in_flight is {config.max_in_flight}"},
                [(b"retry-after", b"1")],
            )  # fmt: skip
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        via = b", ".join(v for n, v in headers if n == b"via")
        if via and carries_mark(via.decode("latin-1"), self.mark):
            self.stats.reject()
            await answer_json(
                send, 508, {"error": f"loop detected: this request already went through "
                            f"this proxy ({self.mark})"},
            )  # fmt: skip
            return
        self.in_flight += 1
        try:
            await self._forward(scope, receive, send, headers)
        except ClientGoneError:
            log.debug("client went away while sending its body")
        except Exception as exc:  # a bug: logged (type and traceback only), answered JSON
            log.error("proxy error", exc_info=exc)
            with contextlib.suppress(RuntimeError):  # unless the answer had already started
                await answer_json(send, 500, {"error": "internal error"})
        finally:
            self.in_flight -= 1

    # ---- one request -----------------------------------------------------------------------

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]
    ) -> None:
        config = self.config
        method: str = scope["method"]
        index = config.route_for(method, scope["path"])
        spec = config.routes[index]
        body = RequestBody(receive)
        retry = may_retry(method, headers, spec) and await body.keep(
            config.buffer_limit, _declared_length(headers)
        )
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        client = scope.get("client")
        scheme = scope.get("scheme", "http")

        self.request_no += 1
        request_no = self.request_no
        request_id = f"{self._id_prefix}{request_no:012x}"
        route = self.routers[index].start()
        started = self._clock.now()
        deadline = started + spec.deadline
        held: tuple[int, aiohttp.ClientResponse] | None = None
        last_error = "no upstream available"
        try:
            while True:
                now = self._clock.now()
                if now >= deadline:
                    route.give_up(StopReason.DEADLINE)
                delay = route.hold(now, started)
                if delay > 0.0:
                    self.stats.hold(delay)
                    await asyncio.sleep(delay)
                    continue
                arm = route.next_arm(now)
                if arm is None:
                    break
                if held is not None:  # a better answer may come: this one is not used
                    held[1].release()
                    held = None
                upstream = config.upstreams[arm]
                outgoing = request_headers(
                    headers,
                    client_host=client[0] if client else None,
                    scheme=scheme,
                    via=self._via,
                    inject=upstream.headers,
                )
                attempt = partial(
                    self._attempt, route=route, request_no=request_no, request_id=request_id,
                    method=method, target=target, outgoing=outgoing, body=body, spec=spec,
                )  # fmt: skip
                if retry and spec.hedge_after > 0.0 and route.attempts + 2 <= spec.free_attempts:
                    arm, outcome, response = await hedged(
                        route, arm, attempt, spec.hedge_after, self._clock.now
                    )
                    upstream = config.upstreams[arm]
                else:
                    outcome, response = await attempt(arm=arm)
                if response is not None:
                    if outcome.kind is OutcomeKind.ACCEPTED:  # success or the client's error
                        await self._relay(scope, receive, send, response, arm, route, body)
                        self._done(Result.DELIVERED, started)
                        return
                    held = (arm, response)
                elif body.gone:
                    raise ClientGoneError("client disconnected while sending its body")
                else:
                    last_error = f"upstream {upstream.name}: {outcome.kind.value}"
                if not (retry or (response is None and not body.started)):
                    break  # not safe to send again
            if held is not None:  # no further attempt: the last answer is the client's
                await self._relay(scope, receive, send, held[1], held[0], route, body)
                held = None
                self._done(Result.FAILED, started)
                return
        finally:
            if held is not None:
                held[1].release()
        if route.attempts:
            self._done(Result.FAILED, started)
            await answer_json(
                send, 502, {"error": last_error, "attempts": route.attempts,
                            "stop": (route.stop or StopReason.NO_SERVER).value},
            )  # fmt: skip
            return
        self._done(Result.UNAVAILABLE, started)
        reason = (route.stop or StopReason.NO_SERVER).value
        await answer_json(
            send, 503, {"error": f"no attempt could be made: {reason}"}, [(b"retry-after", b"1")]
        )

    def _done(self, result: Result, started: float) -> None:
        finished = self._clock.now()
        self.stats.request(result, finished - started, finished)

    async def _attempt(
        self,
        *,
        route: Route,
        request_no: int,
        request_id: str,
        arm: int,
        method: str,
        target: str,
        outgoing: list[tuple[str, str]],
        body: RequestBody,
        spec: RouteSpec,
    ) -> tuple[Outcome, aiohttp.ClientResponse | None]:
        """Send one attempt up to its answer's headers; the outcome is already recorded."""
        upstream: UpstreamSpec = self.config.upstreams[arm]
        started = time.perf_counter()
        response: aiohttp.ClientResponse | None = None
        try:
            async with asyncio.timeout(upstream.timeout):
                response = await self._session.request(
                    method,
                    URL(self._bases[arm] + target, encoded=True),
                    headers=outgoing,
                    data=body.payload(),
                    allow_redirects=False,
                    timeout=self._timeouts[arm],
                )
        except _ATTEMPT_ERRORS as exc:
            latency = time.perf_counter() - started
            if body.gone:  # the client left mid-body: not the upstream's failure (nginx's 499)
                outcome = Outcome(OutcomeKind.ACCEPTED, CLIENT_GONE, None, latency)
            else:
                outcome = outcome_for_exception(exc, latency)
        except asyncio.CancelledError:  # shutdown backstop: recorded, then let it go on
            outcome = Outcome(OutcomeKind.TIMEOUT, None, None, time.perf_counter() - started)
            self._note(route, request_no, request_id, arm, outcome)
            raise
        else:
            latency = time.perf_counter() - started
            status = response.status
            kind = spec.status.kind(status)
            fields = response.headers
            retry_after = (
                parse_retry_after(fields.get("Retry-After"))
                if kind is OutcomeKind.RATE_LIMITED
                else None
            )
            outcome = Outcome(
                kind or OutcomeKind.ACCEPTED, status, retry_after, latency, parse_quota(fields)
            )
        self._note(route, request_no, request_id, arm, outcome)
        return outcome, response

    def _note(
        self, route: Route, request_no: int, request_id: str, arm: int, outcome: Outcome
    ) -> None:
        """Tell the route, the live stats and the recorder about one finished attempt."""
        if outcome.status is not None:
            self._latencies.add(arm, outcome.latency)
        route.record(arm, outcome, self._clock.now())
        self.stats.attempt(arm, outcome.kind, route.attempts, outcome.latency)
        self._recorder.record(
            AttemptRecord.of(
                outcome,
                request_no=request_no,
                request_id=request_id,
                attempt=route.attempts,
                arm=arm,
                server=self._names[arm],
                at=self._wall(),
            )
        )

    async def _relay(  # noqa: PLR0917 - the request's parts, passed through
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        response: aiohttp.ClientResponse,
        arm: int,
        route: Route,
        body: RequestBody,
    ) -> None:
        """Stream the answer of upstream `arm` to the client, with our Via and which upstream
        answered after how many attempts."""
        headers = response_headers(
            response.raw_headers, via=self._via, upstream=self._names[arm], attempts=route.attempts
        )
        await relay(
            scope=scope, receive=receive, send=send, response=response, headers=headers, body=body
        )
