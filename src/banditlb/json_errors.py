"""The one JSON error style of every Starlette app here: `{"error": message}` with a status.

The balancer and the dashboard render their refusals through these, so a client (and a test)
sees one shape everywhere: a `BanditLBError` by its own `http_status` and `retry_after_s`,
Starlette's own 404/405 with their headers. The lower layers that answer before Starlette
(`balancer/protocol.py`, `balancer/guard.py`) and the fleet's h11 server write the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from banditlb.errors import BanditLBError


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """`{"error": message}` with `status`."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def error_of(exc: BanditLBError) -> JSONResponse:
    """A refusal as its class declares: `http_status`, and `Retry-After` when it has one."""
    retry = exc.retry_after_s
    headers = None if retry is None else {"Retry-After": str(retry)}
    return error_response(exc.http_status, str(exc), headers)


def http_error_of(exc: HTTPException, prefix: str = "") -> JSONResponse:
    """Starlette's own errors (no such route 404, wrong method 405), headers kept."""
    return error_response(exc.status_code, f"{prefix}{exc.detail}", exc.headers)
