"""Reading a client's `POST /`: the id as the raw body, or JSON `{"id": "..."}`.

Errors are `BanditLBError`s carrying the HTTP status the app's one handler answers with.
The raw id may come as text/plain, application/octet-stream, without a content type, or as
application/x-www-form-urlencoded (what `curl -d ID` sends: the bytes are the raw id); any
other media type but JSON is 415. A body that does not arrive within `body_timeout` seconds
is 408 (a slow client cannot hold a request slot forever).
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.requests import ClientDisconnect, Request

from banditlb.errors import BanditLBError
from banditlb.game.ids import parse_id

log = logging.getLogger(__name__)

MAX_BODY = 1024
BODY_TIMEOUT_S = 5.0
RAW_MEDIA = frozenset(
    {"", "text/plain", "application/octet-stream", "application/x-www-form-urlencoded"}
)


class RequestBodyError(BanditLBError):
    """A body that is not the JSON shape `{"id": "<24 letters or digits>"}`."""

    http_status = 422


class BodyTooLargeError(BanditLBError):
    """A body over `MAX_BODY` bytes."""

    http_status = 413


class BodyTimeoutError(BanditLBError):
    """The body did not arrive in time."""

    http_status = 408


class MediaTypeError(BanditLBError):
    """A content type that is neither the raw id's nor JSON."""

    http_status = 415


class ClientGoneError(BanditLBError):
    """The client hung up before its body arrived: nobody is left to answer (499, as nginx).

    Common and harmless (a client timing out, a load generator stopping), so it is logged at
    debug level only: an ERROR with a traceback per disconnect would flood the logs.
    """

    http_status = 499


class OverloadedError(BanditLBError):
    """Too many requests in flight; nothing was sent downstream."""

    http_status = 503
    retry_after_s = 1  # sent as Retry-After (seconds): a client should back off, not hammer


class StoreBehindError(BanditLBError):
    """The run store's writer is too far behind; nothing was sent downstream."""

    http_status = 503
    retry_after_s = 1


def _too_large(size: int | str) -> BodyTooLargeError:
    return BodyTooLargeError(f"request body must be at most {MAX_BODY} bytes, got {size}")


async def read_body(request: Request, timeout: float = BODY_TIMEOUT_S) -> bytes:
    """The body, refusing more than `MAX_BODY` bytes without reading it all, or a slow one."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large(int(declared))
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY:
                    raise _too_large(f"more than {MAX_BODY}")
    except TimeoutError:
        raise BodyTimeoutError(
            f"request body must arrive within {timeout:g} s; got {len(body)} bytes"
        ) from None
    except ClientDisconnect:
        log.debug("client disconnected mid-body", extra={"received": len(body)})
        raise ClientGoneError(f"client disconnected after {len(body)} body bytes") from None
    return bytes(body)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def id_from_json(body: bytes) -> str:
    """The id from a JSON body `{"id": "..."}`."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BanditLBError(
            f'body is not valid JSON; send {{"id": "..."}} or the raw id: {body[:40]!r}'
        ) from None
    if not isinstance(data, dict) or "id" not in data:
        raise RequestBodyError('JSON body must be an object with an "id" field')
    value = data["id"]
    if not isinstance(value, str):
        raise RequestBodyError(f'JSON field "id" must be a string, got {type(value).__name__}')
    extra = sorted(set(data) - {"id"})
    if extra:
        raise RequestBodyError(f'JSON body has unknown field {extra[0]!r}; only "id" is allowed')
    return parse_id(value)


async def read_id(request: Request, body_timeout: float = BODY_TIMEOUT_S) -> str:
    """The validated id from a client request (raw body unless the content type is JSON)."""
    media = _media_type(request.headers.get("content-type", ""))
    json_body = _is_json(media)
    if not json_body and media not in RAW_MEDIA:
        raise MediaTypeError(
            f"content type {media!r} is not accepted; send the raw id as text/plain "
            'or {"id": "..."} as application/json'
        )
    body = await read_body(request, body_timeout)
    return id_from_json(body) if json_body else parse_id(body)
