"""Fleet tests: real loopback HTTP on ephemeral ports, models driven by a virtual clock."""

from __future__ import annotations

import pytest

from banditlb.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """The fleet's clock; time stands still at 0 until a test moves it."""
    return FakeClock()
