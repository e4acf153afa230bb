"""Shared fixtures: async tests run on asyncio through anyio's pytest plugin."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Every @pytest.mark.anyio test runs on asyncio."""
    return "asyncio"


@pytest.fixture(autouse=True)
def private_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test writes to the user's real data directory: the default run store moves to tmp."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    for name in (
        "BANDITLB_DB",
        "BANDITLB_PORT",
        "BANDITLB_DASHBOARD_PORT",
        "BANDITLB_CONTROL_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
