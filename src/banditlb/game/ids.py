"""The game's request id: exactly 24 ASCII letters or digits."""

from __future__ import annotations

import random
import string

from banditlb.errors import InvalidIdError

ID_LENGTH = 24
ID_ALPHABET = string.ascii_letters + string.digits
ID_RULE = f"the id must be exactly {ID_LENGTH} ASCII letters or digits"


def is_valid_id(raw: bytes) -> bool:
    """True when `raw` is a well-formed id; cheap enough for the request path."""
    # bytes.isalnum() is ASCII-only: exactly [A-Za-z0-9], in C rather than a Python loop.
    return len(raw) == ID_LENGTH and raw.isalnum()


def parse_id(raw: bytes | str) -> str:
    """Return the id as text, or raise InvalidIdError naming the rule."""
    data = raw.encode("utf-8", "replace") if isinstance(raw, str) else raw
    if not is_valid_id(data):
        shown = data[:40].decode("utf-8", "replace")
        raise InvalidIdError(f"{ID_RULE}; got {len(data)} bytes: {shown!r}")
    return data.decode("ascii")


def new_id(rng: random.Random) -> str:
    """A fresh random id drawn from `rng` (seeded by the caller)."""
    return "".join(rng.choices(ID_ALPHABET, k=ID_LENGTH))
