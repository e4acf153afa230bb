"""End to end through a real proxy with httpx: what goes up, what comes back, as it arrives."""

from __future__ import annotations

import asyncio
import hashlib
import json

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
