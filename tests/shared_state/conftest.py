"""A real Debian redis-server per test (free port, no persistence); skipped when missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from banditlb.shared_state.local_redis import LocalRedis, redis_server_path


@pytest.fixture
def redis_server() -> Iterator[LocalRedis]:
    """A running redis-server on 127.0.0.1, killed after the test."""
    if redis_server_path() is None:
        pytest.skip("redis-server not installed (make test installs Debian's as root)")
    server = LocalRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()
