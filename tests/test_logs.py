"""Structured logs: one JSON object per line with the extra fields."""

from __future__ import annotations

import json
import logging

import pytest

from banditlb.errors import ConfigError
from banditlb.logs import JsonFormatter, configure_logging


def test_json_formatter_includes_extra_fields() -> None:
    """A record with extra={'server': 't1-0'} renders as JSON carrying that field and the level."""
    record = logging.LogRecord(
        "banditlb.test", logging.WARNING, "x.py", 1, "slow %s", ("answer",), None
    )
    record.server = "t1-0"
    payload = json.loads(JsonFormatter().format(record))
    assert payload["message"] == "slow answer"
    assert payload["level"] == "warning"
    assert payload["server"] == "t1-0"


def test_unknown_level_is_a_clear_error() -> None:
    """configure_logging rejects a level that is not one of the five names."""
    with pytest.raises(ConfigError, match="log level must be one of"):
        configure_logging("loud")
