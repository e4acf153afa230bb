"""The id rule: exactly 24 ASCII letters or digits."""

from __future__ import annotations

import random

import pytest

from banditlb.errors import InvalidIdError
from banditlb.game.ids import ID_LENGTH, is_valid_id, new_id, parse_id


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"a" * 23,
        b"a" * 25,
        "é".encode() * 12,
        b"abc-defghijklmnopqrstuvw",
        b" " + b"a" * 23,
        b"a" * 23 + b"\n",
    ],
)
def test_malformed_ids_are_rejected(raw: bytes) -> None:
    """Wrong length, non-ASCII, punctuation and whitespace all fail the rule."""
    assert not is_valid_id(raw)
    with pytest.raises(InvalidIdError, match="exactly 24 ASCII letters or digits"):
        parse_id(raw)


def test_new_ids_are_valid_and_seeded() -> None:
    """Generated ids pass the rule and the same seed gives the same ids."""
    first = [new_id(random.Random(7)) for _ in range(3)]
    again = [new_id(random.Random(7)) for _ in range(3)]
    assert first == again
    assert all(len(i) == ID_LENGTH and is_valid_id(i.encode()) for i in first)
    assert parse_id(first[0].encode()) == first[0]
