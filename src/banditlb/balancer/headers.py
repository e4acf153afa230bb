"""Read what a downstream answer says about its rate limit: Retry-After and the RateLimit fields.

Servers in the wild speak several dialects, so every reader is lenient and never raises:
garbage gives None (as if the field were absent), never an error on the request path.

- `Retry-After` (RFC 9110): delta-seconds or an HTTP-date (IMF-fixdate, the obsolete RFC 850
  and asctime forms too); decimal fractions are accepted (banditlb's fleet sends them in its
  opt-in "fractional" mode); a date in the past or a negative number is 0.
- IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers), current form:
  `RateLimit: "default";r=50;t=30` with `RateLimit-Policy: "default";q=100;w=60`; with several
  policies the most restrictive one (fewest remaining, then longest reset) is taken. Older
  drafts: `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` (the limit may carry a
  policy, `100, 100;w=60`), and `RateLimit: limit=100, remaining=50, reset=30`.
- `X-RateLimit-Limit` / `-Remaining` / `-Reset`: Reset as delta seconds, or, when it looks like
  an epoch timestamp (> 1e9; > 1e12 read as milliseconds), converted to seconds from now.
A reset that is missing or unreadable is 0 (the quota says nothing about when it refills).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from banditlb.game.outcome import Quota

EPOCH_SECONDS = 1e9  # a Reset above this is a Unix timestamp, not a delta (2001-09-09)
EPOCH_MILLISECONDS = 1e12
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE_FORMATS = ("%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y")  # RFC 850, asctime


def _number(text: str | None) -> float | None:
    """The decimal number `text` is (surrounding spaces allowed), else None."""
    if text is None:
        return None
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _leading_number(text: str | None) -> float | None:
    """The number a field starts with: `100` in "100, 100;w=60" or "100;w=60"."""
    if text is None:
        return None
    return _number(re.split(r"[,;]", text, maxsplit=1)[0])


def _http_date(text: str) -> float | None:
    """An HTTP-date as epoch seconds, or None."""
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        for layout in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(" ".join(text.split()), layout)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` in seconds from `now` (epoch seconds; default: the wall clock), or None."""
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    epoch = _http_date(value.strip())
    if epoch is None:
        return None
    if now is None:
        now = datetime.now(UTC).timestamp()
    return max(0.0, epoch - now)


def _items(field: str) -> list[tuple[str, dict[str, str]]]:
    """A structured-field list, leniently: `"name";k=v;k=v, ...` -> [(name, {k: v})]."""
    items: list[tuple[str, dict[str, str]]] = []
    for raw in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", field):
        parts = [part.strip() for part in raw.split(";")]
        if not parts[0] and len(parts) == 1:
            continue
        params: dict[str, str] = {}
        for part in parts[1:]:
            key, _, val = part.partition("=")
            params[key.strip().lower()] = val.strip().strip('"')
        items.append((parts[0].strip('"'), params))
    return items


def _whole(value: float | None) -> int | None:
    return None if value is None else max(0, math.floor(value))


def _ietf(headers: Mapping[str, str]) -> Quota | None:
    """The current draft's RateLimit (+ RateLimit-Policy), or its older dictionary form."""
    field = headers.get("RateLimit")
    if field is None:
        return None
    items = _items(field)
    if items and all("=" in name for name, _ in items):  # limit=100, remaining=50, reset=30
        dictionary: dict[str, float | None] = {}
        for name, _ in items:
            key, _, val = name.partition("=")
            dictionary[key.strip().lower()] = _number(val)
        remaining = _whole(dictionary.get("remaining", dictionary.get("r")))
        if remaining is None:
            return None
        reset = dictionary.get("reset", dictionary.get("t"))
        most = _whole(dictionary.get("limit", dictionary.get("q")))
        return Quota(remaining, max(0.0, reset or 0.0), most)
    candidates: list[tuple[int, float, str]] = []
    for name, params in items:
        remaining = _whole(_number(params.get("r")))
        if remaining is None:
            continue
        candidates.append((remaining, max(0.0, _number(params.get("t")) or 0.0), name))
    if not candidates:
        return None
    remaining, reset, name = min(candidates, key=lambda c: (c[0], -c[1]))
    limit: int | None = None
    window: float | None = None
    policy = headers.get("RateLimit-Policy")
    if policy is not None:
        policies = _items(policy)
        chosen = next((params for pname, params in policies if pname == name), None)
        if chosen is None and len(policies) == 1:
            pname, chosen = policies[0]
            if "q" not in chosen:  # an older draft's policy: `100;w=60`
                chosen = {**chosen, "q": pname}
        if chosen is not None:
            limit = _whole(_number(chosen.get("q")))
            window = _number(chosen.get("w"))
    return Quota(remaining, reset, limit, window if window is None or window > 0 else None)


def _triple(headers: Mapping[str, str], prefix: str, now: float | None) -> Quota | None:
    """`{prefix}Limit` / `{prefix}Remaining` / `{prefix}Reset` (the older drafts, X-RateLimit)."""
    remaining = _whole(_number(headers.get(f"{prefix}Remaining")))
    if remaining is None:
        return None
    limit_field = headers.get(f"{prefix}Limit")
    limit = _whole(_leading_number(limit_field))
    window = None
    if limit_field is not None and (match := re.search(r";\s*w=(\d+(\.\d+)?)", limit_field)):
        window = float(match.group(1)) or None
    reset = _number(headers.get(f"{prefix}Reset"))
    if reset is None:
        reset = 0.0
    elif reset > EPOCH_SECONDS:
        if now is None:
            now = datetime.now(UTC).timestamp()
        epoch = reset / 1000.0 if reset > EPOCH_MILLISECONDS else reset
        reset = epoch - now
    return Quota(remaining, max(0.0, reset), limit, window)


def parse_quota(headers: Mapping[str, str], now: float | None = None) -> Quota | None:
    """What the answer's rate-limit fields say (IETF first, then X-RateLimit), or None.

    `headers` must look names up case-insensitively (aiohttp's `CIMultiDictProxy` does).
    """
    return (
        _ietf(headers)
        or _triple(headers, "RateLimit-", now)
        or _triple(headers, "X-RateLimit-", now)
    )
