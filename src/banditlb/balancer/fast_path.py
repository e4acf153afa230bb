"""`SubmitFastPath`: `POST /` straight to its handler, past Starlette's router and exception
layers (a profile under wrk showed them at ~15% of the balancer's CPU per request).

The handler and the error renderer are the very ones the route table uses (`app.submit`,
`app.banditlb_error`), so answers are identical; anything else goes on to the Starlette app.
An unexpected exception propagates to Starlette's outer error middleware (500 JSON) as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from banditlb.errors import BanditLBError

Handler = Callable[[Request], Awaitable[Response]]
ErrorRenderer = Callable[[Request, Exception], Awaitable[Response]]


class SubmitFastPath:
    """ASGI middleware: serves `POST /` with `handler`, rendering `BanditLBError`s with
    `on_error`; every other request goes to `app`."""

    def __init__(self, app: ASGIApp, handler: Handler, on_error: ErrorRenderer) -> None:
        self.app = app
        self.handler = handler
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await self.handler(request)
        except BanditLBError as exc:
            response = await self.on_error(request, exc)
        await response(scope, receive, send)
