"""Run ids: `YYYYMMDD-HHMMSS-xxxx` (UTC start time and four hex digits), checked by one regex.

Ids reach SQL only as bound parameters and never become parts of file paths.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from banditlb.errors import StoreError

RUN_ID_PATTERN = r"[0-9]{8}-[0-9]{6}-[0-9a-f]{4}"
RUN_ID_RE = re.compile(rf"^{RUN_ID_PATTERN}$")
RUN_ID_RULE = "a run id looks like 20261127-201500-ab12 (UTC date, time, 4 hex digits)"


def new_run_id(started_at: float, suffix: str | None = None) -> str:
    """An id for a run that started at `started_at` (Unix seconds); suffix random by default."""
    stamp = datetime.fromtimestamp(started_at, tz=UTC).strftime("%Y%m%d-%H%M%S")
    tail = suffix if suffix is not None else secrets.token_hex(2)
    return check_run_id(f"{stamp}-{tail}")


def is_run_id(text: str) -> bool:
    return RUN_ID_RE.fullmatch(text) is not None


def check_run_id(text: str) -> str:
    """Return `text` if it is a well-formed run id, else raise StoreError naming the rule."""
    if not is_run_id(text):
        raise StoreError(f"bad run id {text[:40]!r}: {RUN_ID_RULE}")
    return text
