"""Reading a client's `POST /`: the id as the raw body, or JSON `{"id": "..."}`.

Errors are `BanditLBError`s carrying the HTTP status the app's one handler answers with.
"""

from __future__ import annotations

import json

from starlette.requests import Request

from banditlb.errors import BanditLBError
from banditlb.ids import parse_id

MAX_BODY = 1024


class RequestBodyError(BanditLBError):
    """A body that is not the JSON shape `{"id": "<24 letters or digits>"}`."""

    http_status = 422


class BodyTooLargeError(BanditLBError):
    """A body over `MAX_BODY` bytes."""

    http_status = 413


class OverloadedError(BanditLBError):
    """Too many requests in flight; nothing was sent downstream."""

    http_status = 503


def _too_large(size: int | str) -> BodyTooLargeError:
    return BodyTooLargeError(f"request body must be at most {MAX_BODY} bytes, got {size}")


async def read_body(request: Request) -> bytes:
    """The body, refusing more than `MAX_BODY` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large(int(declared))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _too_large(f"more than {MAX_BODY}")
    return bytes(body)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def id_from_json(body: bytes) -> str:
    """The id from a JSON body `{"id": "..."}`."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
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


async def read_id(request: Request) -> str:
    """The validated id from a client request (raw body unless the content type is JSON)."""
    body = await read_body(request)
    if _is_json(request.headers.get("content-type", "")):
        return id_from_json(body)
    return parse_id(body)
