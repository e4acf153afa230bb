"""Checks for the fields of a TOML table, shared by the scenario format and the proxy's config,
so both name a mistake the same way: one `FILE: FIELD: RULE` line per rule broken."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from banditlb.errors import BanditLBError, ConfigError


class FieldChecks:
    """Carries the source name so each rule reads as one line; `fail` makes the error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, rule: str) -> BanditLBError:
        return ConfigError(f"{self.source}: {field}: {rule}")

    def table(self, value: Any, field: str, allowed: Set[str] | None = None) -> dict[str, Any]:
        """`value` as a table whose keys are all in `allowed` (None: any key)."""
        if not isinstance(value, dict):
            raise self.fail(field, "must be a table")
        if allowed is not None:
            self.keys(value, allowed, field)
        return value

    def keys(self, table: dict[str, Any], allowed: Set[str], field: str) -> None:
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            raise self.fail(
                f"{field}.{unknown[0]}", f"unknown field; allowed: {', '.join(sorted(allowed))}"
            )

    def integer(
        self,
        table: dict[str, Any],
        key: str,
        field: str,
        *,
        default: int | None = None,
        low: int = 0,
        high: int = 2**63,
    ) -> int:
        if key not in table:
            if default is None:
                raise self.fail(f"{field}.{key}", "is required")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{field}.{key}", f"must be an integer, got {value!r}")
        if not low <= value <= high:
            raise self.fail(f"{field}.{key}", f"must be between {low} and {high}, got {value!r}")
        return value

    def text(self, table: dict[str, Any], key: str, field: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(f"{field}.{key}", "is required and must be a non-empty string")
        return value
