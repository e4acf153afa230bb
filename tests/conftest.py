"""Shared fixtures: async tests run on asyncio through anyio's pytest plugin."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Every @pytest.mark.anyio test runs on asyncio."""
    return "asyncio"
