"""One root exception for everything banditlb rejects; messages name the value and the rule."""

from __future__ import annotations


class BanditLBError(Exception):
    """Root of every error banditlb raises on purpose (bad input, bad config, bad scenario).

    Over HTTP each is answered `{"error": message}` (`json_errors.error_response`) with its
    class's `http_status` (400 unless a subclass says otherwise) and, when `retry_after_s` is
    set, a `Retry-After` of that many seconds; the CLI prints it as one `error:` line.
    """

    http_status: int = 400
    retry_after_s: int | None = None


class InvalidIdError(BanditLBError):
    """A request id that is not exactly 24 ASCII letters or digits."""


class ScenarioError(BanditLBError):
    """A scenario file that cannot be read or breaks a rule; names the file and the field."""

    def __init__(self, source: str, field: str, rule: str) -> None:
        self.source = source
        self.field = field
        self.rule = rule
        super().__init__(f"{source}: {field}: {rule}")


class ConfigError(BanditLBError):
    """A bad setting: unknown strategy, bad parameter, malformed upstream list."""


class StoreError(BanditLBError):
    """A run-store problem the user can act on (unknown run, unsupported format)."""
