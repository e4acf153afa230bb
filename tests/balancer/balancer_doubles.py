"""Doubles for balancer tests: a scripted Downstream and an in-process client that runs the
app's lifespan (httpx's ASGITransport does not)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from banditlb.game.outcome import Outcome, OutcomeKind


class FakeDownstream:
    """Answers each arm's attempts from a per-arm script (then repeats the last outcome)."""

    def __init__(
        self,
        scripts: dict[int, Iterable[Outcome]],
        *,
        on_send: Callable[[int, str], None] | None = None,
    ) -> None:
        self._scripts = {arm: list(outcomes) for arm, outcomes in scripts.items()}
        self.calls: list[tuple[int, str]] = []
        self._on_send = on_send
        self.gate: asyncio.Event | None = None

    async def send(self, arm: int, request_id: str, via: str = "") -> Outcome:
        self.calls.append((arm, request_id))
        if self._on_send is not None:
            self._on_send(arm, request_id)
        if self.gate is not None:
            await self.gate.wait()
        script = self._scripts[arm]
        return script.pop(0) if len(script) > 1 else script[0]


OK = Outcome(OutcomeKind.ACCEPTED, 200)
FAIL = Outcome(OutcomeKind.FAILED, 500)


def limited(retry_after: float | None) -> Outcome:
    return Outcome(OutcomeKind.RATE_LIMITED, 429, retry_after)


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan around an httpx client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client
