"""One JSON error style: `{"error": message}` with the status the error class declares."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException

from banditlb.balancer.intake import OverloadedError, RequestBodyError
from banditlb.dashboard.api import ApiError
from banditlb.errors import BanditLBError, ConfigError
from banditlb.json_errors import error_of, http_error_of


def test_every_error_declares_its_status_on_the_root() -> None:
    """The root says 400 and no Retry-After; subclasses override the class attribute."""
    assert (BanditLBError.http_status, BanditLBError.retry_after_s) == (400, None)
    assert ConfigError("x").http_status == 400
    assert (RequestBodyError.http_status, OverloadedError.retry_after_s) == (422, 1)
    assert ApiError(404, "gone").http_status == 404


def test_an_error_renders_as_its_class_declares() -> None:
    """Status, `{"error": message}` and, for back-off errors, a Retry-After in seconds."""
    plain = error_of(ConfigError("bad value"))
    assert (plain.status_code, json.loads(plain.body)) == (400, {"error": "bad value"})
    assert "retry-after" not in plain.headers
    busy = error_of(OverloadedError("too many in flight"))
    assert (busy.status_code, busy.headers["retry-after"]) == (503, "1")


def test_starlette_errors_keep_their_status_and_headers() -> None:
    """A 405 keeps its Allow header; the message may carry a prefix (the dashboard's path)."""
    answer = http_error_of(HTTPException(405, "Method Not Allowed", {"Allow": "GET"}), "/x: ")
    assert answer.status_code == 405
    assert json.loads(answer.body) == {"error": "/x: Method Not Allowed"}
    assert answer.headers["allow"] == "GET"
